package search

import "strings"

// Composite is a composite parameter value: one value per component, in
// the order of the parameter's definition, written joined by '$'
// (code-value-quantity=http://loinc.org|8480-6$gt100). Each component has
// the type of its own SearchParameter (token, quantity, date, number,
// string or reference), prefixes included.
type Composite struct {
	Components []Value `json:"components"`
}

// Kind returns "composite".
func (Composite) Kind() string { return "composite" }

// String writes the value in query syntax.
func (v Composite) String() string {
	parts := make([]string, len(v.Components))
	for i, c := range v.Components {
		parts[i] = c.String()
	}
	return strings.Join(parts, "$")
}

func (Composite) isValue() {}

// MarshalJSON writes each component with its kind.
func (v Composite) MarshalJSON() ([]byte, error) {
	return marshalJSON(struct {
		Components []jsonValue `json:"components"`
	}{jsonValues(v.Components)})
}
