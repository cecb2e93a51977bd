package validate

import (
	"errors"
	"strconv"

	"github.com/hce-fhir/hce/fhir"
)

// Entry is the resource of one entry of a Bundle, as ParseEntries leaves it:
// validated, not decoded.
type Entry struct {
	// Type is the resource's resourceType.
	Type string
	// JSON is the resource as the body has it (a slice of the body); nil
	// when the entry has no resource.
	JSON []byte
}

// ParseEntries is Parse for a body that may be a large Bundle. A Bundle is
// validated one entry at a time: each entry's resource is decoded, checked
// and dropped in turn, then the Bundle's own elements with the resources
// left out, so its decoded form is never whole in memory. The issues are
// those Parse finds, in the same order. It returns the Bundle without its
// entries' resources (no entry of Content has a resource element) and, for
// each entry, its resource. Any other resource is returned as Parse returns
// it, with no entries.
func (v *Validator) ParseEntries(body []byte) (*fhir.Resource, []Entry, error) {
	split := &bundleSplit{}
	if err := v.scanSplit(body, split); err != nil {
		return nil, nil, err
	}
	if split.bundle {
		if r, entries, ok, err := v.splitBundle(body, split.spans); ok {
			return r, entries, err
		}
	}
	r, err := v.decode(body)
	if err == nil && split.bundle {
		// Unreachable: a body that decodes whole decodes in parts.
		return nil, nil, errors.New("validate: a Bundle decodes whole but not entry by entry")
	}
	return r, nil, err
}

// splitBundle validates the Bundle body whose entries' resources are at
// spans. ok is false when a part does not decode: the body is malformed
// JSON, which decoding it whole reports as Parse does.
func (v *Validator) splitBundle(body []byte, spans []span) (r *fhir.Resource, entries []Entry, ok bool, err error) {
	// The models' issues of each resource, and the rules' issues while no
	// resource has models' issues (the rules are only walked then).
	models := make([]fhir.Checked, len(spans))
	rules := make([]fhir.Checked, len(spans))
	types := make([]string, len(spans))
	valid := true
	size := len(body)
	for k, sp := range spans {
		doc, err := fhir.DecodeObject(body[sp.start:sp.end])
		if err != nil {
			return nil, nil, false, nil
		}
		types[k], _ = doc["resourceType"].(string)
		path := "Bundle.entry[" + strconv.Itoa(sp.entry) + "].resource"
		models[k].Issues = issuesOf(fhir.ValidateAt(doc, path))
		valid = valid && len(models[k].Issues) == 0
		if valid {
			rules[k].Issues = v.resourceAt(doc, path)
		}
		size -= sp.end - sp.start - 2
	}
	// The Bundle with {} in place of each resource, then the resources'
	// issues in their place.
	shell := make([]byte, 0, size)
	at := 0
	for _, sp := range spans {
		shell = append(append(shell, body[at:sp.start]...), "{}"...)
		at = sp.end
	}
	doc, err := fhir.DecodeObject(append(shell, body[at:]...))
	if err != nil {
		return nil, nil, false, nil
	}
	list, _ := doc["entry"].([]any)
	holders := make([]map[string]any, len(spans))
	for k, sp := range spans {
		if sp.entry < len(list) {
			holders[k], _ = list[sp.entry].(map[string]any)
		}
		if holders[k] == nil {
			return nil, nil, false, nil
		}
		holders[k]["resource"] = &models[k]
	}
	if r, err = fhir.ParseContent(doc); err != nil {
		return nil, nil, true, err
	}
	for k := range spans {
		holders[k]["resource"] = &rules[k]
	}
	if err := v.Resource(doc); err != nil {
		return nil, nil, true, err
	}
	entries = make([]Entry, len(list))
	for k, sp := range spans {
		delete(holders[k], "resource")
		entries[sp.entry] = Entry{Type: types[k], JSON: body[sp.start:sp.end]}
	}
	return r, entries, true, nil
}

// issuesOf returns the issues of a validation error.
func issuesOf(err error) []fhir.Issue {
	if err == nil {
		return nil
	}
	var fe *fhir.Error
	if errors.As(err, &fe) {
		return fe.Issues
	}
	return []fhir.Issue{{Severity: "error", Code: "invalid", Diagnostics: err.Error()}}
}
