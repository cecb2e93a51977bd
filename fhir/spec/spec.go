package spec

import (
	_ "embed"
	"encoding/json"
	"sort"

	"github.com/hce-fhir/hce/fhir"
)

//go:generate go run gen.go -src ../../../shared/data/fhir-r4-definitions

var (
	//go:embed search-parameters.json
	searchParametersJSON []byte
	//go:embed compartment-patient.json
	compartmentJSON []byte
)

// SearchParam is one R4 SearchParameter.
type SearchParam struct {
	// URL is the canonical URL; composite components refer to it.
	URL string `json:"url"`
	// Code is the name used in query strings.
	Code string `json:"code"`
	// Base lists the resource types (or Resource, DomainResource) it applies to.
	Base []string `json:"base"`
	// Type is number, date, string, token, reference, composite, quantity, uri or special.
	Type string `json:"type"`
	// Expression is the FHIRPath that extracts the values; it may cover
	// several bases joined with |.
	Expression string `json:"expression,omitempty"`
	// Target lists the resource types a reference parameter may point to.
	Target []string `json:"target,omitempty"`
	// Component lists the parts of a composite parameter.
	Component []Component `json:"component,omitempty"`
}

// Component is one part of a composite search parameter.
type Component struct {
	// Definition is the URL of the component's own SearchParameter.
	Definition string `json:"definition"`
	// Expression is relative to the composite's expression.
	Expression string `json:"expression"`
}

var (
	byType      = map[string]map[string]*SearchParam{}
	sorted      = map[string][]*SearchParam{} // Params, computed once: every write asks
	byURL       = map[string]*SearchParam{}
	compartment = map[string][]string{}
)

func init() {
	var params []*SearchParam
	if err := json.Unmarshal(searchParametersJSON, &params); err != nil {
		panic("spec: search-parameters.json: " + err.Error())
	}
	for _, p := range params {
		byURL[p.URL] = p
		for _, base := range p.Base {
			for _, t := range expand(base) {
				if byType[t] == nil {
					byType[t] = map[string]*SearchParam{}
				}
				byType[t][p.Code] = p
			}
		}
	}
	for typ, ps := range byType {
		list := make([]*SearchParam, 0, len(ps))
		for _, p := range ps {
			list = append(list, p)
		}
		sort.Slice(list, func(i, j int) bool { return list[i].Code < list[j].Code })
		sorted[typ] = list
	}
	var comp []struct {
		Code  string   `json:"code"`
		Param []string `json:"param"`
	}
	if err := json.Unmarshal(compartmentJSON, &comp); err != nil {
		panic("spec: compartment-patient.json: " + err.Error())
	}
	for _, c := range comp {
		if len(c.Param) > 0 {
			compartment[c.Code] = c.Param
		}
	}
}

// expand turns an abstract base into the concrete types it covers.
func expand(base string) []string {
	switch base {
	case "Resource":
		return fhir.ResourceTypes
	case "DomainResource":
		var ts []string
		for _, t := range fhir.ResourceTypes {
			if t != "Bundle" && t != "Binary" && t != "Parameters" {
				ts = append(ts, t)
			}
		}
		return ts
	}
	return []string{base}
}

// Param returns the search parameter code of resource type typ.
func Param(typ, code string) (*SearchParam, bool) {
	p, ok := byType[typ][code]
	return p, ok
}

// Params returns every search parameter of typ, sorted by code. The slice
// is shared: callers must not modify it.
func Params(typ string) []*SearchParam {
	return sorted[typ]
}

// ByURL returns the search parameter with canonical URL url.
func ByURL(url string) (*SearchParam, bool) {
	p, ok := byURL[url]
	return p, ok
}

// PatientCompartment returns the codes of the search parameters of typ that
// link a resource to its patient (subject, patient, performer …), in the
// definition's order; nil when typ is not in the Patient compartment.
// Patient itself is a member through its own id and returns {"link"}.
func PatientCompartment(typ string) []string {
	return compartment[typ]
}
