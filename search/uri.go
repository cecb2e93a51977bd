package search

// URI is a uri parameter value (also _profile and _source). With :below
// it is a prefix of the resource's URI, with :above the resource's URI is
// a prefix of it.
type URI struct {
	Value string `json:"value"`
}

// Kind returns "uri".
func (URI) Kind() string { return "uri" }

// String writes the value in query syntax.
func (v URI) String() string { return escape(v.Value) }

func (URI) isValue() {}

func parseURI(raw string) URI { return URI{Value: unescape(raw)} }
