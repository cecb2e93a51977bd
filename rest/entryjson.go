package rest

import (
	"encoding/json"
	"fmt"

	"github.com/hce-fhir/hce/fhir"
)

// content returns e's resource decoded (nil when it has none), decoding its
// JSON when it is not.
func (e *entry) content() (map[string]any, error) {
	if e.resource == nil && e.raw != nil {
		doc, err := fhir.DecodeObject(e.raw)
		if err != nil {
			return nil, err
		}
		e.resource = doc
	}
	return e.resource, nil
}

// release lets e's decoded resource go, keeping its JSON: encoded again
// when references in it were rewritten.
func (e *entry) release() error {
	if e.resource == nil {
		return nil
	}
	if e.changed {
		raw, err := json.Marshal(e.resource)
		if err != nil {
			return fmt.Errorf("rest: encode entry %d: %w", e.index, err)
		}
		e.raw, e.changed = raw, false
	}
	e.resource = nil
	return nil
}
