package main

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hce-fhir/hce/auth"
	"github.com/hce-fhir/hce/rest"
	"github.com/hce-fhir/hce/store"
)

// TestExportGroup creates a Group whose member.entity names two of three
// patients and checks that its export holds their compartments only, and
// that _typeFilter, _since and _elements apply.
func TestExportGroup(t *testing.T) {
	env := exportServer(t, rest.Options{}, fastExports, true)
	c := env.c
	a, aObs := seedPatient(t, c, "GroupA"+uniq, 2)
	b, bObs := seedPatient(t, c, "GroupB"+uniq, 1)
	inactive, _ := seedPatient(t, c, "GroupC"+uniq, 1)
	_, _ = seedPatient(t, c, "GroupD"+uniq, 1)
	g := c.do(http.MethodPost, "/fhir/Group", map[string]any{"resourceType": "Group", "type": "person", "actual": true,
		"member": []any{map[string]any{"entity": map[string]any{"reference": "Patient/" + a}},
			map[string]any{"entity": map[string]any{"reference": "Patient/" + b}},
			map[string]any{"entity": map[string]any{"reference": "Patient/" + inactive}, "inactive": true}}}).must(t, http.StatusCreated)
	gid := g.str("id")
	c.do(http.MethodGet, "/fhir/Group?member=Patient/"+a, nil).must(t, http.StatusOK)

	m := c.waitExport(c.kickoff(http.MethodGet, "/fhir/Group/"+gid+"/$export?_type=Patient,Observation", nil))
	got := refs(c.download(m))
	want := []string{"Patient/" + a, "Patient/" + b, aObs[0], aObs[1], bObs[0]}
	slices.Sort(want)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("Group export: %v, want %v", got, want)
	}

	// _typeFilter: only the Observations of code 8867-4 of patient a
	// that are still preliminary; _elements keeps code.
	c.do(http.MethodPut, "/fhir/"+aObs[1], map[string]any{"resourceType": "Observation", "id": strings.TrimPrefix(aObs[1], "Observation/"),
		"status": "preliminary", "subject": map[string]any{"reference": "Patient/" + a}, "code": map[string]any{"text": "x"}}).must(t, http.StatusOK)
	m = c.waitExport(c.kickoff(http.MethodGet, "/fhir/Group/"+gid+"/$export?_type=Observation&_typeFilter=Observation%3Fstatus%3Dpreliminary&_elements=Observation.status", nil))
	res := c.download(m)
	if got := refs(res); len(got) != 1 || got[0] != aObs[1] {
		t.Fatalf("_typeFilter status=preliminary: %v, want [%s]", got, aObs[1])
	}
	o := res[aObs[1]]
	if o["status"] != "preliminary" || o["code"] != nil || o["subject"] != nil {
		t.Errorf("_elements=Observation.status kept %v", o)
	}
	if tags, _ := o["meta"].(map[string]any)["tag"].([]any); len(tags) != 1 || !strings.Contains(jsonString(tags), "SUBSETTED") {
		t.Errorf("a subsetted resource without the SUBSETTED tag: %v", o["meta"])
	}

	// _since: only what changed after the first export.
	m = c.waitExport(c.kickoff(http.MethodGet, "/fhir/Group/"+gid+"/$export?_since="+m.TransactionTime, nil))
	if got := refs(c.download(m)); len(got) != 0 {
		t.Errorf("_since the last export's transaction time: %v, want nothing", got)
	}
}

// TestExportAuthorization checks that an export holds what the token may
// read: a patient-bound token exports its patient's compartment, others
// cannot see its job, and types it cannot read are refused.
func TestExportAuthorization(t *testing.T) {
	env := exportServer(t, rest.Options{}, fastExports, true)
	c := env.c
	p1, p1Obs := seedPatient(t, c, "AuthA"+uniq, 2)
	p2, _ := seedPatient(t, c, "AuthB"+uniq, 2)
	mint := func(scope, patient, subject string) *client {
		tok, err := testIssuer(t).Mint(auth.TokenRequest{Scope: scope, Patient: patient, Subject: subject})
		if err != nil {
			t.Fatal(err)
		}
		return &client{t: t, base: c.base, token: tok}
	}
	pc := mint("patient/*.rs", p1, "patient-"+uniq)
	m := pc.waitExport(pc.kickoff(http.MethodGet, "/fhir/$export?_type=Patient,Observation", nil))
	want := append([]string{"Patient/" + p1}, p1Obs...)
	slices.Sort(want)
	if got := refs(pc.download(m)); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("patient-bound system export: %v, want %v", got, want)
	}
	pc.do(http.MethodGet, "/fhir/Patient/$export?patient=Patient/"+p2, nil, "Prefer", "respond-async").must(t, http.StatusForbidden)
	// Shared resources are the token's to read, all of them.
	pc.do(http.MethodDelete, pc.kickoff(http.MethodGet, "/fhir/$export?_type=Medication", nil), nil).must(t, http.StatusAccepted)
	pc.do(http.MethodGet, "/fhir/$export?_type=AuditEvent", nil, "Prefer", "respond-async").must(t, http.StatusForbidden)

	// Another principal sees neither the job nor its files.
	other := mint("system/*.rs", "", "other-"+uniq)
	status := strings.TrimPrefix(m.Output[0].URL, c.base)
	other.do(http.MethodGet, status, nil).must(t, http.StatusNotFound)

	// A token that cannot read Observation cannot ask for it, and its
	// default export leaves it out.
	pat := mint("system/Patient.rs", "", "patients-"+uniq)
	pat.do(http.MethodGet, "/fhir/$export?_type=Observation", nil, "Prefer", "respond-async").must(t, http.StatusForbidden)
	pm := pat.waitExport(pat.kickoff(http.MethodGet, "/fhir/Patient/$export", nil))
	for _, f := range pm.Output {
		if f.Type != "Patient" {
			t.Errorf("a system/Patient.rs export has a %s file", f.Type)
		}
	}
	// The owner's token with fewer scopes cannot download a type it no
	// longer reads, and cannot filter on a type it cannot search.
	full := mint("system/*.rs", "", "shrinking-"+uniq)
	fm := full.waitExport(full.kickoff(http.MethodGet, "/fhir/Patient/$export?_type=Patient,Observation&patient=Patient/"+p1, nil))
	fewer := mint("system/Patient.rs", "", "shrinking-"+uniq)
	for _, f := range fm.Output {
		want := http.StatusOK
		if f.Type == "Observation" {
			want = http.StatusForbidden
		}
		fewer.do(http.MethodGet, strings.TrimPrefix(f.URL, c.base), nil).must(t, want)
	}
	readOnly := mint("system/Patient.rs system/Observation.r", "", "shrinking-"+uniq)
	readOnly.do(http.MethodGet, "/fhir/$export?_type=Observation&_typeFilter=Observation%3Fstatus%3Dfinal", nil, "Prefer", "respond-async").must(t, http.StatusForbidden)

	// Without a token: 401.
	anon := &client{t: t, base: c.base}
	anon.do(http.MethodGet, "/fhir/$export", nil, "Prefer", "respond-async").must(t, http.StatusUnauthorized)
	anon.do(http.MethodGet, strings.TrimPrefix(pm.Output[0].URL, c.base), nil).must(t, http.StatusUnauthorized)
}

// TestExportLimit checks the concurrent-jobs limit: 429 with Retry-After
// beyond it, and room again once a job is cancelled.
func TestExportLimit(t *testing.T) {
	env := exportServer(t, rest.Options{MaxExportJobs: 1}, fastExports, false)
	c := env.c
	if _, err := env.pool.Exec(context.Background(), `DELETE FROM export_jobs WHERE status IN ('accepted', 'running')`); err != nil {
		t.Fatal(err)
	}
	first := c.kickoff(http.MethodGet, "/fhir/$export", nil)
	r := c.do(http.MethodGet, "/fhir/$export", nil, "Prefer", "respond-async").must(t, http.StatusTooManyRequests)
	r.outcome(t, "jobs")
	if r.header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	c.do(http.MethodDelete, first, nil).must(t, http.StatusAccepted)
	c.do(http.MethodDelete, c.kickoff(http.MethodGet, "/fhir/$export", nil), nil).must(t, http.StatusAccepted)
}

// TestExportRestart checks that a job survives its runner: a job left
// running by a runner that stopped (its lease ran out, part of its files
// written) is resumed by another and completes with exactly its files; a
// job that never finishes is failed after its attempts, and its status
// reports the failure in the manifest's error file, not with a 5xx.
func TestExportRestart(t *testing.T) {
	env := exportServer(t, rest.Options{}, fastExports, false)
	c := env.c
	pid, obs := seedPatient(t, c, "Restart"+uniq, 3)
	ctx := context.Background()
	status := c.kickoff(http.MethodGet, "/fhir/Patient/$export?patient=Patient/"+pid, nil)
	id := strings.TrimPrefix(status, "/fhir/$export-status/")
	// The state a server killed in the middle of the job leaves.
	for _, q := range []string{
		`UPDATE export_jobs SET status = 'running', leased_by = 'gone', lease_until = now() - interval '1 second', attempts = 1 WHERE id = $1`,
		`INSERT INTO export_files VALUES ($1, 1, 'Observation', false, 1, 10)`,
		`INSERT INTO export_chunks VALUES ($1, 1, 0, '{"junk":1}')`,
	} {
		if _, err := env.pool.Exec(ctx, q, id); err != nil {
			t.Fatal(err)
		}
	}
	c.do(http.MethodGet, status, nil).must(t, http.StatusAccepted)
	env.startRunner(t, fastExports)
	m := c.waitExport(status)
	want := append([]string{"Patient/" + pid}, obs...)
	slices.Sort(want)
	if got := refs(c.download(m)); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("resumed export: %v, want %v", got, want)
	}

	// A job started as often as allowed fails cleanly.
	status = c.kickoff(http.MethodGet, "/fhir/Patient/$export?patient=Patient/"+pid, nil)
	id = strings.TrimPrefix(status, "/fhir/$export-status/")
	if _, err := env.pool.Exec(ctx, `UPDATE export_jobs SET status = 'running', leased_by = 'gone', lease_until = now() - interval '1 second', attempts = 3 WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	m = c.waitExport(status)
	if len(m.Output) != 0 || len(m.Error) != 1 || m.Error[0].Type != "OperationOutcome" {
		t.Fatalf("failed job's manifest: %+v", m)
	}
	body := c.do(http.MethodGet, strings.TrimPrefix(m.Error[0].URL, c.base), nil).must(t, http.StatusOK)
	if !strings.Contains(string(body.raw), `"resourceType":"OperationOutcome"`) || !strings.Contains(string(body.raw), "started 3 times") {
		t.Errorf("error file: %s", body.raw)
	}
}

// TestExportServerRestart stops a server's runner in the middle of a job,
// as a shutdown does, and checks that the next server's runner picks the
// job up at once and completes it.
func TestExportServerRestart(t *testing.T) {
	slow := fastExports
	slow.Settle = 3 * time.Second // the job waits long enough to be interrupted
	slow.Lease = time.Minute      // a runner that died would hold the job this long
	env := exportServer(t, rest.Options{}, slow, false)
	c := env.c
	pid, obs := seedPatient(t, c, "Shutdown"+uniq, 2)
	stop := env.startRunner(t, slow)
	status := c.kickoff(http.MethodGet, "/fhir/Patient/$export?patient=Patient/"+pid, nil)
	id := strings.TrimPrefix(status, "/fhir/$export-status/")
	deadline := time.Now().Add(10 * time.Second)
	for {
		var s string
		if err := env.pool.QueryRow(context.Background(), `SELECT status FROM export_jobs WHERE id = $1`, id).Scan(&s); err != nil {
			t.Fatal(err)
		}
		if s == "running" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the job was never taken")
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	stopped := time.Now()
	c.do(http.MethodGet, status, nil).must(t, http.StatusAccepted)
	// A new server on the same database (another replica, or the restart).
	second := testServerWith(t, store.New(env.pool), nil, rest.Options{})
	(&exportEnv{st: store.New(env.pool)}).startRunner(t, fastExports)
	m := second.waitExport(status)
	if d := time.Since(stopped); d > 20*time.Second {
		t.Errorf("the job was resumed %s after the shutdown, as if its lease had not been released", d)
	}
	if got := refs(second.download(m)); len(got) != len(obs)+1 {
		t.Errorf("after the restart: %v", got)
	}
}

// TestExportSplitAndExpiry checks that a type's output is split at the
// configured size, and that a finished job and its files expire.
func TestExportSplitAndExpiry(t *testing.T) {
	opt := fastExports
	opt.FileBytes = 600
	opt.Expiry = 1500 * time.Millisecond
	env := exportServer(t, rest.Options{}, opt, true)
	c := env.c
	pid, obs := seedPatient(t, c, "Split"+uniq, 8)
	status := c.kickoff(http.MethodGet, "/fhir/Patient/$export?_type=Observation&patient=Patient/"+pid, nil)
	m := c.waitExport(status)
	if len(m.Output) < 3 {
		t.Errorf("8 Observations in files of 600 bytes: %d files", len(m.Output))
	}
	if got := c.download(m); len(got) != len(obs) {
		t.Errorf("split export: %d resources, want %d", len(got), len(obs))
	}
	time.Sleep(2 * time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for c.do(http.MethodGet, status, nil).status != http.StatusNotFound {
		if time.Now().After(deadline) {
			t.Fatal("the job did not expire")
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.do(http.MethodGet, strings.TrimPrefix(m.Output[0].URL, c.base), nil).must(t, http.StatusNotFound)
}

// jsonString renders v as JSON.
func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
