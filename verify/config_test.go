package verify

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseLevel(t *testing.T) {
	tests := []struct {
		in      string
		want    Level
		wantErr bool
	}{
		{"basic", Basic, false},
		{"complete", Complete, false},
		{"ha", HA, false},
		{" HA ", HA, false},
		{"Complete", Complete, false},
		{"", Basic, true},
		{"full", Basic, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseLevel(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("ParseLevel(%q) = %v, %v; want %v, error %t", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
	var l Level
	if err := l.Set("ha"); err != nil || l != HA || l.String() != "ha" {
		t.Errorf("Set(ha) gave %v, %v", l, err)
	}
	if err := l.Set("nope"); err == nil || l != HA {
		t.Errorf("Set(nope) gave %v, %v; want an error and the level unchanged", l, err)
	}
}

// FuzzParseLevel checks that a level name either parses to a level whose
// name is the input, or is refused.
func FuzzParseLevel(f *testing.F) {
	for _, s := range []string{"basic", "complete", "ha", "HA ", "", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseLevel(s)
		if err != nil {
			return
		}
		if !strings.EqualFold(l.String(), strings.TrimSpace(s)) {
			t.Errorf("ParseLevel(%q) = %v", s, l)
		}
	})
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string // "" for valid; else a word of the error
	}{
		{"defaults", Config{}, ""},
		{"complete", Config{Level: Complete, BaseURL: "https://hce.example.org/fhir/"}, ""},
		{"ha with both commands", Config{Level: HA, StopWorkerCmd: "docker stop w2", StartWorkerCmd: "docker start w2"}, ""},
		{"ha without commands", Config{Level: HA}, "stop-worker"},
		{"ha without start", Config{Level: HA, StopWorkerCmd: "docker stop w2", StartWorkerCmd: " "}, "start-worker"},
		{"ha with a failover command", Config{Level: HA, FailoverCmd: "patronictl failover --force"}, ""},
		{"ha with all three", Config{Level: HA, StopWorkerCmd: "docker stop w2", StartWorkerCmd: "docker start w2", FailoverCmd: "kill -9 1"}, ""},
		{"failover command and a stop without start", Config{Level: HA, StopWorkerCmd: "docker stop w2", FailoverCmd: "kill -9 1"}, "start-worker"},
		{"negative failover bound", Config{Level: HA, FailoverCmd: "kill -9 1", FailoverWithin: -time.Second}, "failover bound"},
		{"not http", Config{BaseURL: "ftp://x/fhir"}, "http"},
		{"no host", Config{BaseURL: "http:///fhir"}, "http"},
		{"negative patients", Config{Level: Complete, Patients: -1}, "patient"},
		{"negative timeout", Config{Timeout: -1}, "timeout"},
		{"unknown level", Config{Level: 7}, "level"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, ErrConfig)):
				t.Errorf("Validate() = %v, want an ErrConfig mentioning %q", err, tt.want)
			}
		})
	}
}

func TestRootURL(t *testing.T) {
	tests := []struct{ base, root string }{
		{"http://127.0.0.1:8080/fhir", "http://127.0.0.1:8080"},
		{"http://127.0.0.1:8080/fhir/", "http://127.0.0.1:8080"},
		{"https://x.org/api/fhir", "https://x.org/api"},
	}
	for _, tt := range tests {
		t.Run(tt.base, func(t *testing.T) {
			if got := (Config{BaseURL: tt.base}).withDefaults().rootURL(); got != tt.root {
				t.Errorf("root of %s = %s, want %s", tt.base, got, tt.root)
			}
		})
	}
}

func TestParseLocation(t *testing.T) {
	tests := []struct {
		in      string
		typ, id string
	}{
		{"Patient/12/_history/1", "Patient", "12"},
		{"Observation/a-b.c/_history/3", "Observation", "a-b.c"},
		{"http://h/fhir/Patient/7/_history/2", "Patient", "7"},
		{"Patient/7", "Patient", "7"},
		{"http://h/fhir/Patient/7?x=1", "Patient", "7"},
		{"Patient", "", ""},
		{"", "", ""},
		{"patient/7", "", ""},
		{"Patient/_history", "", ""},
		{"Patient/7/_history", "", ""},
		{"urn:uuid:1234", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			typ, id, ok := parseLocation(tt.in)
			if typ != tt.typ || id != tt.id || ok != (tt.typ != "") {
				t.Errorf("parseLocation(%q) = %q, %q, %t; want %q, %q", tt.in, typ, id, ok, tt.typ, tt.id)
			}
		})
	}
}

// FuzzParseLocation feeds Location headers and references, which come from
// the server under test, to parseLocation: it must not panic, and what it
// accepts is a type name and an id without slashes.
func FuzzParseLocation(f *testing.F) {
	for _, s := range []string{"Patient/12/_history/1", "http://h/fhir/Observation/x", "/", "a/b/_history/c/d", "Patient//_history/1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		typ, id, ok := parseLocation(s)
		if !ok {
			return
		}
		if !isTypeName(typ) || id == "" || strings.ContainsAny(id, "/?#") {
			t.Errorf("parseLocation(%q) accepted %q, %q", s, typ, id)
		}
	})
}

func TestRebase(t *testing.T) {
	tests := []struct{ next, want string }{
		{"", ""},
		{"http://internal:8080/fhir/Observation?_tag=a%7Cb&_cursor=xyz", "Observation?_tag=a%7Cb&_cursor=xyz"},
		{"https://proxy/api/fhir/Observation/_search?_cursor=1", "Observation?_cursor=1"},
	}
	for _, tt := range tests {
		t.Run(tt.next, func(t *testing.T) {
			if got := rebase(tt.next); got != tt.want {
				t.Errorf("rebase(%q) = %q, want %q", tt.next, got, tt.want)
			}
		})
	}
}
