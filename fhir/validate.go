package fhir

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// maxIssues bounds the issues one validation reports, so that a huge bad
// resource yields a readable OperationOutcome.
const maxIssues = 20

// Validate checks a decoded resource (json.Number for numbers) against the
// R4 model of its resourceType: every element must be known, carry the JSON
// type the model declares, use a code from the element's required value set,
// and be present when the model requires it. Primitive extensions (_birthDate),
// contained resources and resources nested in Bundle and Parameters are
// checked too. The error is an *Error of kind ErrInvalid with one issue per
// problem, each naming the element path (Patient.name[0].given[1]).
func Validate(doc map[string]any) error {
	typ, _ := doc["resourceType"].(string)
	return ValidateAt(doc, typ)
}

// ValidateAt is Validate of a resource found at path in a larger document
// (Bundle.entry[3].resource): the issues' paths start with it.
func ValidateAt(doc map[string]any, path string) error {
	v := &validator{}
	v.resource(doc, path)
	if len(v.issues) == 0 {
		return nil
	}
	return &Error{Kind: ErrInvalid, Issues: v.issues}
}

type validator struct {
	issues []Issue
}

func (v *validator) add(path, code, format string, args ...any) {
	if len(v.issues) < maxIssues {
		v.issues = append(v.issues, Issue{Severity: "error", Code: code, Diagnostics: fmt.Sprintf(format, args...), Expression: []string{path}})
	}
}

// resource validates a resource found at path (the type name at the root).
func (v *validator) resource(doc map[string]any, path string) {
	typ, _ := doc["resourceType"].(string)
	model, ok := modelTypes[typ]
	if !ok {
		v.add(path+".resourceType", "invalid", "%q is not an R4 resource type", typ)
		return
	}
	if raw, ok := doc["id"]; ok {
		if id, _ := raw.(string); !ValidID(id) {
			v.add(path+".id", "invalid", "id must match [A-Za-z0-9\\-\\.]{1,64}")
		}
	}
	v.object(doc, shapeOf(model), path, typ)
}

// object validates the elements of one JSON object; typ is the resource type
// when the object is a resource, so that resourceType and contained are allowed.
func (v *validator) object(doc map[string]any, s *shape, path, typ string) {
	keys := make([]string, 0, len(doc))
	for k := range doc {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		val := doc[k]
		p := path + "." + strings.TrimPrefix(k, "_")
		switch {
		case typ != "" && k == "resourceType":
		case typ != "" && k == "contained" && s.fields["text"] != nil:
			v.contained(val, p)
		case strings.HasPrefix(k, "_"):
			f := s.fields[k[1:]]
			if f == nil || !f.kind.primitive() {
				v.add(path+"."+k, "structure", "unknown element %q", k)
				continue
			}
			v.primitiveExtension(f, val, p)
		default:
			f := s.fields[k]
			if f == nil {
				v.add(p, "structure", "unknown element %q", k)
				continue
			}
			v.element(f, val, p, doc["_"+k] != nil)
		}
	}
	for _, group := range s.required {
		if !anyPresent(doc, group) {
			name := group[0].name
			if len(group) > 1 {
				name = choiceBase(name) + "[x]"
			}
			v.add(path+"."+name, "required", "missing required element %q", name)
		}
	}
}

// element validates the value of a known element; extended says whether a
// _name sibling carries primitive extensions, which allows nulls in a list.
func (v *validator) element(f *field, val any, path string, extended bool) {
	if !f.list {
		if _, isList := val.([]any); isList {
			v.add(path, "structure", "element %q takes a single value, not an array", f.name)
			return
		}
		v.value(f, val, path)
		return
	}
	items, ok := val.([]any)
	if !ok {
		v.add(path, "structure", "element %q must be an array", f.name)
		return
	}
	if len(items) == 0 {
		v.add(path, "structure", "array %q must not be empty", f.name)
	}
	for i, item := range items {
		if item == nil && extended && f.kind.primitive() {
			continue
		}
		v.value(f, item, path+"["+strconv.Itoa(i)+"]")
	}
}

// value validates one value against the element's kind.
func (v *validator) value(f *field, val any, path string) {
	switch f.kind {
	case kindString:
		if s, ok := val.(string); !ok {
			v.mismatch(val, "a string", path)
		} else if s == "" {
			v.add(path, "value", "empty string is not allowed")
		}
	case kindBool:
		if _, ok := val.(bool); !ok {
			v.mismatch(val, "a boolean", path)
		}
	case kindInt:
		n, ok := val.(json.Number)
		if !ok {
			v.mismatch(val, "an integer", path)
		} else if _, err := strconv.ParseInt(string(n), 10, 32); err != nil {
			v.add(path, "value", "%s is not a 32-bit integer", n)
		}
	case kindDecimal:
		if _, ok := val.(json.Number); !ok {
			v.mismatch(val, "a number", path)
		}
	case kindCode:
		s, ok := val.(string)
		if !ok {
			v.mismatch(val, "a code string", path)
			return
		}
		// The models' code types compare the raw text between the quotes.
		if err := reflect.New(f.typ).Interface().(json.Unmarshaler).UnmarshalJSON([]byte(`"` + s + `"`)); err != nil {
			v.add(path, "code-invalid", "%q is not a valid code for %s", s, f.name)
		}
	case kindObject:
		m, ok := val.(map[string]any)
		if !ok {
			v.mismatch(val, "an object", path)
			return
		}
		if len(m) == 0 {
			v.add(path, "structure", "empty object is not allowed")
			return
		}
		v.object(m, shapeOf(f.typ), path, "")
	case kindResource:
		if c, ok := val.(*Checked); ok {
			for _, is := range c.Issues {
				if len(v.issues) < maxIssues {
					v.issues = append(v.issues, is)
				}
			}
			return
		}
		m, ok := val.(map[string]any)
		if !ok {
			v.mismatch(val, "a resource object", path)
			return
		}
		v.resource(m, path)
	}
}

// contained validates the contained resources of a DomainResource.
func (v *validator) contained(val any, path string) {
	items, ok := val.([]any)
	if !ok {
		v.add(path, "structure", "element \"contained\" must be an array")
		return
	}
	for i, item := range items {
		p := path + "[" + strconv.Itoa(i) + "]"
		m, ok := item.(map[string]any)
		if !ok {
			v.mismatch(item, "a resource object", p)
			continue
		}
		v.resource(m, p)
	}
}

// primitiveExtension validates _name: an Element (id, extension) or, for a
// list, an array of Elements and nulls aligned with the values.
func (v *validator) primitiveExtension(f *field, val any, path string) {
	check := func(item any, p string) {
		m, ok := item.(map[string]any)
		if !ok {
			v.mismatch(item, "an object with id or extension", p)
			return
		}
		v.object(m, elementShape, p, "")
	}
	if !f.list {
		check(val, path)
		return
	}
	items, ok := val.([]any)
	if !ok {
		v.add(path, "structure", "element \"_%s\" must be an array", f.name)
		return
	}
	for i, item := range items {
		if item != nil {
			check(item, path+"["+strconv.Itoa(i)+"]")
		}
	}
}

// anyPresent reports whether one of the fields, or its primitive extension,
// is in doc.
func anyPresent(doc map[string]any, group []*field) bool {
	for _, f := range group {
		if _, ok := doc[f.name]; ok {
			return true
		}
		if _, ok := doc["_"+f.name]; ok {
			return true
		}
	}
	return false
}

func (v *validator) mismatch(val any, want, path string) {
	v.add(path, "structure", "expected %s, found %s", want, jsonType(val))
}

func jsonType(val any) string {
	switch val.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case []any:
		return "an array"
	default:
		return "an object"
	}
}
