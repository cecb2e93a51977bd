package extract

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hce-fhir/hce/fhir"
)

func parse(t *testing.T, body string) *fhir.Resource {
	t.Helper()
	r, err := fhir.Parse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func parseFile(t *testing.T, name string) *fhir.Resource {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return parse(t, string(b))
}

func show(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}

// TestStrings checks string values: HumanName and Address parts, normalised.
func TestStrings(t *testing.T) {
	x := Extract(parseFile(t, "Patient-example.json"))
	var family []string
	for _, s := range x.Strings {
		if s.Param == "family" {
			family = append(family, s.Value+"="+s.Exact)
		}
	}
	slices.Sort(family)
	if want := []string{"chalmers=Chalmers", "windsor=Windsor"}; !slices.Equal(family, want) {
		t.Errorf("family %v, want %v", family, want)
	}
	accent := Extract(parse(t, `{"resourceType":"Patient","name":[{"family":"Muñoz"}]}`))
	found := false
	for _, s := range accent.Strings {
		if s.Param == "family" && s.Value == "munoz" && s.Exact == "Muñoz" {
			found = true
		}
	}
	if !found {
		t.Errorf("accented family not normalised: %+v", accent.Strings)
	}
}

// TestTokens checks codes, Codings, CodeableConcepts, Identifiers with
// their type, ContactPoints and booleans.
func TestTokens(t *testing.T) {
	x := Extract(parse(t, `{"resourceType":"Patient","gender":"male","active":true,
"identifier":[{"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"MR"}]},"system":"urn:oid:1.2","value":"12345"}],
"telecom":[{"system":"phone","value":"555-1234"}],
"maritalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-MaritalStatus","code":"M","display":"Married"}],"text":"Casado"}}`))
	got := map[string]string{}
	for _, tk := range x.Tokens {
		got[tk.Param] = show(tk.System) + "|" + show(tk.Code) + " text=" + show(tk.Text) + " type=" + show(tk.TypeSystem) + "|" + show(tk.TypeCode)
	}
	want := map[string]string{
		"gender":     "<nil>|male text=<nil> type=<nil>|<nil>",
		"active":     "<nil>|true text=<nil> type=<nil>|<nil>",
		"identifier": "urn:oid:1.2|12345 text=<nil> type=http://terminology.hl7.org/CodeSystem/v2-0203|MR",
		"phone":      "phone|555-1234 text=<nil> type=<nil>|<nil>",
		"telecom":    "phone|555-1234 text=<nil> type=<nil>|<nil>",
	}
	for p, w := range want {
		if got[p] != w {
			t.Errorf("%s: %q, want %q", p, got[p], w)
		}
	}
	for _, tk := range x.Tokens {
		if tk.Param == "_id" || tk.Param == "_lastUpdated" {
			t.Errorf("%s is answered from the resource row and must not be indexed", tk.Param)
		}
	}
}

// TestDates checks date, dateTime and Period values as ranges.
func TestDates(t *testing.T) {
	x := Extract(parse(t, `{"resourceType":"Encounter","status":"finished","class":{"code":"AMB"},
"period":{"start":"2015-07-21T10:00:00Z"}}`))
	var d *Date
	for i := range x.Dates {
		if x.Dates[i].Param == "date" {
			d = &x.Dates[i]
		}
	}
	if d == nil {
		t.Fatalf("no date value: %+v", x.Dates)
	}
	if !d.Lo.Equal(time.Date(2015, 7, 21, 10, 0, 0, 0, time.UTC)) || !d.Hi.Equal(MaxTime) {
		t.Errorf("open period gave [%v, %v)", d.Lo, d.Hi)
	}
	p := Extract(parseFile(t, "Patient-example.json"))
	for _, d := range p.Dates {
		if d.Param == "birthdate" {
			if !d.Lo.Equal(time.Date(1974, 12, 25, 0, 0, 0, 0, time.UTC)) || !d.Hi.Equal(time.Date(1974, 12, 26, 0, 0, 0, 0, time.UTC)) {
				t.Errorf("birthdate [%v, %v)", d.Lo, d.Hi)
			}
			return
		}
	}
	t.Error("no birthdate")
}

// TestQuantitiesReferencesComposites checks an Observation with components.
func TestQuantitiesReferencesComposites(t *testing.T) {
	x := Extract(parseFile(t, "Observation-blood-pressure.json"))
	var refs []string
	for _, r := range x.References {
		refs = append(refs, r.Param+"="+show(r.TargetType)+"/"+show(r.TargetID))
	}
	for _, want := range []string{"subject=Patient/example", "patient=Patient/example"} {
		if !slices.Contains(refs, want) {
			t.Errorf("references %v lack %s", refs, want)
		}
	}
	var quantities []string
	for _, q := range x.Quantities {
		if q.Param == "component-value-quantity" {
			quantities = append(quantities, q.Value+" "+show(q.System)+" "+show(q.Code))
		}
	}
	slices.Sort(quantities)
	if want := []string{"107 http://unitsofmeasure.org mm[Hg]", "60 http://unitsofmeasure.org mm[Hg]"}; !slices.Equal(quantities, want) {
		t.Errorf("component quantities %v, want %v", quantities, want)
	}
	var combos []string
	for _, c := range x.Composites {
		if c.Param == "component-code-value-quantity" {
			combos = append(combos, show(c.C1Code)+"$"+show(c.C2Number))
		}
	}
	slices.Sort(combos)
	// Each component pairs its own code with its own value, never another's.
	if want := []string{"271649006$107", "8462-4$60", "8480-6$107", "bp-s$107"}; !slices.Equal(combos, want) {
		t.Errorf("composites %v, want %v", combos, want)
	}
}

// TestReferenceForms checks absolute, contained, logical and canonical references.
func TestReferenceForms(t *testing.T) {
	x := Extract(parse(t, `{"resourceType":"Observation","status":"final","code":{"text":"x"},
"subject":{"reference":"http://other.org/fhir/Patient/p9"},
"performer":[{"reference":"#c1"},{"identifier":{"system":"http://npi","value":"42"}}],
"contained":[{"resourceType":"Practitioner","id":"c1"}]}`))
	var subject *Reference
	for i := range x.References {
		if x.References[i].Param == "subject" {
			subject = &x.References[i]
		}
		if x.References[i].Param == "performer" {
			t.Errorf("a #contained reference was indexed: %+v", x.References[i])
		}
	}
	if subject == nil || show(subject.TargetID) != "p9" || show(subject.URL) != "http://other.org/fhir/Patient/p9" {
		t.Errorf("absolute subject %+v", subject)
	}
	found := false
	for _, tk := range x.Tokens {
		if tk.Param == "performer:identifier" && show(tk.System) == "http://npi" && show(tk.Code) == "42" {
			found = true
		}
	}
	if !found {
		t.Error("the performer's identifier is not indexed for :identifier")
	}
}

// BenchmarkExtract measures indexing a blood-pressure Observation.
func BenchmarkExtract(b *testing.B) {
	body, err := os.ReadFile("testdata/Observation-blood-pressure.json")
	if err != nil {
		b.Fatal(err)
	}
	r, err := fhir.Parse(body)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		Extract(r)
	}
}

// TestTimingIsOneRange checks R4's rule for Timing: only the outer limits
// are searched, from the first event to the last.
func TestTimingIsOneRange(t *testing.T) {
	x := Extract(parse(t, `{"resourceType":"Observation","status":"final","code":{"text":"x"},
"effectiveTiming":{"event":["2020-03-01","2020-01-01T08:00:00Z"],"repeat":{"boundsPeriod":{"start":"2019-12-30","end":"2020-02-01"}}}}`))
	var got []Date
	for _, d := range x.Dates {
		if d.Param == "date" {
			got = append(got, d)
		}
	}
	if len(got) != 1 {
		t.Fatalf("%d rows for one Timing: %+v", len(got), got)
	}
	if !got[0].Lo.Equal(time.Date(2019, 12, 30, 0, 0, 0, 0, time.UTC)) || !got[0].Hi.Equal(time.Date(2020, 3, 2, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("Timing gave [%v, %v), want [2019-12-30, 2020-03-02)", got[0].Lo, got[0].Hi)
	}
}

// TestIndexRowsBounded checks that one resource gives at most maxValues
// index rows however its values are nested: one name of 50,000 given
// names is one value of name but 50,000 rows.
func TestIndexRowsBounded(t *testing.T) {
	given := make([]string, 50_000)
	for i := range given {
		given[i] = `"g` + strconv.Itoa(i) + `"`
	}
	x := Extract(parse(t, `{"resourceType":"Patient","gender":"female","name":[{"given":[`+strings.Join(given, ",")+`]}]}`))
	if n := x.rows(); n != maxValues {
		t.Errorf("%d index rows, want the bound %d", n, maxValues)
	}
	gender := false
	for _, tok := range x.Tokens {
		gender = gender || tok.Param == "gender"
	}
	if !gender {
		t.Error("the values before the bound were dropped too: no gender")
	}
}
