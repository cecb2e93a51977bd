package fhir

import (
	"encoding/json"
	"reflect"
	"strings"
	"sync"

	models "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// kind is how an element's value is written in JSON.
type kind int

const (
	kindString kind = iota
	kindBool
	kindInt
	kindDecimal
	kindCode     // a code bound to a required value set: an enum type in the models
	kindObject   // a complex type or backbone element
	kindResource // a nested resource (Bundle.entry.resource, Parameters.parameter.resource)
)

// primitive reports whether elements of this kind may carry _name extensions.
func (k kind) primitive() bool { return k <= kindCode }

// field is one element of a model struct.
type field struct {
	name     string
	kind     kind
	list     bool
	required bool
	typ      reflect.Type // element type without pointer or slice
}

// shape is the set of elements a model struct allows.
type shape struct {
	fields map[string]*field
	// required lists groups of which one element must be present: a single
	// element, or the alternatives of a required choice (value[x]).
	required [][]*field
}

var (
	shapes       sync.Map // reflect.Type -> *shape
	unmarshaler  = reflect.TypeFor[json.Unmarshaler]()
	rawMessage   = reflect.TypeFor[json.RawMessage]()
	jsonNumber   = reflect.TypeFor[json.Number]()
	elementShape = &shape{fields: map[string]*field{
		"id":        {name: "id", kind: kindString},
		"extension": {name: "extension", kind: kindObject, list: true, typ: reflect.TypeFor[extensionModel]()},
	}}
)

// shapeOf derives (once per type) the elements of a model struct from its
// json tags: a field without omitempty is required.
func shapeOf(t reflect.Type) *shape {
	if s, ok := shapes.Load(t); ok {
		return s.(*shape)
	}
	s := &shape{fields: map[string]*field{}}
	var required []*field
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		name, opts, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		f := &field{name: name, required: !strings.Contains(opts, "omitempty")}
		ft := sf.Type
		if ft == rawMessage {
			f.kind, f.typ = kindResource, ft
		} else {
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Slice {
				f.list, ft = true, ft.Elem()
			}
			f.typ, f.kind = ft, kindOf(ft)
		}
		s.fields[name] = f
		if f.required {
			required = append(required, f)
		}
	}
	s.required = groupChoices(required)
	actual, _ := shapes.LoadOrStore(t, s)
	return actual.(*shape)
}

func kindOf(t reflect.Type) kind {
	switch {
	case t == jsonNumber:
		return kindDecimal
	case reflect.PointerTo(t).Implements(unmarshaler) && t.Kind() == reflect.Int:
		return kindCode
	case t.Kind() == reflect.String:
		return kindString
	case t.Kind() == reflect.Bool:
		return kindBool
	case t.Kind() == reflect.Int:
		return kindInt
	default:
		return kindObject
	}
}

// extensionModel is the model of Extension, named here for elementShape.
type extensionModel = models.Extension

// groupChoices puts the alternatives of a required choice element together:
// the models declare valueBoolean, valueString … each as required, while
// FHIR requires exactly one of them.
func groupChoices(required []*field) [][]*field {
	byBase := map[string][]*field{}
	var order []string
	for _, f := range required {
		base := choiceBase(f.name)
		if byBase[base] == nil {
			order = append(order, base)
		}
		byBase[base] = append(byBase[base], f)
	}
	groups := make([][]*field, 0, len(order))
	for _, base := range order {
		groups = append(groups, byBase[base])
	}
	return groups
}

// choiceBase strips a type suffix from a choice element name (valueQuantity
// -> value); names without an inner capital are returned unchanged.
func choiceBase(name string) string {
	for i := 1; i < len(name); i++ {
		if name[i] >= 'A' && name[i] <= 'Z' {
			return name[:i]
		}
	}
	return name
}
