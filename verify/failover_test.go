package verify

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// outageServer stands in for an HCE server in front of a cluster whose
// worker "w2" can be stopped: while it is down, reads of the patients on it
// fail the way the server is told to; reads of the others answer 200.
type outageServer struct {
	down       atomic.Bool
	onW2       map[string]bool // patient ids whose shard is on w2
	alsoOthers bool            // the outage hits every patient, not only w2's
	status     int             // the failure status; 503 if 0
	noOutcome  bool            // fail without an OperationOutcome body
	noRetry    bool            // fail without Retry-After
	startDown  bool            // w2 is down before the test stops it
}

func (s *outageServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id, ok := strings.CutPrefix(r.URL.Path, "/fhir/Patient/")
	if !ok || r.Method != http.MethodGet {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/fhir+json")
	if s.down.Load() && (s.onW2[id] || s.alsoOthers) {
		status := s.status
		if status == 0 {
			status = http.StatusServiceUnavailable
		}
		if !s.noRetry {
			w.Header().Set("Retry-After", "5")
		}
		w.WriteHeader(status)
		if !s.noOutcome {
			json.NewEncoder(w).Encode(map[string]any{"resourceType": "OperationOutcome",
				"issue": []any{map[string]any{"severity": "error", "code": "transient", "diagnostics": "worker w2 unreachable"}}})
		}
		return
	}
	json.NewEncoder(w).Encode(map[string]any{"resourceType": "Patient", "id": id})
}

// fastConfig paces a failover in tenths of a second.
func fastConfig() Config {
	return Config{pollEvery: 20 * time.Millisecond, readTimeout: time.Second,
		failWithin: time.Second, hold: 150 * time.Millisecond, recoverWithin: 2 * time.Second, settle: 100 * time.Millisecond}.withDefaults()
}

func newOutage(t *testing.T, s *outageServer) *client {
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return &client{hc: srv.Client(), base: srv.URL + "/fhir", root: srv.URL}
}

// probes on two workers: p1 on w2 (the one stopped), p2 on w1.
var twoProbes = []probe{{ref: "Patient/p1", nodes: []string{"w2"}}, {ref: "Patient/p2", nodes: []string{"w1"}}}

func TestFailover(t *testing.T) {
	const restartDelay = 200 * time.Millisecond
	tests := []struct {
		name   string
		server *outageServer
		probes []probe
		// start brings w2 back after restartDelay unless noRestart.
		noRestart bool
		noStop    bool // the stop command stops nothing
		stopFails bool
		noStart   bool            // neither command may run
		wantOK    map[string]bool // check name → OK; checks not named must be absent
		metric    string          // a metric that must be present
	}{
		{
			name: "503 outage on one worker, recovery", server: &outageServer{onW2: map[string]bool{"p1": true}}, probes: twoProbes,
			wantOK: map[string]bool{"reads before the stop": true, "stop worker (--stop-worker-cmd)": true,
				"reads fail while the worker is down": true, "failure answer (503, OperationOutcome, Retry-After)": true,
				"other workers keep answering": true, "start worker (--start-worker-cmd)": true, "recovery": true},
			metric: "failover: fail duration",
		},
		{
			name: "500 without OperationOutcome or Retry-After", server: &outageServer{onW2: map[string]bool{"p1": true}, status: 500, noOutcome: true, noRetry: true}, probes: twoProbes,
			wantOK: map[string]bool{"reads before the stop": true, "stop worker (--stop-worker-cmd)": true,
				"reads fail while the worker is down": true, "failure answer (503, OperationOutcome, Retry-After)": false,
				"other workers keep answering": true, "start worker (--start-worker-cmd)": true, "recovery": true},
		},
		{
			name: "503 without Retry-After", server: &outageServer{onW2: map[string]bool{"p1": true}, noRetry: true}, probes: twoProbes,
			wantOK: map[string]bool{"reads before the stop": true, "stop worker (--stop-worker-cmd)": true,
				"reads fail while the worker is down": true, "failure answer (503, OperationOutcome, Retry-After)": false,
				"other workers keep answering": true, "start worker (--start-worker-cmd)": true, "recovery": true},
		},
		{
			name: "the outage reaches the other worker's patients", server: &outageServer{onW2: map[string]bool{"p1": true}, alsoOthers: true}, probes: twoProbes,
			wantOK: map[string]bool{"reads before the stop": true, "stop worker (--stop-worker-cmd)": true,
				"reads fail while the worker is down": true, "failure answer (503, OperationOutcome, Retry-After)": true,
				"other workers keep answering": false, "start worker (--start-worker-cmd)": true, "recovery": true},
		},
		{
			name: "the stop command stops nothing", server: &outageServer{onW2: map[string]bool{"p1": true}}, probes: twoProbes, noStop: true,
			wantOK: map[string]bool{"reads before the stop": true, "stop worker (--stop-worker-cmd)": true,
				"reads fail while the worker is down": false, "start worker (--start-worker-cmd)": true},
		},
		{
			name: "the stop command fails", server: &outageServer{onW2: map[string]bool{"p1": true}}, probes: twoProbes, noStop: true, stopFails: true,
			wantOK: map[string]bool{"reads before the stop": true, "stop worker (--stop-worker-cmd)": false,
				"reads fail while the worker is down": false, "start worker (--start-worker-cmd)": true},
		},
		{
			name: "never recovers", server: &outageServer{onW2: map[string]bool{"p1": true}}, probes: twoProbes, noRestart: true,
			wantOK: map[string]bool{"reads before the stop": true, "stop worker (--stop-worker-cmd)": true,
				"reads fail while the worker is down": true, "failure answer (503, OperationOutcome, Retry-After)": true,
				"other workers keep answering": true, "start worker (--start-worker-cmd)": true, "recovery": false},
			metric: "failover: recovery time",
		},
		{
			name: "already failing before the stop", server: &outageServer{onW2: map[string]bool{"p1": true}, startDown: true}, probes: twoProbes,
			wantOK:  map[string]bool{"reads before the stop": false, "stop worker (--stop-worker-cmd)": false},
			noStart: true,
		},
		{
			name: "placement unknown", server: &outageServer{onW2: map[string]bool{"p1": true, "p3": true}},
			probes: []probe{{ref: "Patient/p1"}, {ref: "Patient/p2"}, {ref: "Patient/p3"}},
			wantOK: map[string]bool{"reads before the stop": true, "stop worker (--stop-worker-cmd)": true,
				"reads fail while the worker is down": true, "failure answer (503, OperationOutcome, Retry-After)": true,
				"start worker (--start-worker-cmd)": true, "recovery": true},
			metric: "failover: other patients",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := tt.server
			c := newOutage(t, srv)
			srv.down.Store(srv.startDown)
			var started, stopped atomic.Bool
			stop := func(context.Context) (string, error) {
				stopped.Store(true)
				if tt.stopFails {
					return "no such container", errTest
				}
				if !tt.noStop {
					srv.down.Store(true)
				}
				return "stopped", nil
			}
			start := func(context.Context) (string, error) {
				started.Store(true)
				if !tt.noRestart {
					time.AfterFunc(restartDelay, func() { srv.down.Store(false) })
				}
				return "started", nil
			}
			res := measureFailover(context.Background(), c, fastConfig(), tt.probes, stop, start, t.Logf)
			if tt.noStart {
				if stopped.Load() || started.Load() {
					t.Errorf("stop ran %t, start ran %t; want neither", stopped.Load(), started.Load())
				}
			} else if !started.Load() {
				t.Fatal("the worker was not started again")
			}
			var rep Report
			res.report(&rep)
			got := map[string]bool{}
			for _, ch := range rep.Checks {
				got[ch.Name] = ch.OK
				if want, ok := tt.wantOK[ch.Name]; !ok {
					t.Errorf("unexpected check %q (%t: %s)", ch.Name, ch.OK, ch.Detail)
				} else if want != ch.OK {
					t.Errorf("check %q OK = %t, want %t: %s", ch.Name, ch.OK, want, ch.Detail)
				}
			}
			for name := range tt.wantOK {
				if _, ok := got[name]; !ok {
					t.Errorf("check %q missing", name)
				}
			}
			if tt.metric != "" && rep.Metric(tt.metric) == "" {
				t.Errorf("metric %q missing from %+v", tt.metric, rep.Metrics)
			}
			if t.Failed() {
				t.Log("\n" + rep.Markdown())
			}
		})
	}
}

var errTest = errors.New("exit status 1")

// TestFailoverTiming checks what the timings measure: the first failure
// comes after the stop, recovery takes at least as long as the worker took
// to come back after the start command, and the failure lasts at least the
// hold plus that delay.
func TestFailoverTiming(t *testing.T) {
	const restartDelay = 300 * time.Millisecond
	srv := &outageServer{onW2: map[string]bool{"p1": true}}
	c := newOutage(t, srv)
	cfg := fastConfig()
	stop := func(context.Context) (string, error) { srv.down.Store(true); return "", nil }
	start := func(context.Context) (string, error) {
		time.AfterFunc(restartDelay, func() { srv.down.Store(false) })
		return "", nil
	}
	res := measureFailover(context.Background(), c, cfg, twoProbes, stop, start, t.Logf)
	if !res.failed || !res.recovered {
		t.Fatalf("failed %t, recovered %t", res.failed, res.recovered)
	}
	if res.failProbe != 0 || res.downNode() != "w2" {
		t.Errorf("first failure on probe %d, down node %q; want probe 0 on w2", res.failProbe, res.downNode())
	}
	if !res.firstFail.After(res.stop.at) {
		t.Errorf("first failure %v is not after the stop %v", res.firstFail, res.stop.at)
	}
	if rec := res.recoveredAt.Sub(res.start.at); rec < restartDelay {
		t.Errorf("recovery %v, shorter than the %v the worker took", rec, restartDelay)
	}
	if d := res.recoveredAt.Sub(res.firstFail); d < cfg.hold+restartDelay {
		t.Errorf("fail duration %v, shorter than hold %v + restart %v", d, cfg.hold, restartDelay)
	}
	// Every read of p1 between the first failure and the recovery failed,
	// and every read of p2 succeeded.
	for _, s := range res.samples[0] {
		if s.at.After(res.firstFail) && s.at.Before(res.recoveredAt) && s.ok {
			t.Errorf("p1 answered at %v, inside the outage", s.at)
		}
		if !s.ok && s.kind != goodFailure {
			t.Errorf("p1 failed as %q", s.kind)
		}
	}
	for _, s := range res.samples[1] {
		if !s.ok {
			t.Errorf("p2 failed at %v: %s", s.at, s.kind)
		}
	}
}

// TestFailoverCancelled checks that a run cancelled during the outage still
// starts the worker again.
func TestFailoverCancelled(t *testing.T) {
	srv := &outageServer{onW2: map[string]bool{"p1": true}}
	c := newOutage(t, srv)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stop := func(context.Context) (string, error) {
		// The operator pressed Ctrl-C as the worker went down; cancelling
		// first means no read can see the outage.
		cancel()
		srv.down.Store(true)
		return "", nil
	}
	var startCtxErr error
	started := false
	start := func(sctx context.Context) (string, error) {
		started, startCtxErr = true, sctx.Err()
		srv.down.Store(false)
		return "", nil
	}
	res := measureFailover(ctx, c, fastConfig(), twoProbes, stop, start, t.Logf)
	if !started || startCtxErr != nil {
		t.Fatalf("start ran %t with context error %v; want it run on a live context", started, startCtxErr)
	}
	if res.start.at.IsZero() {
		t.Error("the start time was not recorded")
	}
	var rep Report
	res.report(&rep)
	if ch, ok := rep.Check("reads fail while the worker is down"); !ok || ch.OK || !strings.Contains(ch.Detail, "not measured: the run ended first") {
		t.Errorf("a cancelled run reports %+v", ch)
	}
	if ch, ok := rep.Check("start worker (--start-worker-cmd)"); !ok || !ch.OK {
		t.Errorf("start check %+v", ch)
	}
}

func TestRecoveredAt(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	ok := func(ms int) sample { return sample{at: at(ms), ok: true} }
	bad := func(ms int) sample { return sample{at: at(ms)} }
	tests := []struct {
		name    string
		samples [][]sample
		want    time.Time
		ok      bool
	}{
		{"nothing failed", [][]sample{{ok(1), ok(2)}}, time.Time{}, true},
		{"a failure before t does not count", [][]sample{{bad(-5), ok(1)}}, time.Time{}, true},
		{"still failing", [][]sample{{ok(1), bad(2)}}, time.Time{}, false},
		{"back after flapping", [][]sample{{bad(1), ok(2), bad(3), ok(4), ok(5)}}, at(4), true},
		{"the last probe to recover counts", [][]sample{{bad(1), ok(2)}, {bad(1), bad(6), ok(7)}, {ok(3)}}, at(7), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := recoveredAt(tt.samples, t0)
			if !got.Equal(tt.want) || ok != tt.ok {
				t.Errorf("recoveredAt = %v, %t; want %v, %t", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestShell(t *testing.T) {
	dir := t.TempDir()
	flag := filepath.Join(dir, "down")
	tests := []struct {
		name    string
		cmd     string
		timeout time.Duration
		out     string
		wantErr string
		check   func(t *testing.T)
	}{
		{name: "runs with sh -c", cmd: "touch " + flag + " && echo stopped worker2", out: "stopped worker2\n",
			check: func(t *testing.T) {
				if _, err := os.Stat(flag); err != nil {
					t.Error("the command did not run:", err)
				}
			}},
		{name: "exit status", cmd: "echo no such container >&2; exit 3", out: "no such container\n", wantErr: "exit status 3"},
		{name: "a background daemon does not hold it up", cmd: "sleep 30 >/dev/null 2>&1 & echo started", out: "started\n"},
		{name: "bounded", cmd: "sleep 30", timeout: 200 * time.Millisecond, wantErr: "killed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			began := time.Now()
			out, err := shell(tt.cmd)(ctx)
			if out != tt.out {
				t.Errorf("output %q, want %q", out, tt.out)
			}
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("error %v, want %q", err, tt.wantErr)
			}
			if time.Since(began) > 20*time.Second {
				t.Errorf("the command held verification for %v", time.Since(began))
			}
			if tt.check != nil {
				tt.check(t)
			}
		})
	}
}
