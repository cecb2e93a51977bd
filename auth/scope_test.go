package auth

import (
	"errors"
	"testing"
)

func TestParseScope(t *testing.T) {
	tests := []struct {
		in      string
		want    Scope
		wantErr bool
		notRes  bool
	}{
		{in: "patient/Observation.rs", want: Scope{Context: PatientContext, Type: "Observation", Perm: Read | Search}},
		{in: "system/*.cruds", want: Scope{Context: SystemContext, Type: "*", Perm: All}},
		{in: "user/Patient.c", want: Scope{Context: UserContext, Type: "Patient", Perm: Create}},
		{in: "user/*.read", want: Scope{Context: UserContext, Type: "*", Perm: Read | Search}},
		{in: "patient/Encounter.write", want: Scope{Context: PatientContext, Type: "Encounter", Perm: Create | Update | Delete}},
		{in: "system/*.*", want: Scope{Context: SystemContext, Type: "*", Perm: All}},
		{in: "patient/Observation.rs?category=laboratory", want: Scope{Context: PatientContext, Type: "Observation", Perm: Read | Search, Constrained: true}},
		{in: "openid", notRes: true},
		{in: "launch/patient", notRes: true},
		{in: "fhirUser", notRes: true},
		{in: "offline_access", notRes: true},
		{in: "patient/Observation.sr", wantErr: true},
		{in: "patient/Observation.rr", wantErr: true},
		{in: "patient/Observation.x", wantErr: true},
		{in: "patient/Observation.", wantErr: true},
		{in: "patient/Observation", wantErr: true},
		{in: "patient/Nope.rs", wantErr: true},
		{in: "patient/Observation.rs?", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseScope(tt.in)
			switch {
			case tt.notRes:
				if !errors.Is(err, ErrNotResourceScope) {
					t.Fatalf("err = %v, want ErrNotResourceScope", err)
				}
			case tt.wantErr:
				if err == nil || errors.Is(err, ErrNotResourceScope) {
					t.Fatalf("err = %v, want a syntax error", err)
				}
			case err != nil:
				t.Fatal(err)
			case got != tt.want:
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestAccess(t *testing.T) {
	tests := []struct {
		scope, patient string
		perm           Perm
		typ            string
		want           Access
	}{
		{"patient/Observation.rs", "p1", Read, "Observation", PatientAccess},
		{"patient/Observation.rs", "", Read, "Observation", NoAccess},
		{"patient/Observation.rs", "p1", Read, "Condition", NoAccess},
		{"patient/Observation.rs", "p1", Create, "Observation", NoAccess},
		{"patient/*.read user/Observation.r", "p1", Read, "Observation", FullAccess},
		{"patient/*.read", "p1", Search, "Condition", PatientAccess},
		{"system/*.cruds", "", Delete, "Patient", FullAccess},
		{"user/Patient.cu", "", Update, "Patient", FullAccess},
		{"user/Patient.cu", "", Read | Update, "Patient", NoAccess},
		{"openid fhirUser user/Patient.rs?name=x", "", Read, "Patient", NoAccess},
	}
	for _, tt := range tests {
		t.Run(tt.scope+" "+tt.perm.String()+" "+tt.typ, func(t *testing.T) {
			p := &Principal{Scopes: ParseScopes(tt.scope), Patient: tt.patient}
			if got := p.Access(tt.perm, tt.typ); got != tt.want {
				t.Fatalf("Access = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestIsAdmin(t *testing.T) {
	for scope, want := range map[string]bool{
		"system/*.cruds": true, "system/*.rs": true, "system/*.read": true, "system/*.*": true,
		"system/*.r": false, "user/*.cruds": false, "system/Patient.cruds": false, "": false,
	} {
		if got := (&Principal{Scopes: ParseScopes(scope)}).IsAdmin(); got != want {
			t.Errorf("IsAdmin(%q) = %v, want %v", scope, got, want)
		}
	}
}

// FuzzParseScope checks that no input panics and that every accepted scope
// spells back to a scope that parses to the same permissions.
func FuzzParseScope(f *testing.F) {
	for _, s := range []string{"patient/Observation.rs", "system/*.cruds", "user/*.read", "launch/patient",
		"patient/Observation.rs?category=x", "a/b.c", "/.", "patient/*.*"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sc, err := ParseScope(s)
		if err != nil {
			return
		}
		if sc.Perm == 0 || sc.Perm&^All != 0 {
			t.Fatalf("%q: permissions %b", s, sc.Perm)
		}
		back, err := ParseScope(sc.String())
		if err != nil || back.Perm != sc.Perm || back.Type != sc.Type || back.Context != sc.Context {
			t.Fatalf("%q -> %q -> %+v, %v", s, sc.String(), back, err)
		}
		_ = ParseScopes(s + " " + s)
	})
}
