package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/hce-fhir/hce/fhir/rest"
	"github.com/hce-fhir/hce/internal/testdb"
	"github.com/hce-fhir/hce/store"
)

// TestCitusWorkerFailure stops one Citus worker and checks the failure
// behaviour: requests that need it fail fast with 503, an OperationOutcome
// and Retry-After; requests for other shards keep working; when the worker
// is back, requests succeed again without restarting the server. It needs a
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
	for i := range 16 {
		p := patient("Failover")
		p["id"] = fmt.Sprintf("fo-%s-%d", uniq, i)
		c.do("PUT", "/fhir/Patient/"+p["id"].(string), p).must(t, 201)
		ids = append(ids, p["id"].(string))
	}
	// Which worker holds each patient's shard.
	rows, err := pool.Query(ctx, `SELECT p.id, s.nodename || ':' || s.nodeport
FROM unnest($1::text[]) AS p(id)
JOIN citus_shards s ON s.table_name = 'resources'::regclass
 AND s.shardid = get_shard_id_for_distribution_column('resources', p.id)`, ids)
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

	sh := func(cmd string) {
		t.Helper()
		if out, err := exec.Command("sh", "-c", cmd).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", cmd, err, out)
		}
	}
	sh(stop)
	t.Cleanup(func() { _ = exec.Command("sh", "-c", start).Run() })

	r := c.do("GET", "/fhir/Patient/"+down, nil).must(t, 503)
	r.outcome(t, worker)
	if r.header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	c.do("GET", "/fhir/Patient/"+up, nil).must(t, 200)

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
}
