package hacluster

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestPatroniConfig checks the invariants of a member's configuration that
// the failover test relies on: Citus mode with the member's group,
// synchronous replication, failover instead of an in-place restart after a
// crash, a Patroni loop that fits its ttl, and loopback addresses only.
func TestPatroniConfig(t *testing.T) {
	c := &Cluster{namespace: "/hce-test/", password: "secret", etcdPort: 2379, bin: binaries{pgBin: "/usr/lib/postgresql/15/bin"}}
	n := &Node{Name: "g1a", Group: 1, PGPort: 5433, RESTPort: 8009, dir: "/tmp/x/g1a"}
	raw, err := c.patroniConfig(n)
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Name  string `json:"name"`
		Citus struct {
			Group    int    `json:"group"`
			Database string `json:"database"`
		} `json:"citus"`
		Restapi   map[string]string `json:"restapi"`
		Bootstrap struct {
			DCS struct {
				TTL                 int  `json:"ttl"`
				LoopWait            int  `json:"loop_wait"`
				RetryTimeout        int  `json:"retry_timeout"`
				SynchronousMode     bool `json:"synchronous_mode"`
				PrimaryStartTimeout *int `json:"primary_start_timeout"`
			} `json:"dcs"`
		} `json:"bootstrap"`
		PostgreSQL struct {
			Listen  string   `json:"listen"`
			DataDir string   `json:"data_dir"`
			PgHBA   []string `json:"pg_hba"`
		} `json:"postgresql"`
	}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	dcs := cfg.Bootstrap.DCS
	if cfg.Name != "g1a" || cfg.Citus.Group != 1 || cfg.Citus.Database != Database {
		t.Errorf("member %q, citus %+v", cfg.Name, cfg.Citus)
	}
	if !dcs.SynchronousMode {
		t.Error("synchronous_mode is off")
	}
	if dcs.PrimaryStartTimeout == nil || *dcs.PrimaryStartTimeout != 0 {
		t.Error("primary_start_timeout is not 0: a crashed primary would be restarted in place")
	}
	if dcs.LoopWait+2*dcs.RetryTimeout > dcs.TTL {
		t.Errorf("loop_wait %d + 2 × retry_timeout %d exceeds ttl %d", dcs.LoopWait, dcs.RetryTimeout, dcs.TTL)
	}
	for _, addr := range []string{cfg.Restapi["listen"], cfg.PostgreSQL.Listen} {
		if !strings.HasPrefix(addr, "127.0.0.1:") {
			t.Errorf("listens on %q, not loopback", addr)
		}
	}
	if cfg.PostgreSQL.DataDir != n.DataDir() {
		t.Errorf("data_dir %q", cfg.PostgreSQL.DataDir)
	}
	for _, line := range cfg.PostgreSQL.PgHBA {
		if strings.HasPrefix(line, "host") && !strings.Contains(line, "127.0.0.1/32 scram-sha-256") {
			t.Errorf("pg_hba line %q is not scram-sha-256 on loopback", line)
		}
	}
}

// TestIsZombie reads the state field of /proc/PID/stat, whose command name
// may hold spaces and parentheses.
func TestIsZombie(t *testing.T) {
	for stat, want := range map[string]bool{
		"123 (patroni) Z 1 123 123 0":         true,
		"123 (postgres) S 1 123 123 0":        false,
		"123 (a (b) c) Z 1 123 123 0":         true,
		"123 (pg_basebackup) R 99 99 99 0 -1": false,
	} {
		if got := isZombie([]byte(stat)); got != want {
			t.Errorf("isZombie(%q) = %t, want %t", stat, got, want)
		}
	}
}
