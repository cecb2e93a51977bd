package verify

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// patientsPerBundle is how many patients, with their observations, one
// transaction Bundle creates: a Bundle per patient would measure round trips,
// one Bundle for everything would measure one transaction.
const patientsPerBundle = 10

// createStreams is how many Bundles are in flight at once.
const createStreams = 4

// testSet is the marked data the complete level writes, and what the server
// said it created.
type testSet struct {
	run        string
	patients   int
	perPatient int
	// patientIDs[i] is the server's id of patient i, "" until created;
	// obsIDs[i] are the ids of its observations.
	patientIDs []string
	obsIDs     [][]string
	// placement says which node holds each patient; nil until measured
	// (and without a database URL).
	placement *placement
}

func newTestSet(run string, patients, perPatient int) *testSet {
	return &testSet{run: run, patients: patients, perPatient: perPatient,
		patientIDs: make([]string, patients), obsIDs: make([][]string, patients)}
}

// tag is the token search value of the set's tag.
func (s *testSet) tag() string { return TagSystem + "|" + s.run }

// query is a search of one type restricted to the test set.
func (s *testSet) query(typ, extra string) string {
	return typ + "?_tag=" + url.QueryEscape(s.tag()) + extra
}

// wantObservations is the size of the Observation part of a full set.
func (s *testSet) wantObservations() int { return s.patients * s.perPatient }

// created counts what the server created.
func (s *testSet) created() (patients, observations int) {
	for i, id := range s.patientIDs {
		if id != "" {
			patients++
			observations += len(s.obsIDs[i])
		}
	}
	return patients, observations
}

// refs lists every created resource as Type/id, each patient's
// observations before the patient.
func (s *testSet) refs() []string {
	var out []string
	for i, id := range s.patientIDs {
		for _, o := range s.obsIDs[i] {
			out = append(out, "Observation/"+o)
		}
		if id != "" {
			out = append(out, "Patient/"+id)
		}
	}
	return out
}

// observationSet returns the ids of the created observations, and patientSet
// those of the created patients, for membership tests.
func (s *testSet) observationSet() map[string]bool {
	m := map[string]bool{}
	for _, ids := range s.obsIDs {
		for _, id := range ids {
			m[id] = true
		}
	}
	return m
}

func (s *testSet) patientSet() map[string]bool {
	m := map[string]bool{}
	for _, id := range s.patientIDs {
		if id != "" {
			m[id] = true
		}
	}
	return m
}

// meta is the meta element every resource of the set carries.
func (s *testSet) meta() map[string]any {
	return map[string]any{"tag": []any{map[string]any{"system": TagSystem, "code": s.run, "display": "hce verify test set"}}}
}

// txEntry is one entry of a transaction Bundle that verification sends.
type txEntry struct {
	FullURL  string         `json:"fullUrl,omitempty"`
	Resource map[string]any `json:"resource,omitempty"`
	Request  txRequest      `json:"request"`
}

type txRequest struct {
	Method string `json:"method"`
	URL    string `json:"url"`
}

func transaction(entries []txEntry) map[string]any {
	return map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": entries}
}

// createBundle is the transaction that creates patients first..first+n-1
// and their observations, which reference their patient by its urn:uuid.
func (s *testSet) createBundle(first, n int) []txEntry {
	var entries []txEntry
	for i := first; i < first+n; i++ {
		urn := "urn:uuid:" + uuid.NewString()
		gender := "female"
		if i%2 == 1 {
			gender = "male"
		}
		entries = append(entries, txEntry{FullURL: urn, Request: txRequest{"POST", "Patient"}, Resource: map[string]any{
			"resourceType": "Patient",
			"meta":         s.meta(),
			"identifier":   []any{map[string]any{"system": TagSystem + "/patient", "value": fmt.Sprintf("%s-%d", s.run, i)}},
			"name":         []any{map[string]any{"family": "Verify", "given": []any{fmt.Sprintf("Patient %d", i)}}},
			"gender":       gender,
			"birthDate":    fmt.Sprintf("19%02d-%02d-%02d", 40+i%60, 1+i%12, 1+i%28),
		}})
		for j := 0; j < s.perPatient; j++ {
			entries = append(entries, txEntry{FullURL: "urn:uuid:" + uuid.NewString(), Request: txRequest{"POST", "Observation"}, Resource: map[string]any{
				"resourceType": "Observation",
				"meta":         s.meta(),
				"status":       "final",
				"code": map[string]any{"coding": []any{map[string]any{
					"system": "http://loinc.org", "code": "8867-4", "display": "Heart rate"}}},
				"subject":           map[string]any{"reference": urn},
				"effectiveDateTime": fmt.Sprintf("2024-%02d-%02dT08:00:00Z", 1+j%12, 1+i%28),
				"valueQuantity": map[string]any{"value": 55 + (i+j)%40, "unit": "beats/minute",
					"system": "http://unitsofmeasure.org", "code": "/min"},
			}})
		}
	}
	return entries
}

// create writes the test set through transaction Bundles and checks that
// every resource was created. It reports whether anything was.
func (v *runner) create(ctx context.Context) bool {
	s := v.set
	bundles := (s.patients + patientsPerBundle - 1) / patientsPerBundle
	v.logf("verify: creating %d resources in %s (tag %s)", s.patients*(1+s.perPatient), plural(bundles, "transaction Bundle"), s.tag())
	start := time.Now()
	var (
		mu   sync.Mutex
		errs []string
		wg   sync.WaitGroup
	)
	jobs := make(chan int)
	for range createStreams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range jobs {
				// Each Bundle fills its own patients' slots: no lock needed.
				if err := v.createOne(ctx, b*patientsPerBundle); err != nil {
					mu.Lock()
					errs = append(errs, fmt.Sprintf("Bundle %d: %v", b+1, err))
					mu.Unlock()
				}
			}
		}()
	}
feed:
	for b := range bundles {
		select {
		case jobs <- b:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	elapsed := time.Since(start)

	p, o := s.created()
	total, want := p+o, s.patients*(1+s.perPatient)
	v.rep.metric("resources created", "%d (%d Patient, %d Observation)", total, p, o)
	if total > 0 {
		v.rep.metric("create rate", "%.0f resources/s (%d per transaction Bundle)", float64(total)/elapsed.Seconds(), min(patientsPerBundle, s.patients)*(1+s.perPatient))
	}
	detail := fmt.Sprintf("%d of %d resources (%d Patient, %d Observation) in %s", total, want, p, o, plural(bundles, "transaction Bundle"))
	if len(errs) > 0 {
		detail += "; " + summarize(errs, 3)
	} else if ctx.Err() != nil {
		detail += "; " + ctx.Err().Error()
	}
	v.rep.add(Check{Name: "create test set", Level: Complete, OK: total == want, Detail: detail, Duration: elapsed})
	v.logf("verify: create test set: %s", detail)
	return total > 0
}

// createOne posts the Bundle of the patients from first on and records the
// ids the server assigned.
func (v *runner) createOne(ctx context.Context, first int) error {
	s := v.set
	n := min(patientsPerBundle, s.patients-first)
	entries := s.createBundle(first, n)
	r, err := v.c.post(ctx, transaction(entries))
	if err != nil {
		return err
	}
	if r.status != http.StatusOK {
		return fmt.Errorf("%s", r)
	}
	var b bundle
	if err := r.decode(&b); err != nil {
		return err
	}
	if b.Type != "transaction-response" || len(b.Entry) != len(entries) {
		return fmt.Errorf("answered a %s Bundle of %d entries, want a transaction-response of %d", b.Type, len(b.Entry), len(entries))
	}
	ids := make([]string, len(entries))
	for k, e := range b.Entry {
		want := entries[k].Request.URL
		if e.Response == nil || !strings.HasPrefix(e.Response.Status, "201") {
			return fmt.Errorf("entry %d (%s): response %+v, want 201", k, want, e.Response)
		}
		typ, id, ok := parseLocation(e.Response.Location)
		if !ok || typ != want {
			return fmt.Errorf("entry %d (%s): location %q is not a %s", k, want, e.Response.Location, want)
		}
		ids[k] = id
	}
	// The response lists the entries in the order of the request.
	k := 0
	for i := first; i < first+n; i++ {
		s.patientIDs[i] = ids[k]
		s.obsIDs[i] = append([]string(nil), ids[k+1:k+1+s.perPatient]...)
		k += 1 + s.perPatient
	}
	return nil
}

// deleteBundleSize is how many deletions go in one transaction Bundle.
const deleteBundleSize = 100

// cleanup deletes the test set: first every resource the server said it
// created, then whatever a search by the set's tag still finds (a Bundle
// whose response was lost may have created resources nobody knows the id
// of), and checks that the search finds nothing at the end.
func (v *runner) cleanup(ctx context.Context) {
	if v.set == nil {
		return
	}
	s := v.set
	v.logf("verify: deleting the test set")
	start := time.Now()
	deleted := 0
	var errs []string
	// del deletes in Bundles of deleteBundleSize, createStreams at a time.
	del := func(refs []string) {
		var (
			mu  sync.Mutex
			wg  sync.WaitGroup
			sem = make(chan struct{}, createStreams)
		)
		for len(refs) > 0 {
			n := min(deleteBundleSize, len(refs))
			chunk := refs[:n]
			refs = refs[n:]
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				err := v.deleteAll(ctx, chunk)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err.Error())
				} else {
					deleted += len(chunk)
				}
			}()
		}
		wg.Wait()
	}
	del(s.refs())
	// The sweep: bounded, because a server that never stops finding the tag
	// must not keep verification running.
	for round := 0; round < 10 && ctx.Err() == nil; round++ {
		var left []string
		for _, typ := range []string{"Observation", "Patient"} {
			b, err := v.search(ctx, s.query(typ, fmt.Sprintf("&_count=%d&_elements=id", deleteBundleSize)))
			if err != nil {
				errs = append(errs, err.Error())
				continue
			}
			for _, e := range b.Entry {
				var res resource
				if json.Unmarshal(e.Resource, &res) == nil && res.ID != "" && (e.Search == nil || e.Search.Mode != "outcome") {
					left = append(left, typ+"/"+res.ID)
				}
			}
		}
		if len(left) == 0 {
			break
		}
		del(left)
	}
	elapsed := time.Since(start)
	// What is left, by the count the server gives.
	var remain []string
	for _, typ := range []string{"Patient", "Observation"} {
		b, err := v.search(ctx, s.query(typ, "&_total=accurate&_count=1"))
		switch {
		case err != nil:
			remain = append(remain, typ+": "+err.Error())
		case b.Total == nil:
			remain = append(remain, typ+": the search gave no total")
		case *b.Total != 0:
			remain = append(remain, fmt.Sprintf("%d %s", *b.Total, typ))
		}
	}
	ok := len(errs) == 0 && len(remain) == 0
	detail := fmt.Sprintf("deleted %d resources with transaction Bundles of DELETE entries", deleted)
	if len(remain) == 0 {
		detail += "; a search by the tag finds none left"
	} else {
		detail += "; still found: " + strings.Join(remain, ", ")
	}
	if len(errs) > 0 {
		detail += "; " + summarize(errs, 3)
	}
	v.rep.metric("cleanup", "%d resources deleted in %s", deleted, formatDuration(elapsed))
	v.rep.add(Check{Name: "cleanup", Level: Complete, OK: ok, Detail: detail, Duration: elapsed})
	v.logf("verify: cleanup: %s", detail)
}

// deleteAll deletes the resources (Type/id) in one transaction Bundle.
func (v *runner) deleteAll(ctx context.Context, refs []string) error {
	entries := make([]txEntry, len(refs))
	for i, ref := range refs {
		entries[i] = txEntry{Request: txRequest{"DELETE", ref}}
	}
	r, err := v.c.post(ctx, transaction(entries))
	if err != nil {
		return err
	}
	if r.status != http.StatusOK {
		return fmt.Errorf("DELETE Bundle of %d entries: %s", len(refs), r)
	}
	var b bundle
	if err := r.decode(&b); err != nil {
		return err
	}
	for k, e := range b.Entry {
		if e.Response == nil || !(strings.HasPrefix(e.Response.Status, "2")) {
			return fmt.Errorf("DELETE %s: response %+v", refs[min(k, len(refs)-1)], e.Response)
		}
	}
	return nil
}

// summarize joins up to n messages and says how many more there were.
func summarize(msgs []string, n int) string {
	if len(msgs) <= n {
		return strings.Join(msgs, "; ")
	}
	return fmt.Sprintf("%s; and %d more", strings.Join(msgs[:n], "; "), len(msgs)-n)
}
