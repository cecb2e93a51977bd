package fhirpath

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// primitiveSupertype lists the FHIR R4 primitive types, each mapped to the
// primitive it specializes ("" for none): a code is a string, a url is a uri.
var primitiveSupertype = map[string]string{
	"base64Binary": "", "boolean": "", "date": "", "dateTime": "", "decimal": "",
	"instant": "", "integer": "", "string": "", "time": "", "uri": "",
	"code": "string", "id": "string", "markdown": "string",
	"canonical": "uri", "oid": "uri", "url": "uri", "uuid": "uri",
	"positiveInt": "integer", "unsignedInt": "integer",
}

// complexTypes lists the FHIR R4 data types a choice element can hold, each
// mapped to the type it constrains ("" for none): an Age is a Quantity.
var complexTypes = map[string]string{
	"Address": "", "Annotation": "", "Attachment": "", "CodeableConcept": "",
	"Coding": "", "ContactPoint": "", "HumanName": "", "Identifier": "",
	"Money": "", "Period": "", "Quantity": "", "Range": "", "Ratio": "",
	"Reference": "", "SampledData": "", "Signature": "", "Timing": "",
	"ContactDetail": "", "Contributor": "", "DataRequirement": "",
	"Expression": "", "ParameterDefinition": "", "RelatedArtifact": "",
	"TriggerDefinition": "", "UsageContext": "", "Dosage": "", "Meta": "",
	"Age": "Quantity", "Count": "Quantity", "Distance": "Quantity",
	"Duration": "Quantity", "MoneyQuantity": "Quantity", "SimpleQuantity": "Quantity",
}

// systemTypes maps the FHIRPath System types to the FHIR primitive of the
// same meaning, so that ofType(DateTime) finds a valueDateTime.
var systemTypes = map[string]string{
	"Boolean": "boolean", "String": "string", "Integer": "integer",
	"Decimal": "decimal", "Date": "date", "DateTime": "dateTime", "Time": "time",
}

// nonDomainResources are the resource types that are not DomainResources.
var nonDomainResources = map[string]bool{"Bundle": true, "Binary": true, "Parameters": true}

// choiceType returns the FHIR type named by a choice-element key suffix:
// "Quantity" for valueQuantity, "dateTime" for valueDateTime.
func choiceType(suffix string) (string, bool) {
	if _, ok := complexTypes[suffix]; ok {
		return suffix, true
	}
	lower := strings.ToLower(suffix[:1]) + suffix[1:]
	if _, ok := primitiveSupertype[lower]; ok {
		return lower, true
	}
	return "", false
}

// filterType keeps the nodes of type typ, as ofType() and as() do. When
// retype is set, a node whose type was unknown takes the tested one.
func filterType(input []Node, typ string, retype bool) []Node {
	var out []Node
	for _, n := range input {
		if !isType(n, typ) {
			continue
		}
		if retype && n.Type == "" {
			n.Type = fhirName(typ)
		}
		out = append(out, n)
	}
	return out
}

// isOne is the is operator and function: empty for no input, a boolean for
// one item, an error for more.
func isOne(input []Node, typ string) ([]Node, error) {
	switch len(input) {
	case 0:
		return nil, nil
	case 1:
		return boolean(isType(input[0], typ)), nil
	}
	return nil, fmt.Errorf("is %s: expected a single item, got %d", typ, len(input))
}

// fhirName strips a FHIR. or System. qualifier and maps System types to
// their FHIR primitive: System.DateTime becomes dateTime.
func fhirName(typ string) string {
	if t, ok := strings.CutPrefix(typ, "FHIR."); ok {
		return t
	}
	t, _ := strings.CutPrefix(typ, "System.")
	if f, ok := systemTypes[t]; ok {
		return f
	}
	return t
}

// isType reports whether n is of type typ or of a subtype of it.
func isType(n Node, typ string) bool {
	want := fhirName(typ)
	if m, ok := n.Value.(map[string]any); ok {
		if rt := resourceTypeOf(m); rt != "" {
			return want == rt || want == "Resource" || (want == "DomainResource" && !nonDomainResources[rt])
		}
	}
	if n.Type == "" {
		return valueIs(n.Value, want)
	}
	for t := n.Type; t != ""; t = supertype(t) {
		if t == want {
			return true
		}
	}
	return false
}

func supertype(t string) string {
	if s, ok := primitiveSupertype[t]; ok {
		return s
	}
	return complexTypes[t]
}

var (
	dateRe     = regexp.MustCompile(`^\d{4}(-\d{2}(-\d{2})?)?$`)
	dateTimeRe = regexp.MustCompile(`^\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$`)
	instantRe  = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$`)
	timeRe     = regexp.MustCompile(`^\d{2}:\d{2}(:\d{2}(\.\d+)?)?$`)
	idRe       = regexp.MustCompile(`^[A-Za-z0-9\-.]{1,64}$`)
)

// valueIs judges the type of an element whose FHIR type is unknown from its
// JSON value: any string is a string, code, uri and so on, a string is a
// date only if it looks like one; a complex element without resourceType
// matches no type, since its shape alone does not tell.
func valueIs(v any, want string) bool {
	switch v := v.(type) {
	case bool:
		return want == "boolean"
	case json.Number:
		return numberIs(string(v), want)
	case float64:
		return numberIs(fmt.Sprint(v), want)
	case string:
		switch want {
		case "string", "code", "markdown", "uri", "url", "canonical", "base64Binary":
			return true
		case "id":
			return idRe.MatchString(v)
		case "oid":
			return strings.HasPrefix(v, "urn:oid:")
		case "uuid":
			return strings.HasPrefix(v, "urn:uuid:")
		case "date":
			return dateRe.MatchString(v)
		case "dateTime":
			return dateTimeRe.MatchString(v)
		case "instant":
			return instantRe.MatchString(v)
		case "time":
			return timeRe.MatchString(v)
		}
	}
	return false
}

func numberIs(s, want string) bool {
	integral := !strings.ContainsAny(s, ".eE")
	switch want {
	case "decimal":
		return true
	case "integer":
		return integral
	case "unsignedInt":
		return integral && !strings.HasPrefix(s, "-")
	case "positiveInt":
		return integral && !strings.HasPrefix(s, "-") && strings.Trim(s, "0") != ""
	}
	return false
}
