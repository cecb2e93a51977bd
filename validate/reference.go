package validate

import (
	"strings"

	"github.com/hce-fhir/hce/fhir"
)

// reference checks the syntax of Reference.reference (references.html#literal):
// a contained reference #id, a relative Type/id or Type/id/_history/vid with
// an R4 resource type and valid ids, a conditional Type?criteria (resolved
// in transactions), or an absolute URI (urn:uuid: and urn:oid:, which Bundle
// entries' fullUrls match, or a URL with a host). It returns "" when the
// reference is well formed. Reference strings are uris, not uuids: the
// identifier after urn:uuid: is not held to the UUID syntax, as clients
// name entries urn:uuid:1 too.
func reference(s string) string {
	switch {
	case s == "":
		return "a reference must not be empty"
	case hasSpace(s) || hasControl(s):
		return "a reference must not contain whitespace"
	case s == "#":
		return "" // the containing resource
	case s[0] == '#':
		if !isID(s[1:]) {
			return "a contained reference is # and the contained resource's id"
		}
		return ""
	case s == "urn:uuid:" || s == "urn:oid:":
		return "a urn:uuid: or urn:oid: reference needs its identifier"
	}
	if typ, query, ok := strings.Cut(s, "?"); ok && !strings.Contains(typ, "/") {
		if !fhir.IsResourceType(typ) || query == "" {
			return "a conditional reference is Type?criteria with an R4 resource type"
		}
		return ""
	}
	if scheme, rest, ok := strings.Cut(s, ":"); ok && isScheme(scheme) {
		if rest == "" {
			return "an absolute reference needs more than its scheme"
		}
		if scheme == "http" || scheme == "https" {
			if !strings.HasPrefix(rest, "//") || len(rest) == 2 || rest[2] == '/' {
				return "an absolute URL reference needs a host"
			}
		}
		return ""
	}
	parts := strings.Split(s, "/")
	switch {
	case len(parts) == 2, len(parts) == 4 && parts[2] == "_history":
	default:
		return "a relative reference is Type/id or Type/id/_history/vid"
	}
	if !fhir.IsResourceType(parts[0]) {
		return "\"" + parts[0] + "\" is not an R4 resource type"
	}
	if !isID(parts[1]) || (len(parts) == 4 && !isID(parts[3])) {
		return "a relative reference's id is 1 to 64 characters of A-Z, a-z, 0-9, - and ."
	}
	return ""
}

// isScheme matches RFC 3986's scheme: a letter, then letters, digits, +, -
// and ., of more than one character (so that a Windows-style C: is not
// taken for one).
func isScheme(s string) bool {
	if len(s) < 2 || !isLetter(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !isLetter(c) && !('0' <= c && c <= '9') && c != '+' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
