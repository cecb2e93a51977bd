package main

import (
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/hce-fhir/hce/rest"
)

// searchFixture stores a small clinical record set whose ids are chosen by
// the test, so that expected result sets can be written down exactly. A
// per-test prefix keeps runs on a shared database apart.
type searchFixture struct {
	c      *client
	prefix string
}

func newSearchFixture(t *testing.T, c *client, prefix string) *searchFixture {
	t.Helper()
	f := &searchFixture{c: c, prefix: prefix}
	put := func(res map[string]any) {
		t.Helper()
		typ := res["resourceType"].(string)
		res["id"] = prefix + res["id"].(string)
		c.do("PUT", "/fhir/"+typ+"/"+res["id"].(string), res).must(t, 201)
	}
	ref := func(typ, id string) map[string]any { return map[string]any{"reference": typ + "/" + prefix + id} }
	tag := []any{map[string]any{"system": "http://example.org/run", "code": prefix}}
	pat := func(id, family, given, gender, birth, mrn string) map[string]any {
		return map[string]any{"resourceType": "Patient", "id": id, "meta": map[string]any{"tag": tag},
			"name":   []any{map[string]any{"family": family, "given": []any{given}}},
			"gender": gender, "birthDate": birth,
			"identifier": []any{map[string]any{"system": "http://example.org/mrn", "value": prefix + mrn}},
			"address":    []any{map[string]any{"city": "Santiago", "country": "CL"}},
		}
	}
	put(pat("p1", "Muñoz", "Ana", "female", "1970-03-15", "m1"))
	put(pat("p2", "Munoz-Soto", "Bruno", "male", "1985-11-02", "m2"))
	put(pat("p3", "Smith", "Carla", "female", "2001-06-30", "m3"))
	obs := func(id, patient, code, date string, value float64, unit string) map[string]any {
		return map[string]any{"resourceType": "Observation", "id": id, "status": "final", "meta": map[string]any{"tag": tag},
			"code":              map[string]any{"coding": []any{map[string]any{"system": "http://loinc.org", "code": code}}, "text": "vital " + code},
			"subject":           ref("Patient", patient),
			"effectiveDateTime": date,
			"valueQuantity":     map[string]any{"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit},
		}
	}
	put(obs("o1", "p1", "8867-4", "2014-05-01T10:00:00Z", 72, "/min"))
	put(obs("o2", "p1", "8867-4", "2016-02-10T08:30:00Z", 90, "/min"))
	put(obs("o3", "p2", "8867-4", "2015-07-21", 65, "/min"))
	put(obs("o4", "p2", "29463-7", "2017-01-01T00:00:00Z", 80.5, "kg"))
	put(obs("o5", "p3", "29463-7", "2013-12-31T23:59:59Z", 55, "kg"))
	enc := func(id, patient, start, end string) map[string]any {
		return map[string]any{"resourceType": "Encounter", "id": id, "status": "finished", "meta": map[string]any{"tag": tag},
			"class":   map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
			"subject": ref("Patient", patient), "period": map[string]any{"start": start, "end": end}}
	}
	put(enc("e1", "p1", "2016-02-10T08:00:00Z", "2016-02-10T09:00:00Z"))
	put(enc("e2", "p2", "2015-07-21T10:00:00Z", "2015-07-25T12:00:00Z"))
	// o2 happened during e1.
	o2 := obs("o2", "p1", "8867-4", "2016-02-10T08:30:00Z", 90, "/min")
	o2["id"] = prefix + "o2"
	o2["encounter"] = ref("Encounter", "e1")
	c.do("PUT", "/fhir/Observation/"+prefix+"o2", o2).must(t, 200)
	return f
}

// ids runs a search and returns the ids of the match entries, without the
// fixture prefix, sorted unless the query sorts.
func (f *searchFixture) ids(t *testing.T, query string) []string {
	t.Helper()
	r := f.c.do("GET", "/fhir/"+query, nil).must(t, 200)
	if r.str("type") != "searchset" {
		t.Fatalf("%s: bundle type %q", query, r.str("type"))
	}
	var out []string
	for _, e := range r.entries(t) {
		s, _ := e["search"].(map[string]any)
		if s["mode"] == "include" || s["mode"] == "outcome" {
			continue
		}
		res := e["resource"].(map[string]any)
		out = append(out, strings.TrimPrefix(res["id"].(string), f.prefix))
	}
	if !strings.Contains(query, "_sort") {
		sort.Strings(out)
	}
	return out
}

func TestSearchParameters(t *testing.T) {
	c := testServer(t, rest.Options{})
	f := newSearchFixture(t, c, "sp"+uniq+"-")
	mrn := url.QueryEscape("http://example.org/mrn|sp" + uniq + "-")
	tagged := "_tag=" + url.QueryEscape("http://example.org/run|sp"+uniq+"-")
	tests := []struct {
		name, query string
		want        []string
	}{
		{"string starts-with, accent-insensitive", "Patient?" + tagged + "&family=munoz", []string{"p1", "p2"}},
		{"string is case-insensitive", "Patient?" + tagged + "&name=ANA", []string{"p1"}},
		{"string :exact", "Patient?" + tagged + "&family:exact=Muñoz", []string{"p1"}},
		{"string :exact is exact", "Patient?" + tagged + "&family:exact=munoz", nil},
		{"string :contains", "Patient?" + tagged + "&family:contains=soto", []string{"p2"}},
		{"string address", "Patient?" + tagged + "&address-city=santiago", []string{"p1", "p2", "p3"}},
		{"token code", "Patient?" + tagged + "&gender=female", []string{"p1", "p3"}},
		{"token :not", "Patient?" + tagged + "&gender:not=female", []string{"p2"}},
		{"token system|code", "Patient?identifier=" + mrn + "m2", []string{"p2"}},
		{"token OR", "Patient?identifier=" + mrn + "m1," + mrn + "m3", []string{"p1", "p3"}},
		{"token system| any code", "Observation?" + tagged + "&code=http://loinc.org|", []string{"o1", "o2", "o3", "o4", "o5"}},
		{"token |code needs no system", "Observation?" + tagged + "&code=|8867-4", nil},
		{"token :text", "Observation?" + tagged + "&code:text=vital%20294", []string{"o4", "o5"}},
		{"date eq day", "Patient?" + tagged + "&birthdate=1970-03-15", []string{"p1"}},
		{"date ge", "Observation?" + tagged + "&date=ge2015-07-21", []string{"o2", "o3", "o4"}},
		{"date lt year", "Observation?" + tagged + "&date=lt2015", []string{"o1", "o5"}},
		{"date AND range", "Observation?" + tagged + "&date=ge2014&date=lt2016", []string{"o1", "o3"}},
		{"date on a Period", "Encounter?" + tagged + "&date=2015-07", []string{"e2"}},
		{"date sa", "Encounter?" + tagged + "&date=sa2016-01-01", []string{"e1"}},
		{"date AND range within a Period", "Encounter?" + tagged + "&date=ge2015-07-22&date=le2015-07-23", []string{"e2"}},
		{"date AND range a Period spans", "Encounter?" + tagged + "&date=ge2015-07-24&date=le2015-07-22", []string{"e2"}},
		{"date AND ranges that no row meets", "Encounter?" + tagged + "&date=gt2016-03&date=lt2015-07", nil},
		{"quantity", "Observation?" + tagged + "&value-quantity=gt70|http://unitsofmeasure.org|/min", []string{"o1", "o2"}},
		{"quantity without unit", "Observation?" + tagged + "&value-quantity=80.5", []string{"o4"}},
		{"reference Type/id", "Observation?subject=Patient/sp" + uniq + "-p2", []string{"o3", "o4"}},
		{"reference id", "Observation?patient=sp" + uniq + "-p1", []string{"o1", "o2"}},
		{"reference :Type", "Observation?subject:Patient=sp" + uniq + "-p3", []string{"o5"}},
		{"_id", "Patient?_id=sp" + uniq + "-p1,sp" + uniq + "-p3", []string{"p1", "p3"}},
		{"composite code-value-quantity", "Observation?" + tagged + "&code-value-quantity=http://loinc.org|29463-7$gt60", []string{"o4"}},
		{":missing=true", "Observation?" + tagged + "&encounter:missing=true", []string{"o1", "o3", "o4", "o5"}},
		{":missing=false", "Observation?" + tagged + "&encounter:missing=false", []string{"o2"}},
		{"chain", "Observation?" + tagged + "&subject:Patient.name=smith", []string{"o5"}},
		{"reverse chain _has", "Patient?" + tagged + "&_has:Observation:subject:code=29463-7", []string{"p2", "p3"}},
		{"sort by date descending", "Observation?" + tagged + "&_sort=-date", []string{"o4", "o2", "o3", "o1", "o5"}},
		{"sort by two keys", "Observation?" + tagged + "&_sort=code,date", []string{"o5", "o4", "o1", "o3", "o2"}},
		{"compartment search", "Patient/sp" + uniq + "-p2/Observation", []string{"o3", "o4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := f.ids(t, tt.query); !slices.Equal(got, tt.want) {
				t.Errorf("%s\n got %v\nwant %v", tt.query, got, tt.want)
			}
		})
	}
}

func TestSearchResultShaping(t *testing.T) {
	c := testServer(t, rest.Options{})
	newSearchFixture(t, c, "rs"+uniq+"-")
	tagged := "_tag=" + url.QueryEscape("http://example.org/run|rs"+uniq+"-")

	t.Run("paging follows next links over every match once", func(t *testing.T) {
		var seen []string
		next := "/fhir/Observation?" + tagged + "&_count=2&_sort=date"
		for pages := 0; next != ""; pages++ {
			if pages > 5 {
				t.Fatal("too many pages")
			}
			r := c.do("GET", next, nil).must(t, 200)
			for _, e := range r.entries(t) {
				seen = append(seen, strings.TrimPrefix(e["resource"].(map[string]any)["id"].(string), "rs"+uniq+"-"))
			}
			next = ""
			for _, l := range r.body["link"].([]any) {
				if l := l.(map[string]any); l["relation"] == "next" {
					u, _ := url.Parse(l["url"].(string))
					next = u.RequestURI()
				}
			}
		}
		if want := []string{"o5", "o1", "o3", "o2", "o4"}; !slices.Equal(seen, want) {
			t.Errorf("pages gave %v, want %v", seen, want)
		}
	})

	t.Run("_include and _revinclude", func(t *testing.T) {
		r := c.do("GET", "/fhir/Observation?"+tagged+"&code=29463-7&_include=Observation:subject", nil).must(t, 200)
		var inc []string
		for _, e := range r.entries(t) {
			if e["search"].(map[string]any)["mode"] == "include" {
				inc = append(inc, e["resource"].(map[string]any)["id"].(string))
			}
		}
		sort.Strings(inc)
		if !slices.Equal(inc, []string{"rs" + uniq + "-p2", "rs" + uniq + "-p3"}) {
			t.Errorf("included %v", inc)
		}
		r = c.do("GET", "/fhir/Encounter?"+tagged+"&_id=rs"+uniq+"-e1&_revinclude=Observation:encounter", nil).must(t, 200)
		var rev []string
		for _, e := range r.entries(t) {
			rev = append(rev, e["resource"].(map[string]any)["id"].(string))
		}
		sort.Strings(rev)
		if !slices.Equal(rev, []string{"rs" + uniq + "-e1", "rs" + uniq + "-o2"}) {
			t.Errorf("revinclude gave %v", rev)
		}
	})

	t.Run("_total and _summary=count", func(t *testing.T) {
		r := c.do("GET", "/fhir/Observation?"+tagged+"&_total=accurate&_count=1", nil).must(t, 200)
		if r.str("total") != "5" {
			t.Errorf("total %q", r.str("total"))
		}
		r = c.do("GET", "/fhir/Observation?"+tagged+"&_summary=count", nil).must(t, 200)
		if r.str("total") != "5" || len(r.entries(t)) != 0 {
			t.Errorf("_summary=count gave total %q and %d entries", r.str("total"), len(r.entries(t)))
		}
	})

	t.Run("_elements keeps the named elements", func(t *testing.T) {
		r := c.do("GET", "/fhir/Patient?_id=rs"+uniq+"-p1&_elements=gender", nil).must(t, 200)
		res := r.entries(t)[0]["resource"].(map[string]any)
		if res["gender"] != "female" || res["name"] != nil || res["id"] != "rs"+uniq+"-p1" {
			t.Errorf("_elements gave %v", res)
		}
	})

	t.Run("POST _search", func(t *testing.T) {
		r := c.do("POST", "/fhir/Patient/_search", "_id=rs"+uniq+"-p2", "Content-Type", "application/x-www-form-urlencoded").must(t, 200)
		if len(r.entries(t)) != 1 {
			t.Errorf("POST _search: %s", r.raw)
		}
	})

	t.Run("$everything", func(t *testing.T) {
		r := c.do("GET", "/fhir/Patient/rs"+uniq+"-p1/$everything", nil).must(t, 200)
		var got []string
		for _, e := range r.entries(t) {
			got = append(got, e["resource"].(map[string]any)["id"].(string))
		}
		sort.Strings(got)
		if want := []string{"rs" + uniq + "-e1", "rs" + uniq + "-o1", "rs" + uniq + "-o2", "rs" + uniq + "-p1"}; !slices.Equal(got, want) {
			t.Errorf("$everything gave %v, want %v", got, want)
		}
	})

	t.Run("unknown parameter warns, strict rejects", func(t *testing.T) {
		r := c.do("GET", "/fhir/Patient?"+tagged+"&nonsense=1", nil).must(t, 200)
		if !strings.Contains(string(r.raw), "nonsense") {
			t.Errorf("no warning about the unknown parameter: %s", r.raw)
		}
		c.do("GET", "/fhir/Patient?nonsense=1", nil, "Prefer", "handling=strict").must(t, 400).outcome(t, "nonsense")
	})

	t.Run("malformed values are 400 naming the parameter", func(t *testing.T) {
		c.do("GET", "/fhir/Observation?date=ge2015-13-45", nil).must(t, 400).outcome(t, "date")
		c.do("GET", "/fhir/Observation?value-quantity=xx5", nil).must(t, 400).outcome(t, "value-quantity")
		c.do("GET", "/fhir/Patient?_count=-1", nil).must(t, 400).outcome(t, "_count")
		c.do("GET", "/fhir/Patient?_sort=nonsense", nil).must(t, 400).outcome(t, "_sort")
	})
}

// TestDateRangesOnARepeatingParameter checks that ANDed ranges on a date
// parameter that repeats may each be met by another value:
// MedicationRequest.date is the timing of every dosage instruction.
func TestDateRangesOnARepeatingParameter(t *testing.T) {
	c := testServer(t, rest.Options{})
	id := "mr" + uniq
	dose := func(day string) map[string]any {
		return map[string]any{"timing": map[string]any{"event": []any{day}}}
	}
	c.do("PUT", "/fhir/MedicationRequest/"+id, map[string]any{"resourceType": "MedicationRequest", "id": id,
		"status": "active", "intent": "order", "subject": map[string]any{"reference": "Patient/" + id},
		"medicationCodeableConcept": map[string]any{"text": "aspirin"},
		"dosageInstruction":         []any{dose("2010-05-01"), dose("2020-05-01")}}).must(t, 201)
	for _, tt := range []struct {
		query string
		want  bool
	}{
		{"date=ge2019&date=lt2011", true}, // one dose meets each
		{"date=gt2020-05-01&date=lt2011", false},
		{"date=2010-05-01&date=2020-05-01", true},
	} {
		entries := c.do("GET", "/fhir/MedicationRequest?_id="+id+"&"+tt.query, nil).must(t, 200).entries(t)
		if got := len(entries) == 1; got != tt.want {
			t.Errorf("%s: found %v, want %v", tt.query, got, tt.want)
		}
	}
}
