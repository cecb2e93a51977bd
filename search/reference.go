package search

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hce-fhir/hce/fhir"
)

// Reference is a reference parameter value:
//
//	123                       ID 123; Type set when the parameter has one target type
//	Patient/123               Type Patient, ID 123 (also subject:Patient=123)
//	http://x/fhir/Patient/123 URL, and Type/ID when its tail names a target type
//	http://x/Questionnaire/q|2.0  URL and Version (a canonical reference)
//
// An empty Type matches a reference to any type with that ID. A value with
// a URL matches stored absolute references by URL; when Type and ID are set
// too, the store may also match local references to Type/ID.
type Reference struct {
	Type    string `json:"type,omitempty"`
	ID      string `json:"id,omitempty"`
	URL     string `json:"url,omitempty"`
	Version string `json:"version,omitempty"`
}

// Kind returns "reference".
func (Reference) Kind() string { return "reference" }

// String writes the value in query syntax.
func (v Reference) String() string {
	switch {
	case v.URL != "" && v.Version != "":
		return escape(v.URL) + "|" + escape(v.Version)
	case v.URL != "":
		return escape(v.URL)
	case v.Type != "":
		return escape(v.Type + "/" + v.ID)
	}
	return escape(v.ID)
}

func (Reference) isValue() {}

// parseReference reads a reference value of a parameter that may point at
// targets (empty: any type). typ is a resource type modifier (subject:Patient),
// already checked against targets, or "".
func parseReference(raw string, targets []string, typ string) (Reference, error) {
	parts := splitEscaped(raw, '|')
	if len(parts) > 2 {
		return Reference{}, fmt.Errorf("reference %q has more than one '|'", raw)
	}
	s := unescape(parts[0])
	if isAbsolute(s) {
		if typ != "" {
			return Reference{}, fmt.Errorf("a :%s reference takes an id or %s/id, not the URL %q", typ, typ, s)
		}
		r := Reference{URL: s}
		if len(parts) == 2 {
			if r.Version = unescape(parts[1]); r.Version == "" {
				return Reference{}, fmt.Errorf("canonical reference %q has an empty version after '|'", raw)
			}
		} else if t, id, ok := fhir.SplitReference(s); ok && allowsTarget(targets, t) {
			r.Type, r.ID = t, id
		}
		return r, nil
	}
	if len(parts) == 2 {
		return Reference{}, fmt.Errorf("only a canonical URL can carry a |version, not %q", raw)
	}
	if strings.Contains(s, "/") {
		t, id, ok := fhir.SplitReference(s)
		if !ok {
			return Reference{}, fmt.Errorf("%q is not a reference: want id, Type/id or an absolute URL", s)
		}
		if typ != "" && t != typ {
			return Reference{}, fmt.Errorf("reference %q contradicts the :%s modifier", s, typ)
		}
		if !allowsTarget(targets, t) {
			return Reference{}, fmt.Errorf("%s is not a target type of this parameter (targets: %s)", t, strings.Join(targets, ", "))
		}
		return Reference{Type: t, ID: id}, nil
	}
	if !fhir.ValidID(s) {
		return Reference{}, fmt.Errorf("%q is not a valid resource id", s)
	}
	if typ == "" && len(targets) == 1 {
		typ = targets[0]
	}
	return Reference{Type: typ, ID: s}, nil
}

// isAbsolute reports whether s is an absolute URL or URN rather than a
// relative Type/id reference.
func isAbsolute(s string) bool {
	return strings.Contains(s, "://") || strings.HasPrefix(s, "urn:")
}

// allowsTarget reports whether a parameter with these targets may point at
// typ; no targets means any type.
func allowsTarget(targets []string, typ string) bool {
	return len(targets) == 0 || slices.Contains(targets, typ)
}
