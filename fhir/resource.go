package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Resource is a parsed, validated resource. Content is the JSON object the
// client sent, decoded with json.Number so that decimals keep their precision
// and every element, known or not to the models, survives a round trip.
type Resource struct {
	Type    string
	ID      string
	Content map[string]any
}

// Parse decodes body as one FHIR resource and validates it: the JSON must be
// a single object with a known resourceType, a valid id if any, and elements
// that conform to the R4 models. Every failure is an *Error of kind
// ErrInvalid whose issues name the element paths at fault.
func Parse(body []byte) (*Resource, error) {
	doc, err := DecodeObject(body)
	if err != nil {
		return nil, err
	}
	return ParseContent(doc)
}

// ParseContent is Parse of a body already decoded by DecodeObject: it
// checks doc's resourceType and id and validates it, and returns the
// Resource whose Content is doc.
func ParseContent(doc map[string]any) (*Resource, error) {
	typ, _ := doc["resourceType"].(string)
	if typ == "" {
		return nil, Errorf(ErrInvalid, "required", "the resource has no resourceType", "resourceType")
	}
	if !IsResourceType(typ) {
		return nil, Errorf(ErrInvalid, "not-supported", fmt.Sprintf("%q is not an R4 resource type", typ), "resourceType")
	}
	r := &Resource{Type: typ, Content: doc}
	if raw, ok := doc["id"]; ok {
		id, _ := raw.(string)
		if !ValidID(id) {
			return nil, Invalid("id must match [A-Za-z0-9\\-\\.]{1,64}", typ+".id")
		}
		r.ID = id
	}
	if err := Validate(doc); err != nil {
		return nil, err
	}
	return r, nil
}

// DecodeObject decodes exactly one JSON object, keeping numbers as written
// (json.Number). A failure is an *Error of kind ErrInvalid.
func DecodeObject(body []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, Errorf(ErrInvalid, "structure", "malformed JSON: "+jsonError(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, Errorf(ErrInvalid, "structure", "malformed JSON: content after the resource's closing brace")
	}
	doc, ok := v.(map[string]any)
	if !ok {
		return nil, Errorf(ErrInvalid, "structure", "the body must be a JSON object")
	}
	return doc, nil
}

// jsonError describes a decoding error with its byte offset where known.
func jsonError(err error) string {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return fmt.Sprintf("%s at byte %d", syn.Error(), syn.Offset)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "unexpected end of input"
	}
	return err.Error()
}
