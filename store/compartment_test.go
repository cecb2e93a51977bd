package store

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/hce-fhir/hce/fhir"
	"github.com/hce-fhir/hce/internal/testdb"
)

// TestMultiPatientCompartment checks that a resource in several patients'
// compartments is stored once, on its first patient's route, and found from
// each patient: compartment search, patient-pinned search and $everything;
// and that it leaves a compartment when its reference changes.
func TestMultiPatientCompartment(t *testing.T) {
	st := New(testdb.Pool(t, MigrateUp))
	ctx := context.Background()
	// Four patients on four different routes.
	var ids []string
	for i := range 4 {
		id := fhir.NewID(int32(1000*i + int(fhir.RouteOf(fhir.RandomID())%1000)))
		if _, _, err := st.Update(ctx, mustParse(t, `{"resourceType":"Patient","id":"`+id+`"}`), 0); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	a, b, c, d := ids[0], ids[1], ids[2], ids[3]
	obs := mustParse(t, `{"resourceType":"Observation","status":"final","code":{"text":"multi"},
		"subject":{"reference":"Patient/`+a+`"},"performer":[{"reference":"Patient/`+b+`"}]}`)
	if _, err := st.Create(ctx, obs); err != nil {
		t.Fatal(err)
	}
	if got := fhir.RouteOf(obs.ID); got != fhir.RouteOf(a) {
		t.Errorf("server-assigned id %s names route %d, want the subject's %d", obs.ID, got, fhir.RouteOf(a))
	}
	// Patient c links to a: c is in a's compartment too.
	if _, _, err := st.Update(ctx, mustParse(t, `{"resourceType":"Patient","id":"`+c+`","link":[{"other":{"reference":"Patient/`+a+`"},"type":"seealso"}]}`), 0); err != nil {
		t.Fatal(err)
	}

	found := func(t *testing.T, typ, query, patient string) []string {
		t.Helper()
		res, err := st.Search(ctx, parseQuery(t, typ, query), Scope{Patient: patient})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, v := range res.Matches {
			got = append(got, v.ID)
		}
		return got
	}
	everything := func(t *testing.T, patient string) []string {
		t.Helper()
		vs, _, err := st.Everything(ctx, patient, time.Time{}, nil, 100, "")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, v := range vs {
			got = append(got, v.Type+"/"+v.ID)
		}
		return got
	}
	want := []string{obs.ID}
	for _, p := range []string{a, b} {
		if got := found(t, "Observation", "", p); !slices.Equal(got, want) {
			t.Errorf("Patient/%s/Observation = %v, want %v", p, got, want)
		}
		if got := found(t, "Observation", "performer=Patient/"+b+"&subject=Patient/"+a, ""); !slices.Equal(got, want) {
			t.Errorf("Observation?performer&subject = %v, want %v", got, want)
		}
		if got := everything(t, p); !slices.Contains(got, "Observation/"+obs.ID) || !slices.Contains(got, "Patient/"+p) {
			t.Errorf("Patient/%s/$everything = %v, want the patient and the Observation", p, got)
		}
	}
	if got := found(t, "Observation", "performer=Patient/"+b, ""); !slices.Equal(got, want) {
		t.Errorf("Observation?performer=Patient/b = %v, want %v", got, want)
	}
	if got := found(t, "Patient", "", a); !slices.Equal(sorted(got), sorted([]string{a, c})) {
		t.Errorf("Patient/a/Patient = %v, want a and c (linked)", got)
	}
	if got := everything(t, a); !slices.Contains(got, "Patient/"+c) {
		t.Errorf("Patient/a/$everything = %v, want the linked Patient/%s", got, c)
	}
	var copies int
	if err := st.pool.QueryRow(ctx, `SELECT count(*) FROM resources WHERE type = 'Observation' AND id = $1`, obs.ID).Scan(&copies); err != nil || copies != 1 {
		t.Errorf("stored %d times (%v), want once", copies, err)
	}

	// The performer changes from b to d: b's compartment loses it, d's gains it.
	moved := mustParse(t, `{"resourceType":"Observation","id":"`+obs.ID+`","status":"final","code":{"text":"multi"},
		"subject":{"reference":"Patient/`+a+`"},"performer":[{"reference":"Patient/`+d+`"}]}`)
	if _, _, err := st.Update(ctx, moved, 0); err != nil {
		t.Fatal(err)
	}
	if got := found(t, "Observation", "", b); len(got) != 0 {
		t.Errorf("after the change Patient/b/Observation = %v, want none", got)
	}
	if got := found(t, "Observation", "", d); !slices.Equal(got, want) {
		t.Errorf("after the change Patient/d/Observation = %v, want %v", got, want)
	}
	// The subject changes from a to b: the resource moves to b's route.
	rehomed := mustParse(t, `{"resourceType":"Observation","id":"`+obs.ID+`","status":"final","code":{"text":"multi"},
		"subject":{"reference":"Patient/`+b+`"}}`)
	if _, _, err := st.Update(ctx, rehomed, 0); err != nil {
		t.Fatal(err)
	}
	for p, w := range map[string][]string{a: nil, b: want, d: nil} {
		if got := found(t, "Observation", "", p); !slices.Equal(got, w) {
			t.Errorf("after moving Patient/%s/Observation = %v, want %v", p, got, w)
		}
	}
	if v, err := st.Read(ctx, "Observation", obs.ID); err != nil || v.VersionID != 3 {
		t.Errorf("read after moving: %v %v", v, err)
	}
	if vs, _, err := st.History(ctx, fhir.HistoryQuery{Type: "Observation", ID: obs.ID, Count: 10}); err != nil || len(vs) != 3 {
		t.Errorf("history after moving: %d versions (%v), want 3", len(vs), err)
	}
	if _, err := st.Delete(ctx, "Observation", obs.ID, 0); err != nil {
		t.Fatal(err)
	}
	var members int
	if err := st.pool.QueryRow(ctx, `SELECT count(*) FROM compartment_members WHERE id = $1`, obs.ID).Scan(&members); err != nil || members != 0 {
		t.Errorf("%d membership rows left after delete (%v)", members, err)
	}
}

// TestClientAssignedID checks that a compartment resource whose id names
// another route than its patient's is found through its claim.
func TestClientAssignedID(t *testing.T) {
	st := New(testdb.Pool(t, MigrateUp))
	ctx := context.Background()
	p := fhir.NewID(7)
	if _, _, err := st.Update(ctx, mustParse(t, `{"resourceType":"Patient","id":"`+p+`"}`), 0); err != nil {
		t.Fatal(err)
	}
	id := "client-" + fhir.RandomID()
	o := mustParse(t, `{"resourceType":"Observation","id":"`+id+`","status":"final","code":{"text":"c"},"subject":{"reference":"Patient/`+p+`"}}`)
	if _, created, err := st.Update(ctx, o, 0); err != nil || !created {
		t.Fatalf("update as create: %v %v", created, err)
	}
	if fhir.RouteOf(id) == 7 {
		t.Skip("the id happens to name the patient's route")
	}
	if v, err := st.Read(ctx, "Observation", id); err != nil || v.VersionID != 1 {
		t.Fatalf("read: %v %v", v, err)
	}
	if _, err := st.VRead(ctx, "Observation", id, 1); err != nil {
		t.Fatalf("vread: %v", err)
	}
	if _, err := st.Create(ctx, mustParse(t, `{"resourceType":"Observation","id":"`+id+`","status":"final","code":{"text":"c"}}`)); err == nil {
		t.Error("a second create of the same id succeeded")
	}
	res, err := st.Search(ctx, parseQuery(t, "Observation", "_include=Observation:subject&_id="+id), Scope{})
	if err != nil || len(res.Matches) != 1 || len(res.Included) != 1 {
		t.Fatalf("search with _include: %+v %v", res, err)
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
