package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/hce-fhir/hce/auth"
	"github.com/hce-fhir/hce/rest"
)

// TestPatientContext checks that patient/ scopes reach only the compartment
// of the token's patient: reads elsewhere are 404, searches (with
// _include, _revinclude, chains, _has), history and $everything see only
// the compartment, and writes outside it are 403.
func TestPatientContext(t *testing.T) {
	s := newAuthServer(t, rest.Options{})
	admin := s.with("system/*.cruds", "")
	fam := "Ctx" + uniq
	a := admin.do("POST", "/fhir/Patient", patient(fam+"A")).must(t, 201).str("id")
	b := admin.do("POST", "/fhir/Patient", patient(fam+"B")).must(t, 201).str("id")
	pr := admin.do("POST", "/fhir/Practitioner", map[string]any{"resourceType": "Practitioner",
		"name": []any{map[string]any{"family": fam}}}).must(t, 201).str("id")
	obsOf := func(p, ident string) map[string]any {
		o := observation("Patient/" + p)
		o["performer"] = []any{map[string]any{"reference": "Practitioner/" + pr}}
		o["identifier"] = []any{map[string]any{"value": ident}}
		return o
	}
	oa := admin.do("POST", "/fhir/Observation", obsOf(a, "oa-"+uniq)).must(t, 201).str("id")
	ob := admin.do("POST", "/fhir/Observation", obsOf(b, "ob-"+uniq)).must(t, 201).str("id")

	reader := s.with("patient/*.rs launch/patient", a)
	ids := func(r *response) []string {
		var out []string
		for _, e := range r.entries(t) {
			u, _ := e["fullUrl"].(string)
			if i := strings.Index(u, "/fhir/"); i >= 0 {
				out = append(out, u[i+len("/fhir/"):])
			}
		}
		return out
	}
	only := func(t *testing.T, r *response, allowed ...string) {
		t.Helper()
		for _, ref := range ids(r) {
			ok := false
			for _, a := range allowed {
				ok = ok || ref == a
			}
			if !ok {
				t.Fatalf("%s is outside the patient's reach; got %v", ref, ids(r))
			}
		}
	}
	mine := []string{"Patient/" + a, "Observation/" + oa, "Practitioner/" + pr}

	t.Run("reads", func(t *testing.T) {
		reader.do("GET", "/fhir/Patient/"+a, nil).must(t, 200)
		reader.do("GET", "/fhir/Observation/"+oa, nil).must(t, 200)
		reader.do("GET", "/fhir/Practitioner/"+pr, nil).must(t, 200) // shared, outside every compartment
		other := reader.do("GET", "/fhir/Patient/"+b, nil).must(t, 404)
		unknown := reader.do("GET", "/fhir/Patient/no-such-"+uniq, nil).must(t, 404)
		if strings.Replace(other.outcome(t), b, "X", 1) != strings.Replace(unknown.outcome(t), "no-such-"+uniq, "X", 1) {
			t.Fatalf("another patient's 404 differs from an unknown one's:\n%s\n%s", other.raw, unknown.raw)
		}
		reader.do("GET", "/fhir/Observation/"+ob, nil).must(t, 404)
		reader.do("GET", "/fhir/Observation/"+ob+"/_history/1", nil).must(t, 404)
		reader.do("GET", "/fhir/Observation/"+ob+"/_history", nil).must(t, 404)
	})

	t.Run("searches", func(t *testing.T) {
		r := reader.do("GET", "/fhir/Observation?code=8867-4", nil).must(t, 200)
		only(t, r, mine...)
		if len(ids(r)) != 1 {
			t.Fatalf("want only Observation/%s: %v", oa, ids(r))
		}
		only(t, reader.do("GET", "/fhir/Patient?family="+fam+"B", nil).must(t, 200), mine...)
		only(t, reader.do("GET", "/fhir/Patient?name="+fam, nil).must(t, 200), mine...)
		only(t, reader.do("GET", "/fhir/Observation?_include=Observation:subject&_include=Observation:performer", nil).must(t, 200), mine...)
		only(t, reader.do("GET", "/fhir/Practitioner?_id="+pr+"&_revinclude=Observation:performer", nil).must(t, 200), mine...)
		only(t, reader.do("GET", "/fhir/Patient?_revinclude=Observation:subject", nil).must(t, 200), mine...)
		only(t, reader.do("GET", "/fhir/Observation?subject:Patient.name="+fam+"B", nil).must(t, 200), mine...)
		only(t, reader.do("GET", "/fhir/Patient?_has:Observation:subject:identifier=ob-"+uniq, nil).must(t, 200), mine...)
		// From shared resources, a filter through another patient's data is refused.
		reader.do("GET", "/fhir/Practitioner?_has:Observation:performer:subject=Patient/"+b, nil).must(t, 403)
		if n := len(ids(reader.do("GET", "/fhir/Patient/"+b+"/Observation", nil).must(t, 200))); n != 0 {
			t.Fatalf("another patient's compartment search returned %d", n)
		}
		only(t, reader.do("GET", "/fhir/Patient/"+a+"/Observation", nil).must(t, 200), mine...)
		only(t, reader.do("GET", "/fhir/Observation/_history", nil).must(t, 200), mine...)
		// The system history holds shared resources too (any Practitioner is
		// readable with patient/*.rs), but of the compartments only patient a's.
		for _, ref := range ids(reader.do("GET", "/fhir/_history?_count=1000", nil).must(t, 200)) {
			if typ, _, _ := strings.Cut(ref, "/"); auth.InPatientCompartment(typ) && !slices.Contains(mine, ref) {
				t.Fatalf("%s is outside the patient's reach", ref)
			}
		}
	})

	t.Run("$everything", func(t *testing.T) {
		reader.do("GET", "/fhir/Patient/"+b+"/$everything", nil).must(t, 404)
		r := reader.do("GET", "/fhir/Patient/"+a+"/$everything", nil).must(t, 200)
		only(t, r, mine...)
		if len(ids(r)) < 2 {
			t.Fatalf("$everything of the own patient: %v", ids(r))
		}
		// Narrower scopes narrow $everything: no Practitioner without its scope.
		only(t, s.with("patient/Patient.rs patient/Observation.rs", a).do("GET", "/fhir/Patient/"+a+"/$everything", nil).must(t, 200),
			"Patient/"+a, "Observation/"+oa)
	})

	writer := s.with("patient/*.cruds", a)
	t.Run("writes", func(t *testing.T) {
		writer.do("POST", "/fhir/Observation", obsOf(a, "w-"+uniq)).must(t, 201)
		writer.do("POST", "/fhir/Observation", obsOf(b, "w-"+uniq)).must(t, 403).outcome(t, "compartment")
		moved := obsOf(a, "x")
		moved["id"] = ob
		writer.do("PUT", "/fhir/Observation/"+ob, moved).must(t, 403) // taking over B's resource
		mineObs := obsOf(b, "x")
		mineObs["id"] = oa
		writer.do("PUT", "/fhir/Observation/"+oa, mineObs).must(t, 403) // moving A's resource to B
		writer.do("DELETE", "/fhir/Observation/"+ob, nil).must(t, 403)
		writer.do("PATCH", "/fhir/Observation/"+ob, `[{"op":"replace","path":"/status","value":"amended"}]`,
			"Content-Type", "application/json-patch+json").must(t, 404)
		writer.do("POST", "/fhir/Patient", patient("New")).must(t, 403)
		admin.do("GET", "/fhir/Observation/"+ob, nil).must(t, 200)
		// A conditional create sees only the compartment: B's identifier does
		// not match, so nothing about B leaks and a new Observation is made.
		r := writer.do("POST", "/fhir/Observation", obsOf(a, "ob-"+uniq), "If-None-Exist", "identifier=ob-"+uniq).must(t, 201)
		if r.str("id") == ob {
			t.Fatal("a conditional create matched another patient's resource")
		}
		writer.do("PUT", "/fhir/Observation?identifier=ob-"+uniq, obsOf(a, "ob-"+uniq)).must(t, 200) // the own match
	})

	t.Run("transactions", func(t *testing.T) {
		tx := bundleOf("transaction",
			post("urn:uuid:1", obsOf(a, "t1-"+uniq)),
			post("urn:uuid:2", obsOf(b, "t2-"+uniq)))
		writer.do("POST", "/fhir", tx).must(t, 403)
		if n := len(admin.do("GET", "/fhir/Observation?identifier=t1-"+uniq, nil).must(t, 200).entries(t)); n != 0 {
			t.Fatal("a denied transaction stored an entry")
		}
		batch := bundleOf("batch",
			post("urn:uuid:1", obsOf(a, "t1-"+uniq)),
			post("urn:uuid:2", obsOf(b, "t2-"+uniq)),
			request("GET", "Observation/"+ob, nil),
			request("GET", "Observation?identifier=ob-"+uniq, nil))
		r := writer.do("POST", "/fhir", batch).must(t, 200)
		e := r.entries(t)
		if !strings.HasPrefix(entryStatus(e[0]), "201") || !strings.HasPrefix(entryStatus(e[1]), "403") ||
			!strings.HasPrefix(entryStatus(e[2]), "404") || strings.Contains(string(r.raw), `"id":"`+ob+`"`) {
			t.Fatalf("batch: %s", r.raw)
		}
	})

	t.Run("no patient claim, no patient access", func(t *testing.T) {
		s.with("patient/*.rs", "").do("GET", "/fhir/Observation/"+oa, nil).must(t, 403)
	})
}
