package bench

import (
	"strconv"
	"strings"
	"time"
)

// Expect says what answers a pattern should find.
type Expect int

// The expectations.
const (
	// Always: every answer finds something (the values were chosen so).
	Always Expect = iota
	// Some: at least one answer of a run finds something; the values vary
	// over patients who may have none.
	Some
)

// Pattern is one kind of request of the mix.
type Pattern struct {
	// Name identifies the pattern in reports and in Config.Patterns.
	Name string
	// Expect is what its answers should find.
	Expect Expect
	// Pages > 1 follows next links: each request reads page 1 to page
	// Pages (or the last page) and only the last page read is timed.
	Pages int
	// Build returns request i's target under the FHIR base, or false when
	// the facts hold nothing to build it from.
	Build func(f *Facts, i int) (string, bool)
}

// Patterns is the query mix: reads, searches of every parameter type
// alone and combined, modifiers, chains, reverse chains, includes, sorting,
// totals, compartments, $everything and paging, each with values found in
// the loaded data (Facts).
func Patterns() []Pattern {
	return []Pattern{
		// Reads.
		{Name: "read-patient", Build: withPatient(nil, func(p *PatientFacts, _ int) string { return "Patient/" + p.ID })},
		{Name: "vread-patient", Build: withPatient(func(p *PatientFacts) bool { return p.Version != "" }, func(p *PatientFacts, _ int) string {
			return "Patient/" + p.ID + "/_history/" + p.Version
		})},
		{Name: "read-observation", Build: func(f *Facts, i int) (string, bool) {
			if len(f.ObservationIDs) == 0 {
				return "", false
			}
			return "Observation/" + f.ObservationIDs[i%len(f.ObservationIDs)], true
		}},

		// Patient: token, string (prefix, :exact, :contains), date, combined.
		{Name: "patient-identifier", Build: withPatient(func(p *PatientFacts) bool { return p.Identifier != "" }, func(p *PatientFacts, _ int) string {
			return "Patient?identifier=" + qv(p.Identifier)
		})},
		{Name: "patient-family", Build: withPatient(hasFamily, func(p *PatientFacts, _ int) string {
			return "Patient?family=" + qv(stem(p.Family))
		})},
		{Name: "patient-name-given", Build: withPatient(func(p *PatientFacts) bool { return len(p.Given) >= 3 }, func(p *PatientFacts, _ int) string {
			return "Patient?name=" + qv(strings.ToLower(p.Given[:3]))
		})},
		{Name: "patient-family-exact", Build: withPatient(hasFamily, func(p *PatientFacts, _ int) string {
			return "Patient?family:exact=" + qv(p.Family)
		})},
		{Name: "patient-name-contains", Build: withPatient(func(p *PatientFacts) bool { return len(p.Family) >= 5 }, func(p *PatientFacts, _ int) string {
			return "Patient?name:contains=" + qv(p.Family[1:4])
		})},
		{Name: "patient-birthdate", Build: withPatient(func(p *PatientFacts) bool { return len(p.BirthDate) == 10 }, func(p *PatientFacts, _ int) string {
			return "Patient?birthdate=" + p.BirthDate
		})},
		{Name: "patient-gender-birthdate", Build: func(f *Facts, _ int) (string, bool) {
			return "Patient?gender=female&birthdate=ge" + strconv.Itoa(f.GenderYear) + "&_count=20", f.GenderYear > 0
		}},
		{Name: "patient-given-gender", Build: withPatient(func(p *PatientFacts) bool { return p.Given != "" && p.Gender != "" }, func(p *PatientFacts, _ int) string {
			return "Patient?given=" + qv(p.Given) + "&gender=" + p.Gender
		})},
		{Name: "patient-has-observation", Build: withPatient(hasCodes, func(p *PatientFacts, i int) string {
			return "Patient?_has:Observation:patient:code=" + qv(p.Codes[i%len(p.Codes)])
		})},
		{Name: "patient-revinclude-encounter", Build: withPatient(hasEncounters, func(p *PatientFacts, _ int) string {
			return "Patient?_id=" + qv(p.ID) + "&_revinclude=Encounter:patient"
		})},

		// Observation of one patient.
		{Name: "obs-patient-code", Build: withPatient(hasCodes, func(p *PatientFacts, i int) string {
			return "Observation?patient=" + qv(p.ID) + "&code=" + qv(p.Codes[i%len(p.Codes)])
		})},
		{Name: "obs-patient-code-system", Build: withPatient(hasCodes, func(p *PatientFacts, i int) string {
			return "Observation?subject=Patient/" + qv(p.ID) + "&code=" + qv(loincSystem+"|"+p.Codes[i%len(p.Codes)])
		})},
		{Name: "obs-patient-5-codes", Build: withPatient(func(p *PatientFacts) bool { return len(p.Codes) >= 5 }, func(p *PatientFacts, _ int) string {
			return "Observation?patient=" + qv(p.ID) + "&code=" + qv(strings.Join(p.Codes[:5], ","))
		})},
		{Name: "obs-patient-category", Build: withPatient(func(p *PatientFacts) bool { return p.Vitals }, func(p *PatientFacts, _ int) string {
			return "Observation?patient=" + qv(p.ID) + "&category=" + vitalSigns
		})},
		{Name: "obs-patient-category-not", Build: withPatient(func(p *PatientFacts) bool { return p.Others }, func(p *PatientFacts, _ int) string {
			return "Observation?patient=" + qv(p.ID) + "&category:not=" + vitalSigns
		})},
		{Name: "obs-patient-date", Build: withPatient(func(p *PatientFacts) bool { return p.LastYear > 0 }, func(p *PatientFacts, _ int) string {
			return "Observation?patient=" + qv(p.ID) + "&date=ge" + strconv.Itoa(p.LastYear)
		})},
		{Name: "obs-patient-quantity-missing", Expect: Some, Build: withPatient(func(p *PatientFacts) bool { return p.Unquantified }, func(p *PatientFacts, _ int) string {
			return "Observation?patient=" + qv(p.ID) + "&value-quantity:missing=true"
		})},
		{Name: "obs-patient-sort-date", Build: withPatient(hasCodes, func(p *PatientFacts, _ int) string {
			return "Observation?patient=" + qv(p.ID) + "&_sort=-date&_count=10"
		})},
		{Name: "obs-patient-count", Build: withPatient(hasCodes, func(p *PatientFacts, _ int) string {
			return "Observation?patient=" + qv(p.ID) + "&_summary=count"
		})},
		{Name: "obs-patient-include", Build: withPatient(hasCodes, func(p *PatientFacts, i int) string {
			return "Observation?patient=" + qv(p.ID) + "&code=" + qv(p.Codes[i%len(p.Codes)]) + "&_include=Observation:patient"
		})},

		// Observation across patients.
		{Name: "obs-code-common", Build: common(func(f *Facts) string { return "Observation?code=" + qv(f.CommonCode) })},
		{Name: "obs-code-common-page5", Pages: 5, Build: common(func(f *Facts) string { return "Observation?code=" + qv(f.CommonCode) })},
		{Name: "obs-code-date", Build: common(func(f *Facts) string {
			return "Observation?code=" + qv(f.CommonCode) + "&date=ge" + strconv.Itoa(max(f.CommonYear, 1))
		})},
		{Name: "obs-code-sort-lastupdated", Build: common(func(f *Facts) string {
			return "Observation?code=" + qv(f.CommonCode) + "&_sort=-_lastUpdated&_count=10"
		})},
		{Name: "obs-category-total", Build: func(*Facts, int) (string, bool) {
			return "Observation?category=" + laboratory + "&_total=accurate", true
		}},
		{Name: "obs-chain-gender-count", Build: func(*Facts, int) (string, bool) {
			return "Observation?subject:Patient.gender=female&_summary=count", true
		}},
		{Name: "obs-chain-name", Build: withPatient(func(p *PatientFacts) bool { return p.Family != "" && len(p.Codes) > 0 }, func(p *PatientFacts, _ int) string {
			return "Observation?subject:Patient.name=" + qv(p.Family)
		})},
		{Name: "obs-code-value-gt100", Build: func(f *Facts, _ int) (string, bool) {
			return "Observation?code=" + qv(f.HighCode) + "&value-quantity=gt100", f.HighCode != ""
		}},
		{Name: "obs-value-unit-system", Build: func(f *Facts, _ int) (string, bool) {
			return "Observation?value-quantity=" + qv("le"+f.UnitBelow+"|"+ucumSystem+"|"+f.Unit), f.Unit != ""
		}},
		{Name: "obs-value-unit-no-system", Build: func(f *Facts, _ int) (string, bool) {
			return "Observation?value-quantity=" + qv("le"+f.UnitBelow+"||"+f.Unit), f.Unit != ""
		}},

		// Compartment, $everything.
		{Name: "compartment-obs-code", Build: withPatient(hasCodes, func(p *PatientFacts, i int) string {
			return "Patient/" + p.ID + "/Observation?code=" + qv(p.Codes[i%len(p.Codes)])
		})},
		{Name: "everything", Build: withPatient(nil, func(p *PatientFacts, _ int) string { return "Patient/" + p.ID + "/$everything" })},

		// Encounter.
		{Name: "encounter-date-range", Build: withPatient(hasEncounters, func(p *PatientFacts, i int) string {
			// 30 days from the day before an encounter began: the start's
			// local date may be the next day in UTC, where the server reads
			// a date without a zone.
			t, _ := time.Parse(time.DateOnly, p.Encounters[i%len(p.Encounters)])
			from := t.AddDate(0, 0, -1)
			return "Encounter?date=ge" + from.Format(time.DateOnly) + "&date=lt" + from.AddDate(0, 0, 30).Format(time.DateOnly)
		})},
		{Name: "encounter-patient-sort-date", Build: withPatient(hasEncounters, func(p *PatientFacts, _ int) string {
			return "Encounter?patient=" + qv(p.ID) + "&_sort=-date"
		})},
		{Name: "encounter-revinclude-obs", Build: withPatient(hasEncounters, func(p *PatientFacts, _ int) string {
			return "Encounter?patient=" + qv(p.ID) + "&_revinclude=Observation:encounter&_count=10"
		})},
		{Name: "encounter-include-provider", Build: withPatient(hasEncounters, func(p *PatientFacts, _ int) string {
			return "Encounter?patient=" + qv(p.ID) + "&_include=Encounter:service-provider&_count=10"
		})},

		// Other resource types of a patient.
		{Name: "condition-patient", Expect: Some, Build: withPatient(nil, func(p *PatientFacts, _ int) string {
			return "Condition?patient=" + qv(p.ID)
		})},
		{Name: "medicationrequest-patient-sort", Expect: Some, Build: withPatient(nil, func(p *PatientFacts, _ int) string {
			return "MedicationRequest?patient=" + qv(p.ID) + "&_sort=-authoredon&_count=10"
		})},
		{Name: "immunization-patient-date", Expect: Some, Build: withPatient(nil, func(p *PatientFacts, _ int) string {
			return "Immunization?patient=" + qv(p.ID) + "&date=ge2000"
		})},
	}
}

// withPatient builds requests for the patients of the facts that ok
// accepts (nil: all), request i from the i-th of them in turn.
func withPatient(ok func(*PatientFacts) bool, build func(p *PatientFacts, i int) string) func(*Facts, int) (string, bool) {
	return func(f *Facts, i int) (string, bool) {
		var fit []*PatientFacts
		for j := range f.Patients {
			if ok == nil || ok(&f.Patients[j]) {
				fit = append(fit, &f.Patients[j])
			}
		}
		if len(fit) == 0 {
			return "", false
		}
		return build(fit[i%len(fit)], i/len(fit)), true
	}
}

// common builds a request about the most common code.
func common(build func(f *Facts) string) func(*Facts, int) (string, bool) {
	return func(f *Facts, _ int) (string, bool) { return build(f), f.CommonCode != "" }
}

func hasCodes(p *PatientFacts) bool      { return len(p.Codes) > 0 }
func hasEncounters(p *PatientFacts) bool { return len(p.Encounters) > 0 }
func hasFamily(p *PatientFacts) bool     { return p.Family != "" }

// stem is a family name without the number Synthea and the copies append
// (Garcia512 → Garcia): a search that finds many.
func stem(family string) string {
	s := strings.TrimRight(family, "0123456789")
	if s == "" {
		return family
	}
	return s
}
