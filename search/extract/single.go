package extract

import (
	"regexp"
	"strings"
	"sync"

	"github.com/hce-fhir/hce/fhir/spec"
)

var singles sync.Map // type + "." + code -> bool

// SingleValued reports whether date parameter code gives a resource of typ
// at most one index row: its expression for typ selects one element that
// cannot repeat, nor can any element on its path (a choice's alternatives,
// Condition.onset.ofType(dateTime) | Condition.onset.ofType(Period), are
// one element). Every value, a Timing's too, is one range. Then ANDed
// conditions on the parameter hold for one row, which one index can find.
func SingleValued(typ, code string) bool {
	key := typ + "." + code
	if v, ok := singles.Load(key); ok {
		return v.(bool)
	}
	single := singleValued(typ, code)
	singles.Store(key, single)
	return single
}

// simplePath is a path of element names, optionally narrowed to a type.
var simplePath = regexp.MustCompile(`^([A-Za-z]+(?:\.[a-z][A-Za-z]*)+)(?:\.ofType\([A-Za-z]+\)|\.as\([A-Za-z]+\)| as [A-Za-z]+)?$`)

func singleValued(typ, code string) bool {
	p, ok := spec.Param(typ, code)
	if !ok || p.Type != "date" || p.Expression == "" {
		return false
	}
	element := ""
	for _, alt := range strings.Split(p.Expression, "|") {
		alt = strings.TrimSpace(alt)
		for strings.HasPrefix(alt, "(") && strings.HasSuffix(alt, ")") {
			alt = strings.TrimSpace(alt[1 : len(alt)-1])
		}
		if !strings.HasPrefix(alt, typ+".") {
			continue
		}
		m := simplePath.FindStringSubmatch(alt)
		if m == nil || element != "" && m[1] != element {
			return false
		}
		element = m[1]
	}
	return element != "" && atMostOne(element)
}

// atMostOne reports whether no element on path (Encounter.period) repeats,
// following datatypes (DocumentReference.context.period).
func atMostOne(path string) bool {
	steps := strings.Split(path, ".")
	def, ok := spec.Type(steps[0])
	if !ok {
		return false
	}
	at := steps[0]
	for _, step := range steps[1:] {
		el := def.Element(at + "." + step)
		if el == nil {
			el = def.Element(at + "." + step + "[x]")
		}
		if el == nil || el.List() {
			return false
		}
		at = strings.TrimSuffix(el.Path, "[x]")
		if next := nextType(el); next != nil {
			def, at = next, next.Name
		}
	}
	return true
}

// nextType is the definition that holds el's children when they are not
// defined below el itself: its datatype's.
func nextType(el *spec.Element) *spec.TypeDef {
	if len(el.Types) != 1 || el.Types[0] == "BackboneElement" || el.Types[0] == "Element" {
		return nil
	}
	def, ok := spec.Type(el.Types[0])
	if !ok || def.Primitive() {
		return nil
	}
	return def
}
