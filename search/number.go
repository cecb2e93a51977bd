package search

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"
)

// maxExponent bounds the decimal exponent of a number. It keeps the decimal
// text of Lo and Hi short (a query like 1e999999999 must not allocate a
// gigabyte) and well inside PostgreSQL's numeric range.
const maxExponent = 1000

// Number is a number parameter value. The number is exact decimal text,
// never a float, and the range [Lo, Hi) is the one its precision implies,
// as R4 defines it: 100 means [99.5, 100.5), 100.00 means [99.995,
// 100.005), and 1e2 (one significant figure) means [50, 150).
//
// eq and ne compare with [Lo, Hi); gt, lt, ge and le compare with the
// exact Value ("gt100: greater than exactly 100"); sa and eb with Hi and Lo.
// For ap, Lo and Hi are already widened to Value ± 10% (but never narrower
// than the precision range).
//
// Value, Lo and Hi are plain decimals without an exponent, ready to bind as
// PostgreSQL numeric.
type Number struct {
	Prefix Prefix `json:"prefix"`
	// Text is the number as written, without the prefix; it keeps the
	// precision that Value may not show (1e2).
	Text  string `json:"text"`
	Value string `json:"value"`
	Lo    string `json:"lo"`
	Hi    string `json:"hi"`
}

// Kind returns "number".
func (Number) Kind() string { return "number" }

// String writes the value in query syntax.
func (v Number) String() string { return prefixString(v.Prefix) + escape(v.Text) }

func (Number) isValue() {}

func parseNumber(raw string) (Number, error) {
	prefix, rest, err := splitPrefix(unescape(raw))
	if err != nil {
		return Number{}, err
	}
	return newNumber(prefix, rest)
}

// newNumber builds a Number from a prefix and decimal text.
func newNumber(prefix Prefix, text string) (Number, error) {
	u, exp, err := parseDecimal(text)
	if err != nil {
		return Number{}, err
	}
	// With ten times the digits one place further right, the half unit of
	// the last digit is 5, and 10% of the value is |u|.
	u10 := new(big.Int).Mul(u, big.NewInt(10))
	half := big.NewInt(5)
	if prefix == Ap {
		if a := new(big.Int).Abs(u); a.Cmp(half) > 0 {
			half = a
		}
	}
	lo := new(big.Int).Sub(u10, half)
	hi := u10.Add(u10, half)
	return Number{
		Prefix: prefix,
		Text:   text,
		Value:  formatDecimal(u, exp),
		Lo:     trimZeros(formatDecimal(lo, exp-1)),
		Hi:     trimZeros(formatDecimal(hi, exp-1)),
	}, nil
}

// parseDecimal reads an R4 decimal, with an optional exponent as search
// values allow (1e2), as the integer u and exponent exp of u×10^exp. The
// digits written fix exp: "100.00" is 10000×10^-2.
func parseDecimal(s string) (u *big.Int, exp int, err error) {
	bad := func() (*big.Int, int, error) {
		return nil, 0, fmt.Errorf("%q is not a number: want digits with an optional '-', fraction and exponent, like -12.50 or 1.5e3", s)
	}
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	start := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	intDigits := s[start:i]
	if intDigits == "" {
		return bad()
	}
	frac := ""
	if i < len(s) && s[i] == '.' {
		i++
		fs := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if frac = s[fs:i]; frac == "" {
			return bad()
		}
	}
	e := 0
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		es := i
		if i < len(s) && (s[i] == '-' || s[i] == '+') {
			i++
		}
		ds := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if i == ds || i-ds > 9 {
			return bad()
		}
		e, _ = strconv.Atoi(s[es:i]) // at most 9 digits: cannot fail
	}
	if i != len(s) {
		return bad()
	}
	exp = e - len(frac)
	if exp < -maxExponent || exp > maxExponent {
		return nil, 0, fmt.Errorf("%q is out of range: the exponent must be within ±%d", s, maxExponent)
	}
	u, _ = new(big.Int).SetString(s[:start]+intDigits+frac, 10)
	return u, exp, nil
}

// formatDecimal writes u×10^exp as plain decimal text.
func formatDecimal(u *big.Int, exp int) string {
	digits := new(big.Int).Abs(u).String()
	if exp >= 0 {
		if u.Sign() != 0 {
			digits += strings.Repeat("0", exp)
		}
	} else {
		n := -exp
		if len(digits) <= n {
			digits = strings.Repeat("0", n-len(digits)+1) + digits
		}
		digits = digits[:len(digits)-n] + "." + digits[len(digits)-n:]
	}
	if u.Sign() < 0 {
		return "-" + digits
	}
	return digits
}

// trimZeros drops trailing zeros of a fraction: range ends need no more
// digits than their value.
func trimZeros(s string) string {
	if !strings.Contains(s, ".") {
		return s
	}
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}
