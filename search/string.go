package search

// String is a string parameter value, also used for token:text.
type String struct {
	// Value is the text as given (unescaped); :exact compares with it.
	Value string `json:"value"`
	// Normalized is NormalizeString(Value); the default match (starts with)
	// and :contains compare it with the normalized index value.
	Normalized string `json:"normalized"`
}

// Kind returns "string".
func (String) Kind() string { return "string" }

// String writes the value in query syntax.
func (v String) String() string { return escape(v.Value) }

func (String) isValue() {}

func parseString(raw string) String {
	s := unescape(raw)
	return String{Value: s, Normalized: NormalizeString(s)}
}
