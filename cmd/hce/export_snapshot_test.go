package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hce-fhir/hce/rest"
)

// TestExportSnapshot exports a patient's compartment three times while
// writers update, delete and create its Observations, and checks each
// export against the history the database holds once the writers stopped:
// every resource whose latest version at the transaction time is live,
// in that version, once; nothing deleted or created after it.
func TestExportSnapshot(t *testing.T) {
	env := exportServer(t, rest.Options{}, fastExports, true)
	c := env.c
	pid, obs := seedPatient(t, c, "Snap"+uniq, 30)

	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var mu sync.Mutex
	live := append([]string(nil), obs...)
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for i := 0; ctx.Err() == nil; i++ {
				mu.Lock()
				ref := live[rng.IntN(len(live))]
				mu.Unlock()
				wc := &client{t: t, base: c.base, token: c.token}
				switch rng.IntN(4) {
				case 0: // delete
					if r := wc.do(http.MethodDelete, "/fhir/"+ref, nil); r.status != http.StatusNoContent && r.status != http.StatusOK {
						t.Errorf("delete %s: %d %s", ref, r.status, r.raw)
						return
					}
				case 1: // create
					_, more := seedPatientObs(wc, pid, fmt.Sprintf("w%d-%d", w, i))
					mu.Lock()
					live = append(live, more)
					mu.Unlock()
				default: // update (or re-create a deleted one)
					typ, id, _ := strings.Cut(ref, "/")
					o := map[string]any{"resourceType": typ, "id": id, "status": "amended", "subject": map[string]any{"reference": "Patient/" + pid},
						"code": map[string]any{"text": fmt.Sprintf("w%d-%d", w, i)}}
					if r := wc.do(http.MethodPut, "/fhir/"+ref, o); r.status != http.StatusOK && r.status != http.StatusCreated {
						t.Errorf("update %s: %d %s", ref, r.status, r.raw)
						return
					}
				}
			}
		}()
	}
	var statuses []string
	for range 3 {
		time.Sleep(300 * time.Millisecond)
		statuses = append(statuses, c.kickoff(http.MethodGet, "/fhir/Patient/$export?patient=Patient/"+pid+"&_type=Observation,Patient", nil))
	}
	manifests := make([]*exportManifest, len(statuses))
	for i, s := range statuses {
		manifests[i] = c.waitExport(s)
	}
	stop()
	wg.Wait()

	// The oracle: every version the database holds, read after the writes.
	rows, err := env.pool.Query(context.Background(), `SELECT type || '/' || id, version_id, last_updated, deleted
FROM resource_history WHERE route = hce_route($1) AND (type = 'Observation' AND content->'subject'->>'reference' = 'Patient/' || $1
   OR type = 'Observation' AND deleted OR type = 'Patient' AND id = $1)`, pid)
	if err != nil {
		t.Fatal(err)
	}
	type version struct {
		v       int64
		at      time.Time
		deleted bool
	}
	history := map[string][]version{}
	for rows.Next() {
		var ref string
		var v version
		if err := rows.Scan(&ref, &v.v, &v.at, &v.deleted); err != nil {
			t.Fatal(err)
		}
		history[ref] = append(history[ref], v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for i, m := range manifests {
		at, err := time.Parse(time.RFC3339Nano, m.TransactionTime)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]int64{}
		for ref, vs := range history {
			var cur *version
			for j := range vs {
				if !vs[j].at.After(at) && (cur == nil || vs[j].v > cur.v) {
					cur = &vs[j]
				}
			}
			if cur != nil && !cur.deleted {
				want[ref] = cur.v
			}
		}
		got := c.download(m)
		changedAfter := 0
		for ref, vs := range history {
			for _, v := range vs {
				if v.at.After(at) {
					changedAfter++
					_ = ref
					break
				}
			}
		}
		if changedAfter == 0 {
			t.Errorf("export %d: nothing was written after its transaction time; the test proves nothing", i)
		}
		for ref, v := range want {
			r := got[ref]
			if r == nil {
				t.Errorf("export %d: %s (version %d at the transaction time) is missing", i, ref, v)
				continue
			}
			if gv := r["meta"].(map[string]any)["versionId"]; gv != fmt.Sprint(v) {
				t.Errorf("export %d: %s exported in version %v, current at the transaction time was %d", i, ref, gv, v)
			}
		}
		for ref := range got {
			if _, ok := want[ref]; !ok {
				t.Errorf("export %d: %s exported, but it was not live at the transaction time", i, ref)
			}
		}
		t.Logf("export %d at %s: %d resources, %d resources changed after it", i, m.TransactionTime, len(got), changedAfter)
	}
}

// seedPatientObs creates one Observation of patient pid.
func seedPatientObs(c *client, pid, text string) (int, string) {
	o := map[string]any{"resourceType": "Observation", "status": "final", "subject": map[string]any{"reference": "Patient/" + pid},
		"code": map[string]any{"text": text}}
	r := c.do(http.MethodPost, "/fhir/Observation", o)
	if r.status != http.StatusCreated {
		c.t.Errorf("create: %d %s", r.status, r.raw)
		return r.status, ""
	}
	return r.status, "Observation/" + r.str("id")
}
