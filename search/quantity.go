package search

import "fmt"

// Quantity is a quantity parameter value: [prefix]number|system|code. The
// number behaves as in Number. An empty System matches any system, and
// then Code matches the unit code or the human unit, as R4 says for
// 5.4||mg; both empty (5.4) match any unit.
type Quantity struct {
	Number
	System string `json:"system,omitempty"`
	Code   string `json:"code,omitempty"`
}

// Kind returns "quantity".
func (Quantity) Kind() string { return "quantity" }

// String writes the value in query syntax.
func (v Quantity) String() string {
	s := v.Number.String()
	if v.System != "" || v.Code != "" {
		s += "|" + escape(v.System) + "|" + escape(v.Code)
	}
	return s
}

func parseQuantity(raw string) (Quantity, error) {
	parts := splitEscaped(raw, '|')
	if len(parts) != 1 && len(parts) != 3 {
		return Quantity{}, fmt.Errorf("quantity %q must be number, number|system|code or number||code", raw)
	}
	n, err := parseNumber(parts[0])
	if err != nil {
		return Quantity{}, err
	}
	q := Quantity{Number: n}
	if len(parts) == 3 {
		q.System, q.Code = unescape(parts[1]), unescape(parts[2])
	}
	return q, nil
}
