package validate

import (
	"fmt"
	"sort"
	"strconv"

	"github.com/hce-fhir/hce/fhir"
	"github.com/hce-fhir/hce/fhir/spec"
)

// walker collects the issues of one validation.
type walker struct {
	issues []fhir.Issue
	// res is the resource being walked: its contained ids and the local
	// references found in it, checked when the resource is done.
	res *resourceScope
}

// resourceScope is what a resource's contained rules need: the ids of its
// contained resources and the #id references anywhere inside it.
type resourceScope struct {
	root      map[string]any
	contained map[string]bool
	localRefs []localRef
}

type localRef struct {
	id, path string
}

func (w *walker) add(path, code, format string, args ...any) {
	if len(w.issues) < maxIssues {
		w.issues = append(w.issues, fhir.Issue{Severity: "error", Code: code, Diagnostics: fmt.Sprintf(format, args...), Expression: []string{path}})
	}
}

// resource walks a resource found at path; contained says whether it is a
// contained resource of the scope being walked.
func (w *walker) resource(doc map[string]any, path string, contained bool) {
	typ, _ := doc["resourceType"].(string)
	t, ok := spec.Type(typ)
	if !ok || t.Kind != "resource" {
		return // the models' check reports an unknown resourceType
	}
	if contained {
		w.object(doc, t, typ, path)
		w.invariants(doc, t, typ, path)
		return
	}
	outer := w.res
	w.res = &resourceScope{root: doc}
	w.containedResources(doc, path)
	w.object(doc, t, typ, path)
	w.invariants(doc, t, typ, path)
	for _, r := range w.res.localRefs {
		if !w.res.contained[r.id] {
			w.add(r.path, "invalid", "the reference #%s names no contained resource", r.id)
		}
	}
	w.res = outer
}

// object walks the children of one JSON object whose definition is the
// element at defPath of type t (t's root for a data type or resource).
func (w *walker) object(obj map[string]any, t *spec.TypeDef, defPath, path string) {
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var choices map[string]string // base -> key seen
	for _, k := range keys {
		if k == "resourceType" && defPath == t.Name && t.Kind == "resource" {
			continue
		}
		if k == "contained" && defPath == t.Name && t.Kind == "resource" {
			continue // containedResources
		}
		name, ext := k, false
		if len(k) > 1 && k[0] == '_' {
			name, ext = k[1:], true
		}
		el, typ, base := lookup(t, defPath, name)
		if el == nil {
			continue // an unknown element: the models' check reports it
		}
		p := path + "." + name
		if el.Choice() {
			p = path + "." + base + ".ofType(" + typ + ")"
			if choices == nil {
				choices = map[string]string{}
			}
			if prev, ok := choices[base]; ok && prev != name {
				w.add(path+"."+base, "structure", "the choice element %s[x] has more than one value (%s and %s)", base, prev, name)
			}
			choices[base] = name
		}
		if ext {
			w.primitiveElement(obj, k, name, el, typ, p)
			continue
		}
		if _, has := obj["_"+name]; has && isPrimitive(typ) {
			continue // primitiveElement walks the pair
		}
		w.values(obj[k], nil, el, t, typ, p)
	}
}

// lookup finds the definition of the child name of the element at defPath,
// following content references; a choice element (valueQuantity) is found
// through its base (value[x]) and yields the type its suffix names.
func lookup(t *spec.TypeDef, defPath, name string) (el *spec.Element, typ, base string) {
	if el = t.Element(defPath + "." + name); el != nil {
		if el.Choice() || len(el.Types) == 0 && el.Ref == "" {
			return nil, "", ""
		}
		if len(el.Types) == 0 {
			return el, "", name
		}
		return el, el.Types[0], name
	}
	for i := 1; i < len(name); i++ {
		if name[i] < 'A' || name[i] > 'Z' {
			continue
		}
		base = name[:i]
		el = t.Element(defPath + "." + base + "[x]")
		if el == nil {
			return nil, "", ""
		}
		suffix := name[i:]
		for _, ty := range el.Types {
			if len(ty) == len(suffix) && (ty == suffix || ty[1:] == suffix[1:] && ty[0]|0x20 == suffix[0]|0x20) {
				return el, ty, base
			}
		}
		return nil, "", ""
	}
	return nil, "", ""
}

// values walks an element's value or array of values; ext is the aligned
// _name value of a primitive, nil when there is none.
func (w *walker) values(val, ext any, el *spec.Element, t *spec.TypeDef, typ, path string) {
	if !el.List() {
		if _, isList := val.([]any); isList {
			return // the models' check reports it
		}
		w.value(val, el, t, typ, path)
		return
	}
	items, ok := val.([]any)
	if !ok {
		return
	}
	for i, item := range items {
		if item == nil {
			continue // primitiveElement checks the alignment
		}
		w.value(item, el, t, typ, path+"["+strconv.Itoa(i)+"]")
	}
}

// value walks one value of type typ.
func (w *walker) value(val any, el *spec.Element, t *spec.TypeDef, typ, path string) {
	if isPrimitive(typ) {
		if typ == "xhtml" {
			if s, ok := val.(string); ok {
				if problem := Narrative(s); problem != "" {
					w.add(path, "invalid", "%s", problem)
				}
			}
			return
		}
		if problem := primitive(typ, val); problem != "" {
			w.add(path, "value", "%s", problem)
		}
		return
	}
	if c, ok := val.(*fhir.Checked); ok {
		for _, is := range c.Issues {
			if len(w.issues) < maxIssues {
				w.issues = append(w.issues, is)
			}
		}
		return // a resource walked on its own (bundle.go)
	}
	m, ok := val.(map[string]any)
	if !ok {
		return // the models' check reports the JSON type
	}
	if el.Ref != "" {
		w.complex(m, t, el.Ref, path)
		return
	}
	switch typ {
	case "BackboneElement", "Element":
		w.complex(m, t, el.Path, path)
	case "Resource":
		w.resource(m, path, false)
	default:
		dt, ok := spec.Type(typ)
		if !ok {
			return
		}
		w.complex(m, dt, dt.Name, path)
	}
}

// complex walks an object of a complex type or backbone element: ele-1,
// then the type's own rules, then its children.
func (w *walker) complex(m map[string]any, t *spec.TypeDef, defPath, path string) {
	if !hasChildren(m) {
		w.add(path, "structure", "an element must have a value or children other than id (ele-1)")
		return
	}
	switch defPath {
	case "Extension":
		w.extension(m, path)
	case "Period":
		w.period(m, path)
	case "Reference":
		if s, ok := m["reference"].(string); ok {
			if problem := reference(s); problem != "" {
				w.add(path+".reference", "value", "%q is not a valid reference: %s", s, problem)
			} else if len(s) > 1 && s[0] == '#' && w.res != nil {
				w.res.localRefs = append(w.res.localRefs, localRef{id: s[1:], path: path + ".reference"})
			}
		}
	}
	w.object(m, t, defPath, path)
	w.invariants(m, t, defPath, path)
}

// hasChildren reports whether an object has an element other than id.
func hasChildren(m map[string]any) bool {
	for k := range m {
		if k != "id" {
			return true
		}
	}
	return false
}

// extension checks ext-1 and the url of an Extension.
func (w *walker) extension(m map[string]any, path string) {
	url, ok := m["url"].(string)
	if !ok || url == "" {
		w.add(path, "required", "an extension must have a url")
	}
	values := 0
	for k := range m {
		if len(k) > 5 && k[:5] == "value" && k[5] >= 'A' && k[5] <= 'Z' {
			values++
		}
	}
	_, subs := m["extension"]
	switch {
	case values > 0 && subs:
		w.add(path, "structure", "an extension must have either extensions or value[x], not both (ext-1)")
	case values == 0 && !subs:
		w.add(path, "structure", "an extension must have either extensions or value[x] (ext-1)")
	}
}

// primitiveElement checks a primitive and its _name twin together: the
// twin is an Element (id, extension) that is not empty; a primitive without
// a value needs extensions (ele-1); for a list, the arrays have the same
// length and no position is null in both.
func (w *walker) primitiveElement(obj map[string]any, key, name string, el *spec.Element, typ, path string) {
	if !isPrimitive(typ) {
		return // the models' check reports _name on a complex element
	}
	ext := obj[key]
	val, hasVal := obj[name]
	elementDef, _ := spec.Type("Element")
	checkExt := func(e any, hasValue bool, p string) {
		m, ok := e.(map[string]any)
		if !ok {
			return
		}
		if len(m) == 0 {
			w.add(p, "structure", "the primitive's _%s element must not be empty", name)
			return
		}
		if !hasValue {
			if _, ok := m["extension"]; !ok {
				w.add(p, "structure", "an element must have a value or extensions (ele-1)")
			}
		}
		w.object(m, elementDef, "Element", p)
	}
	if !el.List() {
		if hasVal {
			w.value(val, el, nil, typ, path)
		}
		checkExt(ext, hasVal && val != nil, path)
		return
	}
	exts, ok := ext.([]any)
	if !ok {
		return
	}
	vals, _ := val.([]any)
	if hasVal && len(vals) != len(exts) {
		w.add(path, "structure", "the arrays %s and _%s must have the same length (%d and %d)", name, name, len(vals), len(exts))
	}
	for i := range max(len(exts), len(vals)) {
		p := path + "[" + strconv.Itoa(i) + "]"
		var v, e any
		if i < len(vals) {
			v = vals[i]
		}
		if i < len(exts) {
			e = exts[i]
		}
		if v == nil && e == nil {
			w.add(p, "structure", "an element must have a value or extensions (ele-1): %s and _%s are both null", name, name)
			continue
		}
		if v != nil {
			w.value(v, el, nil, typ, p)
		}
		if e != nil {
			checkExt(e, v != nil, p)
		}
	}
}

func isPrimitive(typ string) bool {
	if typ == "" || typ[0] < 'a' || typ[0] > 'z' {
		return false
	}
	return true
}
