package verify

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"sync"
)

// maxBlindProbes is how many patients are watched when their placement is
// unknown: spread through the test set, some of them are likely to live on
// the worker that is stopped.
const maxBlindProbes = 8

// readStreams is how many reads the loss check has in flight.
const readStreams = 8

// failover stops and starts a worker, then reads the whole test set back.
func (v *runner) failover(ctx context.Context) {
	probes := v.probes()
	if len(probes) == 0 {
		v.rep.add(Check{Name: "failover", Level: HA, Detail: "not run: no test patient to watch"})
		return
	}
	res := measureFailover(ctx, v.c, v.cfg, probes, shell(v.cfg.StopWorkerCmd), shell(v.cfg.StartWorkerCmd), v.logf)
	res.report(v.rep)
	v.step("no resource lost", HA, func() (bool, string) {
		return v.readBack(ctx)
	})
}

// probes chooses the patients to watch. With the placement known, one per
// node that holds test patients, preferring a patient whose id lookup lives
// on the same node, so that each probe depends on one node only. Without
// it, patients spread evenly through the test set.
func (v *runner) probes() []probe {
	s := v.set
	var ids []string
	for _, id := range s.patientIDs {
		if id != "" {
			ids = append(ids, id)
		}
	}
	pl := s.placement
	if pl == nil {
		var out []probe
		n := min(maxBlindProbes, len(ids))
		for k := range n {
			out = append(out, probe{ref: "Patient/" + ids[k*len(ids)/n]})
		}
		return out
	}
	best := map[string]probe{}
	for _, id := range ids {
		nodes := pl.nodes[id]
		if len(nodes) != 1 {
			continue // unplaced or replicated: not telling of one node
		}
		node := nodes[0]
		need := slices.Clone(nodes)
		if cur, ok := best[node]; !ok || len(need) < len(cur.nodes) {
			best[node] = probe{ref: "Patient/" + id, nodes: need}
		}
	}
	var out []probe
	for _, p := range best {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].nodes[0] < out[j].nodes[0] })
	return out
}

// readBack reads every resource of the test set by id: after a worker has
// been down and back, nothing may be missing.
func (v *runner) readBack(ctx context.Context) (bool, string) {
	refs := v.set.refs()
	var (
		mu       sync.Mutex
		problems []string
		wg       sync.WaitGroup
	)
	jobs := make(chan string)
	for range readStreams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ref := range jobs {
				if err := v.readOne(ctx, ref); err != nil {
					mu.Lock()
					problems = append(problems, err.Error())
					mu.Unlock()
				}
			}
		}()
	}
	sent := 0
feed:
	for _, ref := range refs {
		select {
		case jobs <- ref:
			sent++
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	sort.Strings(problems)
	if unread := len(refs) - sent; unread > 0 {
		problems = append(problems, fmt.Sprintf("%d not read: %v", unread, ctx.Err()))
		if sent == 0 {
			return false, fmt.Sprintf("not run: %v", ctx.Err())
		}
		return false, fmt.Sprintf("%d of %d resources not read back: %s", len(problems)-1+unread, len(refs), summarize(problems, 3))
	}
	if len(problems) > 0 {
		return false, fmt.Sprintf("%d of %d resources not read back: %s", len(problems), len(refs), summarize(problems, 3))
	}
	return true, fmt.Sprintf("all %d resources of the test set read back by id", len(refs))
}

func (v *runner) readOne(ctx context.Context, ref string) error {
	r, err := v.c.get(ctx, ref)
	if err != nil {
		return fmt.Errorf("%s: %w", ref, err)
	}
	if r.status != http.StatusOK {
		return fmt.Errorf("%s: %s", ref, r)
	}
	var res resource
	if err := r.decode(&res); err != nil {
		return fmt.Errorf("%s: %w", ref, err)
	}
	if got := res.ResourceType + "/" + res.ID; got != ref {
		return fmt.Errorf("%s: answered %s", ref, got)
	}
	if !res.tagged(v.set.run) {
		return fmt.Errorf("%s: lost the test set's tag", ref)
	}
	return nil
}
