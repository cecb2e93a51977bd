package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// haOp is one request of the failover load and how it ended.
type haOp struct {
	sent, done time.Time
	what       string // "create Patient", "create Observation", "read"
	group      int    // the Citus group a probe write needs; -1 when not known
	status     int    // 0 when no HTTP answer came
	err        string // transport error, if any
	outcome    bool   // the body is an OperationOutcome
	retryAfter bool   // a Retry-After header came with it
	ref        string // Type/id of what a create made
}

func (o haOp) ok() bool      { return o.status >= 200 && o.status < 300 }
func (o haOp) isWrite() bool { return strings.HasPrefix(o.what, "create") }

// kind describes how a request failed: "503 with OperationOutcome and
// Retry-After", "no answer: …".
func (o haOp) kind() string {
	if o.status == 0 {
		return "no answer: " + o.err
	}
	k := fmt.Sprintf("%d", o.status)
	if o.outcome {
		k += " with OperationOutcome"
	} else {
		k += " without OperationOutcome"
	}
	if o.retryAfter {
		k += " and Retry-After"
	}
	return k
}

// haLoad sends a bounded write/read load to HCE and keeps every request.
type haLoad struct {
	base, token string
	hc          *http.Client

	mu  sync.Mutex
	ops []haOp
}

func newHALoad(base, token string) *haLoad {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 16
	return &haLoad{base: base, token: token, hc: &http.Client{Timeout: 30 * time.Second, Transport: t}}
}

// send makes one request and records it; body is encoded as JSON.
func (l *haLoad) send(ctx context.Context, what string, group int, method, path string, body any) haOp {
	op := haOp{what: what, group: group, sent: time.Now()}
	defer func() {
		op.done = time.Now()
		if ctx.Err() != nil && !op.ok() {
			return // cut short by the end of the load, not by the database
		}
		l.mu.Lock()
		l.ops = append(l.ops, op)
		l.mu.Unlock()
	}()
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, l.base+path, rd)
	if err != nil {
		op.err = err.Error()
		return op
	}
	req.Header.Set("Authorization", "Bearer "+l.token)
	req.Header.Set("Accept", "application/fhir+json")
	if body != nil {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	resp, err := l.hc.Do(req)
	if err != nil {
		op.err = err.Error()
		return op
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	op.status = resp.StatusCode
	op.retryAfter = resp.Header.Get("Retry-After") != ""
	var res struct {
		ResourceType string `json:"resourceType"`
		ID           string `json:"id"`
	}
	_ = json.Unmarshal(raw, &res)
	op.outcome = res.ResourceType == "OperationOutcome"
	if op.ok() && op.isWrite() {
		op.ref = res.ResourceType + "/" + res.ID
	}
	return op
}

func haPatient(family string) map[string]any {
	return map[string]any{"resourceType": "Patient", "active": true,
		"name": []any{map[string]any{"family": family, "given": []any{"Ana"}}}, "birthDate": "1970-01-01"}
}

func haObservation(patientID string, n int) map[string]any {
	return map[string]any{"resourceType": "Observation", "status": "final",
		"code":          map[string]any{"coding": []any{map[string]any{"system": "http://loinc.org", "code": "8867-4"}}},
		"subject":       map[string]any{"reference": "Patient/" + patientID},
		"valueQuantity": map[string]any{"value": n, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"}}
}

// client runs one load client until ctx ends or it made max iterations: a
// Patient, an Observation of it, and both read back.
func (l *haLoad) client(ctx context.Context, name string, max int) {
	for i := 0; i < max && ctx.Err() == nil; i++ {
		p := l.send(ctx, "create Patient", -1, http.MethodPost, "/fhir/Patient", haPatient(fmt.Sprintf("%s-%d", name, i)))
		if !p.ok() {
			pause(ctx, 50*time.Millisecond)
			continue
		}
		id := strings.TrimPrefix(p.ref, "Patient/")
		o := l.send(ctx, "create Observation", -1, http.MethodPost, "/fhir/Observation", haObservation(id, i))
		l.send(ctx, "read", -1, http.MethodGet, "/fhir/"+p.ref, nil)
		if o.ok() {
			l.send(ctx, "read", -1, http.MethodGet, "/fhir/"+o.ref, nil)
		}
		pause(ctx, 20*time.Millisecond)
	}
}

// probe writes an Observation of one patient, whose shard is in group,
// every interval until ctx ends or it made max writes.
func (l *haLoad) probe(ctx context.Context, patientID string, group int, every time.Duration, max int) {
	for i := 0; i < max && ctx.Err() == nil; i++ {
		began := time.Now()
		l.send(ctx, "create Observation", group, http.MethodPost, "/fhir/Observation", haObservation(patientID, i))
		pause(ctx, every-time.Since(began))
	}
}

func pause(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// snapshot copies the requests so far, in the order they were sent.
func (l *haLoad) snapshot() []haOp {
	l.mu.Lock()
	out := append([]haOp(nil), l.ops...)
	l.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].sent.Before(out[j].sent) })
	return out
}

// resumed finds the end of a failover that began at t: the first write
// that failed after t and, when group >= 0, needed that group; then the
// first such write sent after it that succeeded. failed is false while no
// write has failed yet, back false while none succeeded again.
func resumed(ops []haOp, t time.Time, group int) (firstFail time.Time, back haOp, failed, ok bool) {
	needs := func(o haOp) bool { return o.isWrite() && (group < 0 || o.group == group) }
	for _, o := range ops { // in the order they were sent
		if !needs(o) || o.sent.Before(t) {
			continue
		}
		if !failed {
			if !o.ok() {
				firstFail, failed = o.sent, true
			}
			continue
		}
		if o.ok() && (!ok || o.done.Before(back.done)) {
			back, ok = o, true
		}
	}
	return firstFail, back, failed, ok
}

// failures counts the requests sent in [from, to) that did not succeed, by
// how they failed.
func failures(ops []haOp, from, to time.Time) (failed, total int, kinds map[string]int) {
	kinds = map[string]int{}
	for _, o := range ops {
		if o.sent.Before(from) || !o.sent.Before(to) {
			continue
		}
		total++
		if !o.ok() {
			failed++
			kinds[o.kind()]++
		}
	}
	return failed, total, kinds
}
