package search

import (
	"strings"

	"github.com/hce-fhir/hce/fhir"
)

// modifiers lists the modifiers each parameter type accepts (besides
// :missing, which all accept): true when HCE implements it, false when R4
// defines it but HCE does not.
var modifiers = map[string]map[Modifier]bool{
	"string":    {ModExact: true, ModContains: true},
	"token":     {ModText: true, ModNot: true, ModOfType: true, ModIn: false, ModNotIn: false, ModAbove: false, ModBelow: false},
	"reference": {ModIdentifier: true, ModAbove: false, ModBelow: false},
	"uri":       {ModAbove: true, ModBelow: true},
	"date":      {},
	"number":    {},
	"quantity":  {},
	"composite": {},
}

// resolveModifier checks the raw modifier of a parameter of type typ whose
// reference targets are targets. A resource type on a reference
// (subject:Patient) comes back as refType, with ModNone.
func resolveModifier(typ string, targets []string, raw string) (mod Modifier, refType string, err error) {
	if raw == "" {
		return ModNone, "", nil
	}
	m := Modifier(raw)
	if m == ModMissing {
		return m, "", nil
	}
	if typ == "reference" && fhir.IsResourceType(raw) {
		if !allowsTarget(targets, raw) {
			return "", "", invalidf("the parameter cannot refer to %s (targets: %s)", raw, strings.Join(targets, ", "))
		}
		return ModNone, raw, nil
	}
	supported, known := modifiers[typ][m]
	switch {
	case !known:
		return "", "", invalidf("unknown modifier :%s for a %s parameter", raw, typ)
	case !supported:
		return "", "", unsupportedf("the modifier :%s is not supported", raw)
	}
	return m, "", nil
}
