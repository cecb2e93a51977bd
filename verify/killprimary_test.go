package verify

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// switchServer stands in for an HCE server in front of a group whose
// primary is killed: reads and writes of every patient fail the way it is
// told while down, and each acknowledged Observation is kept, so that it
// reads back unless the server loses it.
type switchServer struct {
	down   atomic.Bool
	status int  // the failure status; 503 if 0
	lose   bool // acknowledged writes are not kept

	mu   sync.Mutex
	obs  map[string]bool
	next int
}

func (s *switchServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/fhir+json")
	if s.down.Load() {
		status := s.status
		if status == 0 {
			status = http.StatusServiceUnavailable
		}
		w.Header().Set("Retry-After", "5")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]any{"resourceType": "OperationOutcome",
			"issue": []any{map[string]any{"severity": "error", "code": "transient", "diagnostics": "primary gone"}}})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/fhir/Observation":
		s.next++
		id := "o" + strings.Repeat("x", s.next%3) + string(rune('a'+s.next%26)) + time.Now().Format("150405.000000")
		if !s.lose {
			s.obs[id] = true
		}
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]any{"resourceType": "Observation", "id": id,
			"meta": map[string]any{"tag": []any{map[string]any{"system": TagSystem, "code": "run"}}}})
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/fhir/Patient/"):
		json.NewEncoder(w).Encode(map[string]any{"resourceType": "Patient", "id": strings.TrimPrefix(r.URL.Path, "/fhir/Patient/")})
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/fhir/Observation/"):
		id := strings.TrimPrefix(r.URL.Path, "/fhir/Observation/")
		if !s.obs[id] {
			http.NotFound(w, r)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"resourceType": "Observation", "id": id,
			"meta": map[string]any{"tag": []any{map[string]any{"system": TagSystem, "code": "run"}}}})
	default:
		http.NotFound(w, r)
	}
}

func TestKillPrimary(t *testing.T) {
	tests := []struct {
		name    string
		server  *switchServer
		outage  time.Duration // how long after the kill requests fail; 0: they never do
		never   bool          // requests fail for good
		bound   time.Duration
		wantOK  map[string]bool // check name → OK; checks not named must be absent
		metrics []string
	}{
		{
			name: "503 during a short switch", server: &switchServer{}, outage: 300 * time.Millisecond, bound: 5 * time.Second,
			wantOK: map[string]bool{"reads and writes before the kill": true, "kill a primary (--failover-cmd)": true,
				"failover": true, "failure answer (503, OperationOutcome, Retry-After)": true},
			metrics: []string{"failover: first failure after kill", "failover: writes resume after kill",
				"failover: service restored after kill", "failover: requests during the switch"},
		},
		{
			name: "500 during the switch", server: &switchServer{status: 500}, outage: 300 * time.Millisecond, bound: 5 * time.Second,
			wantOK: map[string]bool{"reads and writes before the kill": true, "kill a primary (--failover-cmd)": true,
				"failover": true, "failure answer (503, OperationOutcome, Retry-After)": false},
		},
		{
			name: "slower than the bound", server: &switchServer{}, outage: 600 * time.Millisecond, bound: 200 * time.Millisecond,
			wantOK: map[string]bool{"reads and writes before the kill": true, "kill a primary (--failover-cmd)": true,
				"failover": false, "failure answer (503, OperationOutcome, Retry-After)": true},
		},
		{
			name: "never fails over", server: &switchServer{}, never: true, bound: 5 * time.Second,
			wantOK: map[string]bool{"reads and writes before the kill": true, "kill a primary (--failover-cmd)": true,
				"failover": false, "failure answer (503, OperationOutcome, Retry-After)": true},
			metrics: []string{"failover: service restored after kill"},
		},
		{
			name: "nothing fails", server: &switchServer{}, bound: 5 * time.Second,
			wantOK: map[string]bool{"reads and writes before the kill": true, "kill a primary (--failover-cmd)": true, "failover": true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := tt.server
			srv.obs = map[string]bool{}
			hs := httptest.NewServer(srv)
			t.Cleanup(hs.Close)
			c := &client{hc: hs.Client(), base: hs.URL + "/fhir", root: hs.URL}
			cfg := fastConfig()
			cfg.FailoverWithin = tt.bound
			kill := func(context.Context) (string, error) {
				if tt.outage > 0 || tt.never {
					srv.down.Store(true)
				}
				if !tt.never {
					time.AfterFunc(tt.outage, func() { srv.down.Store(false) })
				}
				return "killed", nil
			}
			set := newTestSet("run", 2, 1)
			res := measureKill(context.Background(), c, set, cfg, twoProbes, kill, t.Logf)
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
			for _, m := range tt.metrics {
				if rep.Metric(m) == "" {
					t.Errorf("metric %q missing from %+v", m, rep.Metrics)
				}
			}
			if o := res.outage(); len(o.acked) == 0 {
				t.Error("no write was acknowledged")
			}
			if t.Failed() {
				t.Log("\n" + rep.Markdown())
			}
		})
	}
}

// TestKillPrimaryReadBack runs the whole scenario as hce verify does, with a
// real shell command, and finds the acknowledged writes a server lost.
func TestKillPrimaryReadBack(t *testing.T) {
	for _, lose := range []bool{false, true} {
		srv := &switchServer{obs: map[string]bool{}, lose: lose}
		hs := httptest.NewServer(srv)
		cfg := fastConfig()
		cfg.FailoverCmd = "true"
		v := &runner{cfg: cfg, logf: t.Logf, rep: &Report{}, set: newTestSet("run", 2, 1),
			c: &client{hc: hs.Client(), base: hs.URL + "/fhir", root: hs.URL}}
		v.set.patientIDs = []string{"p1", "p2"}
		v.killPrimary(context.Background())
		hs.Close()
		ch, ok := v.rep.Check("acknowledged writes read back")
		if !ok || ch.OK == lose {
			t.Errorf("lose %t: read-back check %+v (present %t)", lose, ch, ok)
		}
		if m := v.rep.Metric("failover: acknowledged writes lost"); lose == strings.HasPrefix(m, "0 of") {
			t.Errorf("lose %t: metric %q", lose, m)
		}
		if n := len(v.set.obsIDs[0]) + len(v.set.obsIDs[1]); n == 0 {
			t.Errorf("lose %t: the acknowledged writes were not added to the test set for cleanup", lose)
		}
	}
}
