package bench

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Terminology the mix uses.
const (
	loincSystem = "http://loinc.org"
	ucumSystem  = "http://unitsofmeasure.org"
	vitalSigns  = "vital-signs"
	laboratory  = "laboratory"
)

// How much discovery reads.
const (
	candidatePatients      = 100  // Patients read to find patientSample with Observations
	patientSample          = 24   // patients whose records the mix uses
	observationsPerPatient = 1000 // Observations read of each
	candidateCodes         = 5    // most frequent codes of the sample counted exactly
)

// ErrNoData means the server holds nothing the mix can be built from.
var ErrNoData = errors.New("bench: the server holds no Observations with patients: load a data set first")

// Facts are values found in the loaded data, from which the query mix
// builds its requests.
type Facts struct {
	// Patients are a sample of the patients with Observations, with what
	// their records hold.
	Patients []PatientFacts `json:"patients"`
	// ObservationIDs are ids of Observations, for reads.
	ObservationIDs []string `json:"observationIds"`
	// CommonCode is the LOINC code with the most Observations among those
	// most frequent in a sample, and CommonTotal their number.
	CommonCode  string `json:"commonCode"`
	CommonTotal int    `json:"commonTotal"`
	// CommonYear is a year in which CommonCode was observed.
	CommonYear int `json:"commonYear"`
	// HighCode is the LOINC code whose values are most often over 100.
	HighCode string `json:"highCode,omitempty"`
	// Unit is a UCUM unit of Observation values, and UnitBelow a value
	// that some of them do not exceed (about the tenth percentile).
	Unit      string `json:"unit,omitempty"`
	UnitBelow string `json:"unitBelow,omitempty"`
	// GenderYear is a birth year that some female patient of the sample
	// reached or passed: 1980 when the sample allows.
	GenderYear int `json:"genderYear"`
}

// PatientFacts are what the mix knows of one patient.
type PatientFacts struct {
	ID         string `json:"id"`
	Version    string `json:"version"`
	Identifier string `json:"identifier"` // system|value
	Gender     string `json:"gender"`
	BirthDate  string `json:"birthDate"`
	Family     string `json:"family"`
	Given      string `json:"given"`
	// Codes are the LOINC codes of the patient's Observations, most frequent
	// first.
	Codes []string `json:"codes"`
	// Vitals and Others: whether some Observation is in the vital-signs
	// category, and whether some is not.
	Vitals bool `json:"vitals"`
	Others bool `json:"others"`
	// Unquantified: some Observation has no valueQuantity.
	Unquantified bool `json:"unquantified"`
	// LastYear is the year of the latest Observation.
	LastYear int `json:"lastYear"`
	// Encounters are start dates (YYYY-MM-DD) of the patient's Encounters.
	Encounters []string `json:"encounters"`
}

// observation is what discovery reads of an Observation.
type observation struct {
	ID      string `json:"id"`
	Subject struct {
		Reference string `json:"reference"`
	} `json:"subject"`
	Code     codeable   `json:"code"`
	Category []codeable `json:"category"`
	Date     string     `json:"effectiveDateTime"`
	Quantity *struct {
		Value  json.Number `json:"value"`
		System string      `json:"system"`
		Code   string      `json:"code"`
	} `json:"valueQuantity"`
}

type codeable struct {
	Coding []struct {
		System string `json:"system"`
		Code   string `json:"code"`
	} `json:"coding"`
}

// code is the codeable's first code in system, or "".
func (c codeable) code(system string) string {
	for _, x := range c.Coding {
		if x.System == system && x.Code != "" {
			return x.Code
		}
	}
	return ""
}

func (c codeable) has(code string) bool {
	for _, x := range c.Coding {
		if x.Code == code {
			return true
		}
	}
	return false
}

// searchset is a search answer with its resources decoded as T.
type searchset[T any] struct {
	Total *int `json:"total"`
	Entry []struct {
		Resource T `json:"resource"`
	} `json:"entry"`
}

// tally counts values and lists them by count, ties in order of first
// appearance.
type tally struct {
	n     map[string]int
	order []string
}

func (t *tally) add(k string) {
	if t.n == nil {
		t.n = map[string]int{}
	}
	if t.n[k] == 0 {
		t.order = append(t.order, k)
	}
	t.n[k]++
}

func (t *tally) top() []string {
	out := slices.Clone(t.order)
	slices.SortStableFunc(out, func(a, b string) int { return cmp.Compare(t.n[b], t.n[a]) })
	return out
}

// patient is what discovery reads of a Patient.
type patient struct {
	ID   string `json:"id"`
	Meta struct {
		VersionID string `json:"versionId"`
	} `json:"meta"`
	Gender     string `json:"gender"`
	BirthDate  string `json:"birthDate"`
	Identifier []struct {
		System string `json:"system"`
		Value  string `json:"value"`
	} `json:"identifier"`
	Name []struct {
		Family string   `json:"family"`
		Given  []string `json:"given"`
	} `json:"name"`
}

// Discover reads the values of the mix from the server. Patients come from
// a search for the Synthea identifier system (any Patient when there is
// none); each of the first patientSample of them with Observations gives
// its Observations and Encounters, from which come the codes (the most
// frequent few counted exactly), quantity values and dates. It sends at most
// 2 + 2 × candidatePatients + candidateCodes requests.
func Discover(ctx context.Context, c *client) (*Facts, error) {
	var candidates searchset[patient]
	if err := c.getJSON(ctx, "Patient?identifier="+qv(SyntheaSystem+"|")+"&_count="+strconv.Itoa(candidatePatients), &candidates); err != nil {
		return nil, err
	}
	if len(candidates.Entry) == 0 {
		if err := c.getJSON(ctx, "Patient?_count="+strconv.Itoa(candidatePatients), &candidates); err != nil {
			return nil, err
		}
	}
	f := &Facts{}
	var codes tally
	quantities := map[string][]float64{} // unit → values
	over100 := tally{}
	years := map[string][]int{}
	note := func(o *observation) {
		code := o.Code.code(loincSystem)
		if code != "" {
			codes.add(code)
		}
		if q := o.Quantity; q != nil && q.System == ucumSystem && q.Code != "" {
			if v, err := q.Value.Float64(); err == nil {
				quantities[q.Code] = append(quantities[q.Code], v)
				if v > 100 && code != "" {
					over100.add(code)
				}
			}
		}
		if y := utcYear(o.Date); code != "" && y > 0 {
			years[code] = append(years[code], y)
		}
	}
	for i := range candidates.Entry {
		if len(f.Patients) == patientSample {
			break
		}
		p, obsIDs, err := discoverPatient(ctx, c, &candidates.Entry[i].Resource, note)
		if err != nil {
			return nil, err
		}
		if len(p.Codes) == 0 {
			continue // no Observations: not a patient of the data set
		}
		f.Patients = append(f.Patients, p)
		f.ObservationIDs = append(f.ObservationIDs, obsIDs[:min(len(obsIDs), 10)]...)
	}
	if len(f.Patients) == 0 {
		return nil, ErrNoData
	}

	// The most frequent codes of the sample are counted exactly: the most
	// frequent of the sample may not be the most frequent overall.
	for _, code := range codes.top()[:min(candidateCodes, len(codes.order))] {
		var count searchset[json.RawMessage]
		if err := c.getJSON(ctx, "Observation?code="+qv(loincSystem+"|"+code)+"&_summary=count", &count); err != nil {
			return nil, err
		}
		if count.Total != nil && *count.Total > f.CommonTotal {
			f.CommonCode, f.CommonTotal = code, *count.Total
		}
	}
	if f.CommonCode == "" {
		f.CommonCode = codes.top()[0]
	}
	if ys := years[f.CommonCode]; len(ys) > 0 {
		slices.Sort(ys)
		f.CommonYear = ys[len(ys)/2]
	}
	if top := over100.top(); len(top) > 0 {
		f.HighCode = top[0]
	}
	f.Unit, f.UnitBelow = pickUnit(quantities)
	f.GenderYear = genderYear(f.Patients)
	return f, nil
}

// discoverPatient reads the Observations and Encounters of a patient, and
// returns what the mix needs of it and the ids of its Observations.
func discoverPatient(ctx context.Context, c *client, pat *patient, note func(*observation)) (PatientFacts, []string, error) {
	id := pat.ID
	p := PatientFacts{ID: id, Version: pat.Meta.VersionID, Gender: pat.Gender, BirthDate: pat.BirthDate}
	for _, x := range pat.Identifier {
		if x.Value != "" && (p.Identifier == "" || x.System == SyntheaSystem) {
			p.Identifier = x.System + "|" + x.Value
		}
	}
	if len(pat.Name) > 0 {
		p.Family = pat.Name[0].Family
		if len(pat.Name[0].Given) > 0 {
			p.Given = pat.Name[0].Given[0]
		}
	}

	var obs searchset[observation]
	if err := c.getJSON(ctx, "Observation?patient="+qv(id)+"&_count="+strconv.Itoa(observationsPerPatient), &obs); err != nil {
		return p, nil, err
	}
	var codes tally
	var ids []string
	for _, e := range obs.Entry {
		o := &e.Resource
		if code := o.Code.code(loincSystem); code != "" {
			codes.add(code)
		}
		if o.ID != "" {
			ids = append(ids, o.ID)
		}
		vital := false
		for _, cat := range o.Category {
			vital = vital || cat.has(vitalSigns)
		}
		p.Vitals = p.Vitals || vital
		p.Others = p.Others || !vital
		p.Unquantified = p.Unquantified || o.Quantity == nil
		if y := utcYear(o.Date); y > 0 {
			p.LastYear = max(p.LastYear, y)
		}
		note(o)
	}
	p.Codes = codes.top()

	var enc searchset[struct {
		Period struct {
			Start string `json:"start"`
		} `json:"period"`
	}]
	if err := c.getJSON(ctx, "Encounter?patient="+qv(id)+"&_count=200", &enc); err != nil {
		return p, nil, err
	}
	for _, e := range enc.Entry {
		if s := e.Resource.Period.Start; len(s) >= 10 {
			p.Encounters = append(p.Encounters, s[:10])
		}
	}
	return p, ids, nil
}

// utcYear is the year of a dateTime in UTC, the zone in which the server
// reads a date=geYYYY without one: 2019-01-01T00:10:00+01:00 is in 2018.
// Zero when s is not a dateTime.
func utcYear(s string) int {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC().Year()
	}
	if len(s) == 10 {
		if t, err := time.Parse(time.DateOnly, s); err == nil {
			return t.Year()
		}
	}
	return 0
}

// pickUnit chooses the unit of the value-quantity patterns: kg when the
// data has weights, else the most frequent unit; and a bound below which
// about a tenth of its values lie.
func pickUnit(quantities map[string][]float64) (unit, below string) {
	best := ""
	for u, vs := range quantities {
		if best == "" || len(vs) > len(quantities[best]) || (len(vs) == len(quantities[best]) && u < best) {
			best = u
		}
	}
	if _, ok := quantities["kg"]; ok {
		best = "kg"
	}
	if best == "" {
		return "", ""
	}
	vs := slices.Clone(quantities[best])
	slices.Sort(vs)
	b := math.Ceil(vs[len(vs)/10])
	return best, strconv.FormatFloat(b, 'f', -1, 64)
}

// genderYear is 1980 when a sampled female patient was born then or later,
// else the latest birth year of one.
func genderYear(ps []PatientFacts) int {
	latest := 0
	for _, p := range ps {
		if p.Gender != "female" || len(p.BirthDate) < 4 {
			continue
		}
		if y, err := strconv.Atoi(p.BirthDate[:4]); err == nil {
			latest = max(latest, y)
		}
	}
	if latest == 0 || latest >= 1980 {
		return 1980
	}
	return latest
}

// qv escapes a query parameter value.
func qv(s string) string { return queryEscaper.Replace(s) }

// queryEscaper escapes what a search value may hold and a query string
// cannot: the FHIR separators , | $ stay as they are.
var queryEscaper = strings.NewReplacer("%", "%25", "&", "%26", "+", "%2B", " ", "%20", "#", "%23", "=", "%3D")

// String summarises the facts for the log.
func (f *Facts) String() string {
	return fmt.Sprintf("%d patients, most common code %s (%d Observations), values over 100: %s, unit %s (≤ %s in a tenth)",
		len(f.Patients), f.CommonCode, f.CommonTotal, f.HighCode, f.Unit, f.UnitBelow)
}
