package main

import (
	"context"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hce-fhir/hce/rest"
)

// TestExportCitusParallel checks on Citus that an export's read is one
// distributed statement whose tasks cover every shard on every worker,
// which Citus's adaptive executor runs in parallel, and that an export of
// patients spread over the workers is complete.
func TestExportCitusParallel(t *testing.T) {
	env := exportServer(t, rest.Options{}, fastExports, true)
	ctx := context.Background()
	if err := env.st.CheckCitus(ctx); err != nil {
		t.Skip("Citus-only test (set HCE_TEST_DATABASE_URL to a Citus coordinator): " + err.Error())
	}
	c := env.c
	var pids []string
	group := []any{}
	for i := range 8 {
		pid, _ := seedPatient(t, c, "Citus"+uniq+strconv.Itoa(i), 3)
		pids = append(pids, pid)
		group = append(group, map[string]any{"entity": map[string]any{"reference": "Patient/" + pid}})
	}
	var shards, workers int
	if err := env.pool.QueryRow(ctx, `SELECT count(*), count(DISTINCT nodeport) FROM citus_shards WHERE table_name = 'resource_history'::regclass`).Scan(&shards, &workers); err != nil {
		t.Fatal(err)
	}
	plan, err := env.st.ExplainExport(ctx, time.Now(), []string{"Patient", "Observation"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(plan, "Custom Scan (Citus Adaptive)") || !strings.Contains(plan, "Task Count: "+strconv.Itoa(shards)) {
		t.Fatalf("the export's read is not one task per shard (%d shards):\n%s", shards, plan)
	}
	nodes := map[string]bool{}
	for _, m := range regexp.MustCompile(`Node: host=\S+ port=(\d+)`).FindAllStringSubmatch(plan, -1) {
		nodes[m[1]] = true
	}
	if len(nodes) != workers || workers < 2 {
		t.Errorf("the export's tasks run on %d nodes, the shards are on %d workers:\n%s", len(nodes), workers, plan)
	}
	// Each shard reads its current rows and its changed resources' history
	// in one task: the coordinator only gathers rows, and no part of the
	// statement runs as a separate distributed subplan.
	if n := strings.Count(plan, "Append"); n < shards || strings.Contains(plan, "Distributed Subplan") {
		t.Errorf("%d of %d shard tasks read both parts on the worker:\n%s", n, shards, plan)
	}

	gid := c.do(http.MethodPost, "/fhir/Group", map[string]any{"resourceType": "Group", "type": "person", "actual": true, "member": group}).
		must(t, http.StatusCreated).str("id")
	m := c.waitExport(c.kickoff(http.MethodGet, "/fhir/Group/"+gid+"/$export?_type=Patient,Observation", nil))
	if got := c.download(m); len(got) != 8*4 {
		t.Errorf("Group export of 8 patients with 3 Observations each: %d resources", len(got))
	}
	m = c.waitExport(c.kickoff(http.MethodGet, "/fhir/$export?_type=Patient", nil))
	got := c.download(m)
	for _, p := range pids {
		if got["Patient/"+p] == nil {
			t.Errorf("system export on Citus lacks Patient/%s", p)
		}
	}
}
