package extract

import "time"

// Index holds every index value of one resource, by parameter type.
type Index struct {
	Strings    []String
	Tokens     []Token
	Dates      []Date
	Numbers    []Number
	Quantities []Quantity
	References []Reference
	URIs       []URI
	Composites []Composite
}

// String is a string parameter value.
type String struct {
	Param string
	Value string // normalised (search.NormalizeString)
	Exact string // as written
}

// Token is a token parameter value. A nil System means the value has no
// system (matched by |code); Code may be nil for a CodeableConcept with text only.
type Token struct {
	Param      string
	System     *string
	Code       *string
	Text       *string // normalised display or text, for :text
	TypeSystem *string // Identifier.type.coding, for :of-type
	TypeCode   *string
}

// Date is a date parameter value as the half-open range [Lo, Hi) its
// precision covers; an open Period end is ±infinity.
type Date struct {
	Param  string
	Lo, Hi time.Time
}

// Number is a number parameter value, kept as its decimal text.
type Number struct {
	Param string
	Value string
}

// Quantity is a quantity parameter value. Code is the coded unit (or the
// currency of Money); Unit the human unit.
type Quantity struct {
	Param  string
	Value  string
	System *string
	Code   *string
	Unit   *string
}

// Reference is a reference parameter value: a literal reference to a
// resource (TargetType/TargetID), and URL for absolute or canonical ones.
type Reference struct {
	Param      string
	TargetType *string
	TargetID   *string
	URL        *string
}

// URI is a uri parameter value.
type URI struct {
	Param string
	Value string
}

// Composite is one combination of a composite parameter's components: a
// token (or reference as C1Code "Type/id") first, then a token, number,
// quantity, date or string, and R4's three-part composites add a number.
type Composite struct {
	Param            string
	C1System, C1Code *string
	C2System, C2Code *string
	C2Number         *string
	C2Lo, C2Hi       *time.Time
	C2String         *string
	C3Number         *string
}
