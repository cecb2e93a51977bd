package spec

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/json"
	"io"
	"strings"
	"sync"
)

//go:generate go run gentypes.go

//go:embed types.json.gz
var typesJSONGz []byte

// TypeDef is the trimmed R4 StructureDefinition of a primitive type, complex
// type or resource: what the validator needs to know of its elements.
type TypeDef struct {
	// Name is the type's name: date, HumanName, Patient.
	Name string `json:"name"`
	// Kind is primitive-type, complex-type or resource.
	Kind string `json:"kind"`
	// Base is the type it specialises (Element, DomainResource, uri …).
	Base string `json:"base,omitempty"`
	// Regex is a primitive type's regular expression for its value.
	Regex string `json:"regex,omitempty"`
	// Elements lists the type's elements, nested backbone elements
	// included (Patient.contact.name), in definition order.
	Elements []Element `json:"elements,omitempty"`
	// Constraints lists the invariants the type itself defines, on its
	// root or on one of its elements.
	Constraints []Constraint `json:"constraints,omitempty"`

	byPath map[string]*Element
}

// Element is one element definition.
type Element struct {
	// Path is the element's path; a choice element ends in [x]
	// (Observation.value[x]).
	Path string `json:"path"`
	// Types lists the codes of the types the element may have: one, or the
	// alternatives of a choice. BackboneElement and Element mean the
	// element's children are defined below its own path.
	Types []string `json:"types,omitempty"`
	// Min is the least number of values.
	Min int `json:"min,omitempty"`
	// Max is the most, "*" for unbounded; empty means 1.
	Max string `json:"max,omitempty"`
	// Ref is the path of the element whose definition this one reuses
	// (Questionnaire.item.item is a Questionnaire.item).
	Ref string `json:"ref,omitempty"`
}

// List reports whether the element may repeat, which R4's JSON writes as an
// array.
func (e *Element) List() bool { return e.Max != "" && e.Max != "1" && e.Max != "0" }

// Choice reports whether the element is a choice of types (value[x]).
func (e *Element) Choice() bool { return strings.HasSuffix(e.Path, "[x]") }

// Constraint is one invariant of a StructureDefinition.
type Constraint struct {
	// Key names it: obs-6, pat-1.
	Key string `json:"key"`
	// Path is the element it applies to, each occurrence in turn.
	Path string `json:"path"`
	// Severity is error or warning.
	Severity string `json:"severity"`
	// Human states the rule in words.
	Human string `json:"human"`
	// Expression is the rule in FHIRPath; true when the rule holds.
	Expression string `json:"expression"`
}

var (
	typesOnce sync.Once
	types     map[string]*TypeDef
)

// Type returns the definition of the type named name (a primitive type, a
// complex type or a resource type).
func Type(name string) (*TypeDef, bool) {
	typesOnce.Do(loadTypes)
	t, ok := types[name]
	return t, ok
}

// Types returns every type definition, keyed by name. The map is shared:
// callers must not modify it.
func Types() map[string]*TypeDef {
	typesOnce.Do(loadTypes)
	return types
}

// Element returns the element at path (Patient.contact.name), or nil.
func (t *TypeDef) Element(path string) *Element {
	return t.byPath[path]
}

// Primitive reports whether the type is a primitive type.
func (t *TypeDef) Primitive() bool { return t.Kind == "primitive-type" }

func loadTypes() {
	zr, err := gzip.NewReader(bytes.NewReader(typesJSONGz))
	if err != nil {
		panic("spec: types.json.gz: " + err.Error())
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		panic("spec: types.json.gz: " + err.Error())
	}
	var list []*TypeDef
	if err := json.Unmarshal(b, &list); err != nil {
		panic("spec: types.json.gz: " + err.Error())
	}
	types = make(map[string]*TypeDef, len(list))
	for _, t := range list {
		t.byPath = make(map[string]*Element, len(t.Elements))
		for i := range t.Elements {
			t.byPath[t.Elements[i].Path] = &t.Elements[i]
		}
		types[t.Name] = t
	}
}
