package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/hce-fhir/hce/internal/testdb"
	"github.com/hce-fhir/hce/store"
)

// TestClusterCommands runs `hce cluster` against the test database. On plain
// PostgreSQL, status reports the plain mode and register and rebalance fail
// with a message that names the missing extension; the Citus behaviour is
// covered by the Citus suite.
func TestClusterCommands(t *testing.T) {
	testdb.Pool(t, store.MigrateUp) // the tables status lists
	url := testdb.URL(t)
	run1 := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := run(context.Background(), args, &out, &errb)
		return code, out.String(), errb.String()
	}
	code, out, errs := run1("cluster", "status", "--database-url", url)
	if code != 0 {
		t.Fatalf("status exit %d: %s", code, errs)
	}
	citus := strings.Contains(out, "mode:        citus")
	if !citus && !strings.Contains(out, "mode:        plain") {
		t.Errorf("status output lacks the mode:\n%s", out)
	}
	if !strings.Contains(out, "resources") {
		t.Errorf("status output lacks the resources table:\n%s", out)
	}

	code, out, _ = run1("cluster", "status", "--json", "--database-url", url)
	if code != 0 || !strings.Contains(out, `"mode"`) {
		t.Errorf("status --json exit %d:\n%s", code, out)
	}

	type failure struct {
		name string
		args []string
		want string
	}
	tests := []failure{
		{"register needs a worker", []string{"cluster", "register", "--database-url", url}, "at least one --worker"},
		{"bad worker address", []string{"cluster", "register", "--worker", "nohostport", "--database-url", url}, "HOST:PORT"},
		{"register needs a URL", []string{"cluster", "register", "--worker", "w:5432", "--database-url", ""}, "needs --database-url"},
		{"unknown verb", []string{"cluster", "explode", "--database-url", url}, "usage: hce cluster"},
	}
	if !citus {
		tests = append(tests,
			failure{"register on plain PostgreSQL", []string{"cluster", "register", "--worker", "127.0.0.1:1", "--database-url", url}, "no citus extension"},
			failure{"rebalance on plain PostgreSQL", []string{"cluster", "rebalance", "--database-url", url}, "no citus extension"},
		)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errs := run1(tt.args...)
			if code == 0 {
				t.Fatal("exit 0, want a failure")
			}
			if !strings.Contains(errs, tt.want) {
				t.Errorf("stderr lacks %q:\n%s", tt.want, errs)
			}
		})
	}
}

func TestSummarizeRebalance(t *testing.T) {
	tests := []struct{ details, want string }{
		{`{"tasks": [{"hosts": {"source": "w1:5432", "target": "w3:5432"}, "command": "SELECT citus_move_shard_placement(1,2,4,'auto')"}], "task_state_counts": {"done": 15, "blocked": 3, "running": 1}}`,
			"15 done, 1 running, 3 blocked; moving w1:5432 → w3:5432"},
		{`{"tasks": [], "task_state_counts": {"done": 19}}`, "19 done"},
		{`not json`, "not json"},
	}
	for _, tt := range tests {
		if got := summarizeRebalance(tt.details); got != tt.want {
			t.Errorf("summarizeRebalance(%s) = %q, want %q", tt.details, got, tt.want)
		}
	}
}
