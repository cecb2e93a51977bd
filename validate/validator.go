package validate

import (
	"github.com/hce-fhir/hce/fhir"
)

// Default limits of the JSON a body may have.
const (
	// DefaultMaxDepth is the deepest nesting of objects and arrays; R4
	// resources nest a few tens of levels at most (Questionnaire items).
	DefaultMaxDepth = 64
	// DefaultMaxArrayLength is the most items of one array: a Bundle of
	// 100,000 entries is far beyond what a client sends at once.
	DefaultMaxArrayLength = 100_000
	// DefaultMaxValues is the most JSON values (strings, numbers, literals,
	// objects and arrays) of one resource, a Bundle's entries each counted
	// on their own: decoded, a value takes 30 to 300 bytes, so this bounds
	// one resource to a few tens of MB. The largest resource of the Synthea
	// samples and the official examples holds about 6,400.
	DefaultMaxValues = 100_000
	// maxIssues bounds the issues one validation reports.
	maxIssues = 50
)

// Options bounds the JSON the validator accepts.
type Options struct {
	// MaxDepth is the deepest nesting of objects and arrays; 0 means
	// DefaultMaxDepth.
	MaxDepth int
	// MaxArrayLength is the most items of one array; 0 means
	// DefaultMaxArrayLength.
	MaxArrayLength int
	// MaxValues is the most JSON values of one resource, each entry of a
	// Bundle counted apart from the Bundle; 0 means DefaultMaxValues.
	MaxValues int
}

// Validator checks resources against R4. It is safe for concurrent use.
type Validator struct {
	opt Options
}

// New returns a Validator with the given limits.
func New(opt Options) *Validator {
	if opt.MaxDepth <= 0 {
		opt.MaxDepth = DefaultMaxDepth
	}
	if opt.MaxArrayLength <= 0 {
		opt.MaxArrayLength = DefaultMaxArrayLength
	}
	if opt.MaxValues <= 0 {
		opt.MaxValues = DefaultMaxValues
	}
	return &Validator{opt: opt}
}

// Bytes checks a JSON body's bytes only: valid UTF-8, no NUL characters or
// lone surrogates, no duplicate keys, within the depth, array and value
// limits. It is for bodies that are JSON but not a resource (a JSON Patch).
func (v *Validator) Bytes(body []byte) error {
	return v.scan(body)
}

// Parse decodes and validates body as one resource: the bytes (UTF-8, no
// NUL, no duplicate keys, within the depth, array and value limits), the
// models (fhir.Parse: known elements, JSON types, required codes and
// elements), and the R4 definitions (Resource). Every failure is a *fhir.Error of kind
// fhir.ErrInvalid whose issues name the element paths at fault.
func (v *Validator) Parse(body []byte) (*fhir.Resource, error) {
	if err := v.scan(body); err != nil {
		return nil, err
	}
	return v.decode(body)
}

// decode is Parse of a body already scanned.
func (v *Validator) decode(body []byte) (*fhir.Resource, error) {
	r, err := fhir.Parse(body)
	if err != nil {
		return nil, err
	}
	if err := v.Resource(r.Content); err != nil {
		return nil, err
	}
	return r, nil
}

// Resource checks a decoded resource (json.Number for numbers) against the
// R4 definitions: every primitive's lexical form and value, the structural
// rules of R4 JSON (ele-1, one type per choice element, extensions with a
// url and a value or extensions, primitive _element twins, contained
// resources, reference syntax, narrative XHTML), and the invariants listed
// in [Invariants]. The issues are returned as a *fhir.Error of kind
// fhir.ErrInvalid; nil means valid.
func (v *Validator) Resource(doc map[string]any) error {
	typ, _ := doc["resourceType"].(string)
	if issues := v.resourceAt(doc, typ); len(issues) > 0 {
		return &fhir.Error{Kind: fhir.ErrInvalid, Issues: issues}
	}
	return nil
}

// resourceAt returns the issues Resource finds in a resource found at path.
func (v *Validator) resourceAt(doc map[string]any, path string) []fhir.Issue {
	w := &walker{}
	w.resource(doc, path, false)
	return w.issues
}

// Check parses and validates body as ParseEntries does and returns the
// issues found; it backs the $validate operation.
func (v *Validator) Check(body []byte) []fhir.Issue {
	_, _, err := v.ParseEntries(body)
	return issuesOf(err)
}
