package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/hce-fhir/hce/internal/testdb"
	"github.com/hce-fhir/hce/rest"
	"github.com/hce-fhir/hce/store"
)

// TestCitusWorkerFailure stops one Citus worker and checks the failure
// behaviour: requests that need it fail fast with 503, an OperationOutcome
// and Retry-After; every interaction of a patient on the healthy worker
// keeps working (reads, searches, $everything, creates, updates, a
// transaction); /admin/cluster and /readyz name the dead worker; when it is
// back, requests succeed again without restarting the server. It needs a
// Citus coordinator in HCE_TEST_DATABASE_URL and the commands that stop and
// start one worker:
//
//	HCE_TEST_STOP_WORKER_CMD, HCE_TEST_START_WORKER_CMD, HCE_TEST_STOPPED_WORKER=host:port
func TestCitusWorkerFailure(t *testing.T) {
	stop, start, worker := os.Getenv("HCE_TEST_STOP_WORKER_CMD"), os.Getenv("HCE_TEST_START_WORKER_CMD"), os.Getenv("HCE_TEST_STOPPED_WORKER")
	if stop == "" || start == "" || worker == "" {
		t.Skip("Citus failure test: set HCE_TEST_STOP_WORKER_CMD, HCE_TEST_START_WORKER_CMD and HCE_TEST_STOPPED_WORKER (host:port) with HCE_TEST_DATABASE_URL on a Citus coordinator")
	}
	pool := testdb.Pool(t, store.MigrateUp)
	ctx := context.Background()
	if err := store.New(pool).CheckCitus(ctx); err != nil {
		t.Skip("Citus failure test: " + err.Error())
	}
	c := testServer(t, rest.Options{})
	var ids []string
	for range 16 {
		r := c.do("POST", "/fhir/Patient", patient("Failover")).must(t, 201)
		ids = append(ids, r.str("id"))
	}
	// Which worker holds each patient's shard group.
	rows, err := pool.Query(ctx, `SELECT p.id, s.nodename || ':' || s.nodeport
FROM unnest($1::text[]) AS p(id)
JOIN citus_shards s ON s.table_name = 'resources'::regclass
 AND s.shardid = get_shard_id_for_distribution_column('resources', hce_route(p.id))`, ids)
	if err != nil {
		t.Fatal(err)
	}
	var down, up string
	for rows.Next() {
		var id, node string
		if err := rows.Scan(&id, &node); err != nil {
			t.Fatal(err)
		}
		if node == worker && down == "" {
			down = id
		} else if node != worker && up == "" {
			up = id
		}
	}
	rows.Close()
	if down == "" || up == "" {
		t.Fatalf("no test patient on %s and another worker (%q, %q)", worker, down, up)
	}
	obs := func(p string) map[string]any {
		return map[string]any{"resourceType": "Observation", "status": "final",
			"code":    map[string]any{"coding": []any{map[string]any{"system": "http://loinc.org", "code": "8867-4"}}},
			"subject": map[string]any{"reference": "Patient/" + p}}
	}
	upObs := c.do("POST", "/fhir/Observation", obs(up)).must(t, 201).str("id")

	sh := func(cmd string) {
		t.Helper()
		if out, err := exec.Command("sh", "-c", cmd).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", cmd, err, out)
		}
	}
	sh(stop)
	t.Cleanup(func() { _ = exec.Command("sh", "-c", start).Run() })

	r := c.do("GET", "/fhir/Patient/"+down, nil).must(t, 503)
	r.outcome(t, "unavailable")
	if strings.Contains(string(r.raw), worker) {
		t.Errorf("the 503 names the worker's address (only /admin/cluster and /readyz may): %s", r.raw)
	}
	if r.header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	c.do("POST", "/fhir/Observation", obs(down)).must(t, 503)

	// Every interaction of the patient on the healthy worker keeps working.
	steps := []struct {
		method, path string
		body         func() any
		want         int
	}{
		{"GET", "/fhir/Patient/" + up, nil, 200},
		{"GET", "/fhir/Observation/" + upObs, nil, 200},
		{"GET", "/fhir/Observation/" + upObs + "/_history/1", nil, 200},
		{"GET", "/fhir/Observation?patient=" + up + "&code=8867-4", nil, 200},
		{"GET", "/fhir/Patient/" + up + "/Observation", nil, 200},
		{"GET", "/fhir/Patient/" + up + "/$everything", nil, 200},
		{"POST", "/fhir/Observation", func() any { return obs(up) }, 201},
		{"PUT", "/fhir/Observation/" + upObs, func() any { o := obs(up); o["id"] = upObs; return o }, 200},
		{"POST", "/fhir", func() any {
			return map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": []any{
				map[string]any{"fullUrl": "urn:uuid:5d4f0b1e-0000-4000-8000-000000000001", "resource": obs(up),
					"request": map[string]any{"method": "POST", "url": "Observation"}}}}
		}, 200},
	}
	errs := 0
	for round := range 5 {
		for _, st := range steps {
			var body any
			if st.body != nil {
				body = st.body()
			}
			if r := c.do(st.method, st.path, body); r.status != st.want {
				errs++
				t.Errorf("round %d: %s %s with %s down: %d, want %d: %.300s", round, st.method, st.path, worker, r.status, st.want, r.raw)
			}
		}
	}
	t.Logf("%d requests for a patient on a healthy worker while %s was down: %d errors", 5*len(steps), worker, errs)

	// The operator sees which worker is down.
	cl := c.do("GET", "/admin/cluster", nil).must(t, 200)
	var info store.ClusterInfo
	if err := json.Unmarshal(cl.raw, &info); err != nil {
		t.Fatal(err)
	}
	for _, w := range info.Workers {
		addr := fmt.Sprintf("%s:%d", w.Host, w.Port)
		if (addr == worker) == w.Reachable {
			t.Errorf("/admin/cluster says %s reachable=%v (error %q)", addr, w.Reachable, w.Error)
		}
	}
	ready := c.do("GET", "/readyz", nil).must(t, 200)
	if ready.str("status") != "degraded" || !strings.Contains(string(ready.raw), worker) {
		t.Errorf("/readyz with %s down: %s", worker, ready.raw)
	}

	sh(start)
	deadline := time.Now().Add(60 * time.Second)
	for {
		r := c.do("GET", "/fhir/Patient/"+down, nil)
		if r.status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no recovery within 60 s after the worker restarted: %d %s", r.status, r.raw)
		}
		time.Sleep(200 * time.Millisecond)
	}
	c.do("GET", "/readyz", nil).must(t, 200)
}
