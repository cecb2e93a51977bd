//go:build ignore

// gen trims the R4 search-parameter Bundle and the Patient compartment
// definition (HL7, CC0) to the fields HCE reads, writing
// search-parameters.json and compartment-patient.json next to it.
//
//	go run gen.go -src DIR   (DIR holds search-parameters.json and compartmentdefinition-patient.json)
package main

import (
	"encoding/json"
	"flag"
	"log"
	"os"
	"path/filepath"
)

type param struct {
	URL        string            `json:"url"`
	Code       string            `json:"code"`
	Base       []string          `json:"base"`
	Type       string            `json:"type"`
	Expression string            `json:"expression,omitempty"`
	Target     []string          `json:"target,omitempty"`
	Component  []json.RawMessage `json:"component,omitempty"`
}

func main() {
	src := flag.String("src", "", "directory of the R4 definitions")
	flag.Parse()
	var bundle struct {
		Entry []struct {
			Resource param `json:"resource"`
		} `json:"entry"`
	}
	read(filepath.Join(*src, "search-parameters.json"), &bundle)
	params := make([]param, 0, len(bundle.Entry))
	for _, e := range bundle.Entry {
		params = append(params, e.Resource)
	}
	write("search-parameters.json", params)

	var comp struct {
		Resource []struct {
			Code  string   `json:"code"`
			Param []string `json:"param,omitempty"`
		} `json:"resource"`
	}
	read(filepath.Join(*src, "compartmentdefinition-patient.json"), &comp)
	write("compartment-patient.json", comp.Resource)
}

func read(path string, v any) {
	b, err := os.ReadFile(path)
	if err != nil {
		log.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		log.Fatalf("%s: %v", path, err)
	}
}

func write(path string, v any) {
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		log.Fatal(err)
	}
}
