package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hce-fhir/hce/internal/hacluster"
	"github.com/jackc/pgx/v5"
)

// failoverBound is how long a group may take to accept writes again after
// its primary was killed.
const failoverBound = 30 * time.Second

// TestPatroniFailover runs HCE on a highly available Citus cluster (a
// Patroni-managed primary and synchronous standby for the coordinator and
// two workers, on etcd, all on loopback) under a write/read load, kills a
// worker's primary PostgreSQL with SIGKILL, then the coordinator's, and
// checks that each group accepts writes again within failoverBound, that
// the same server keeps serving without a restart, that requests during a
// switch fail only with 503, an OperationOutcome and Retry-After, and that
// every write that was acknowledged is read back afterwards. It is skipped
// when patroni, etcd or the citus extension are missing.
func TestPatroniFailover(t *testing.T) {
	if err := hacluster.Available(); err != nil {
		t.Skip("Patroni failover test: " + err.Error())
	}
	if testing.Short() {
		t.Skip("Patroni failover test: not with -short")
	}
	ctx := context.Background()
	began := time.Now()
	cl, err := hacluster.Start(ctx, hacluster.Options{Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	t.Logf("cluster healthy in %s", time.Since(began).Round(time.Millisecond))

	base, token, served := startHAServe(t, cl.URL())
	load := newHALoad(base, token)

	// A patient on each worker group, whose Observations only that group
	// (and the coordinator) must serve.
	pinned := pinPatients(t, cl, load)

	lctx, stopLoad := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() { defer wg.Done(); load.client(lctx, fmt.Sprintf("ha%s-%d", uniq, i), 5000) }()
	}
	for g, id := range pinned {
		wg.Add(1)
		go func() { defer wg.Done(); load.probe(lctx, id, g, 100*time.Millisecond, 5000) }()
	}
	stop := func() { stopLoad(); wg.Wait() }
	defer stop()
	pause(ctx, 3*time.Second)

	type kill struct {
		name     string
		group    int // whose primary is killed
		need     int // the group a write must need to count as recovered; -1: any write
		at, back time.Time
	}
	kills := []*kill{{name: "worker group 1", group: 1, need: 1}, {name: "coordinator", group: 0, need: -1}}
	for _, k := range kills {
		leader, err := cl.Leader(ctx, k.group)
		if err != nil {
			t.Fatal(err)
		}
		if k.at, err = cl.KillPostgres(leader); err != nil {
			t.Fatal(err)
		}
		t.Logf("killed the %s primary %s (%s) with SIGKILL", k.name, leader.Name, leader.Addr())
		deadline := k.at.Add(2 * failoverBound)
		for {
			_, op, failed, ok := resumed(load.snapshot(), k.at, k.need)
			if ok {
				k.back = op.done
				break
			}
			if !failed && time.Since(k.at) > 10*time.Second {
				t.Fatalf("%s: no write failed within 10 s of the kill: was %s the primary?", k.name, leader.Name)
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: no write succeeded within %s of the kill\n%s", k.name, 2*failoverBound, cl.Log(leader, 4000))
			}
			pause(ctx, 100*time.Millisecond)
		}
		took := k.back.Sub(k.at)
		if took > failoverBound {
			t.Errorf("%s: writes resumed %s after the kill, more than %s", k.name, took.Round(time.Millisecond), failoverBound)
		}
		// The old primary rejoins as the synchronous standby before the
		// next kill, so that no acknowledged write depends on one copy.
		wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		err = cl.WaitHealthy(wctx)
		cancel()
		if err != nil {
			t.Fatalf("after the %s failover: %v\n%s", k.name, err, cl.Log(leader, 4000))
		}
		t.Logf("%s: healthy again (old primary back as synchronous standby) %s after the kill", k.name, time.Since(k.at).Round(time.Millisecond))
		pause(ctx, 2*time.Second)
	}
	pause(ctx, 2*time.Second)
	stop()

	select {
	case code := <-served:
		t.Fatalf("hce serve exited with %d during the test", code)
	default:
	}

	ops := load.snapshot()
	// Figures per kill: from the kill to the first write that succeeded.
	for _, k := range kills {
		failed, total, kinds := failures(ops, k.at, k.back)
		firstFail, _, _, _ := resumed(ops, k.at, k.need)
		t.Logf("failover of the %s: first write failed %s and writes resumed %s after SIGKILL; %d of %d requests sent meanwhile failed: %s",
			k.name, firstFail.Sub(k.at).Round(time.Millisecond), k.back.Sub(k.at).Round(time.Millisecond), failed, total, kindList(kinds))
	}

	// While worker group 1 failed over, the probe of worker group 2 kept
	// writing.
	other, otherFailed := 0, 0
	for _, o := range ops {
		if o.group == 2 && !o.sent.Before(kills[0].at) && !o.sent.After(kills[0].back) {
			other++
			if !o.ok() {
				otherFailed++
			}
		}
	}
	t.Logf("worker group 2 during the failover of group 1: %d of %d probe writes failed", otherFailed, other)
	if other == 0 || otherFailed > 0 {
		t.Errorf("worker group 2 during the failover of group 1: %d of %d probe writes failed, want 0 of more than 0", otherFailed, other)
	}

	// No 500s, no request left without an answer: every failure is a 503
	// with an OperationOutcome and Retry-After.
	bad := map[string]int{}
	writes, reads, failed, outside := 0, 0, 0, 0
	var acked []string
	for _, o := range ops {
		if o.isWrite() {
			writes++
		} else {
			reads++
		}
		if o.ok() {
			if o.ref != "" {
				acked = append(acked, o.ref)
			}
			continue
		}
		failed++
		if !inWindows(o.sent, kills[0].at, kills[0].back, kills[1].at, kills[1].back) {
			outside++
		}
		if o.status != http.StatusServiceUnavailable || !o.outcome || !o.retryAfter {
			bad[o.what+": "+o.kind()]++
		}
	}
	if len(bad) > 0 {
		t.Errorf("requests that failed otherwise than 503 with an OperationOutcome and Retry-After: %s", kindList(bad))
	}
	t.Logf("load: %d writes and %d reads, %d failed (%d of them sent after writes had resumed: a pooled connection to a dead primary fails once), %d writes acknowledged", writes, reads, failed, outside, len(acked))

	// Every acknowledged write is there, through the same server.
	lost := 0
	for _, ref := range acked {
		op := load.send(ctx, "read back", -1, http.MethodGet, "/fhir/"+ref, nil)
		if op.status != http.StatusOK {
			lost++
			if lost <= 5 {
				t.Errorf("acknowledged %s: read back %s", ref, op.kind())
			}
		}
	}
	t.Logf("writes lost: %d of %d acknowledged", lost, len(acked))
	if len(acked) == 0 {
		t.Fatal("no write was acknowledged")
	}

	// hce verify --level ha --failover-cmd on the same deployment: it kills
	// worker group 2's primary itself and reports the times.
	leader, err := cl.Leader(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("HCE_TOKEN", token)
	var report, stderr bytes.Buffer
	code := run(ctx, []string{"verify", "--level", "ha", "--url", base + "/fhir", "--database-url", cl.URL(),
		"--patients", "20", "--per-patient", "2", "--failover-cmd", cl.KillCommand(leader)}, &report, &stderr)
	if code != 0 {
		t.Errorf("hce verify --level ha --failover-cmd exited with %d:\n%s\n%s", code, report.String(), tail(stderr.String(), 3000))
	}
	for _, m := range []string{"failover: first failure after kill", "failover: writes resume after kill",
		"failover: service restored after kill", "failover: requests during the switch", "failover: acknowledged writes lost"} {
		line := ""
		for _, l := range strings.Split(report.String(), "\n") {
			if strings.Contains(l, m) {
				line = l
			}
		}
		if line == "" {
			t.Errorf("the verify report has no %q:\n%s", m, report.String())
			continue
		}
		t.Logf("hce verify: %s", strings.TrimSpace(line))
	}
	if !strings.Contains(report.String(), "| 0 of ") {
		t.Errorf("the verify report does not say 0 acknowledged writes were lost:\n%s", report.String())
	}
}

// startHAServe runs `hce serve` with authentication on against the
// cluster's multi-host URL and returns its base URL, a token of its own key
// with system/*.cruds, and a channel that receives its exit status.
func startHAServe(t *testing.T, url string) (base, token string, done chan int) {
	t.Helper()
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	sctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	done = make(chan int, 1)
	go func() {
		done <- run(sctx, []string{"serve", "--addr", addr, "--database-url", url, "--data-dir", dir,
			"--auth", "on", "--shard-count", "4", "--pool-size", "8"}, io.Discard, logs)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("hce serve did not stop within 30s")
		}
		if t.Failed() {
			t.Logf("hce serve errors:\n%s", tail(errorLines(logs.String()), 8000))
		}
	})
	base = "http://" + addr
	deadline := time.Now().Add(2 * time.Minute)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case code := <-done:
			t.Fatalf("hce serve exited with %d:\n%s", code, logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("hce serve not ready within 2m:\n%s", logs)
		}
		time.Sleep(200 * time.Millisecond)
	}
	var out bytes.Buffer
	if code := run(context.Background(), []string{"token", "--scope", "system/*.cruds", "--data-dir", dir, "--ttl", "2h"}, &out, io.Discard); code != 0 {
		t.Fatalf("hce token exited with %d", code)
	}
	return base, strings.TrimSpace(out.String()), done
}

// pinPatients creates Patients until every worker group holds one, and
// returns one id per group.
func pinPatients(t *testing.T, cl *hacluster.Cluster, load *haLoad) map[int]string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, cl.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	pinned := map[int]string{}
	for i := 0; len(pinned) < cl.Groups()-1; i++ {
		if i == 64 {
			t.Fatalf("64 Patients and still no patient on every worker group: %v", pinned)
		}
		op := load.send(ctx, "create Patient", -1, http.MethodPost, "/fhir/Patient", haPatient("Pinned"+uniq))
		if !op.ok() {
			t.Fatalf("create Patient: %s", op.kind())
		}
		id := strings.TrimPrefix(op.ref, "Patient/")
		var group int
		if err := conn.QueryRow(ctx, `SELECT p.groupid FROM pg_dist_placement p
WHERE p.shardid = get_shard_id_for_distribution_column('resources', hce_route($1))`, id).Scan(&group); err != nil {
			t.Fatal(err)
		}
		if _, ok := pinned[group]; !ok && group > 0 {
			pinned[group] = id
		}
	}
	return pinned
}

// inWindows reports whether t falls in one of the spans [from, to] given
// as pairs.
func inWindows(t time.Time, spans ...time.Time) bool {
	for i := 0; i+1 < len(spans); i += 2 {
		if !t.Before(spans[i]) && !t.After(spans[i+1]) {
			return true
		}
	}
	return false
}

func kindList(kinds map[string]int) string {
	if len(kinds) == 0 {
		return "none"
	}
	var parts []string
	for k, n := range kinds {
		parts = append(parts, fmt.Sprintf("%d × %s", n, k))
	}
	return strings.Join(parts, ", ")
}

// errorLines keeps the log lines of failed requests whose error was not
// taken for the database being unavailable (those are answered with 503).
func errorLines(log string) string {
	var keep []string
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, `"msg":"request failed"`) && !strings.Contains(line, ": unavailable") {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "\n")
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
