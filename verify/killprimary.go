package verify

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// DefaultFailoverWithin is how long a deployment with standbys may take,
// after a primary was killed, until every probed patient can be read and
// written again.
const DefaultFailoverWithin = 30 * time.Second

// writeSample is one write of the failover's write load.
type writeSample struct {
	sent, at time.Time
	ok       bool
	kind     string // how it failed
	ref      string // Observation/id of an acknowledged write
}

// writer creates an Observation of every probe patient again and again,
// tagged with the test set's tag, until its context ends.
type writer struct {
	c       *client
	set     *testSet
	probes  []probe
	every   time.Duration
	timeout time.Duration

	mu      sync.Mutex
	samples [][]writeSample
	wg      sync.WaitGroup
}

func startWriter(ctx context.Context, c *client, set *testSet, probes []probe, every, timeout time.Duration) *writer {
	w := &writer{c: c, set: set, probes: probes, every: every, timeout: timeout, samples: make([][]writeSample, len(probes))}
	for i := range probes {
		w.wg.Add(1)
		go w.loop(ctx, i)
	}
	return w
}

func (w *writer) loop(ctx context.Context, i int) {
	defer w.wg.Done()
	for n := 0; ; n++ {
		began := time.Now()
		s := w.write(ctx, i, n)
		if ctx.Err() != nil {
			return
		}
		w.mu.Lock()
		w.samples[i] = append(w.samples[i], s)
		w.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-time.After(w.every - time.Since(began)):
		}
	}
}

// write creates one Observation of probe i and classifies the answer.
func (w *writer) write(ctx context.Context, i, n int) writeSample {
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	s := writeSample{sent: time.Now()}
	obs := map[string]any{
		"resourceType": "Observation",
		"meta":         w.set.meta(),
		"status":       "final",
		"code":         map[string]any{"coding": []any{map[string]any{"system": "http://loinc.org", "code": "8867-4"}}},
		"subject":      map[string]any{"reference": w.probes[i].ref},
		"valueQuantity": map[string]any{"value": 60 + n%40, "unit": "beats/minute",
			"system": "http://unitsofmeasure.org", "code": "/min"},
	}
	r, err := w.c.do(ctx, http.MethodPost, "Observation", obs)
	s.at = time.Now()
	switch {
	case err != nil:
		s.kind = "no answer: " + truncate(err.Error(), 80)
		if ctx.Err() != nil {
			s.kind = fmt.Sprintf("no answer within %s", w.timeout)
		}
	case r.status == http.StatusCreated:
		var res resource
		if r.decode(&res) == nil && res.ID != "" {
			s.ok, s.ref = true, "Observation/"+res.ID
		} else {
			s.kind = "201 without the created resource"
		}
	default:
		s.kind = failureKind(r)
	}
	return s
}

func (w *writer) snapshot() [][]writeSample {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([][]writeSample, len(w.samples))
	for i, s := range w.samples {
		out[i] = append([]writeSample(nil), s...)
	}
	return out
}

// killResult is what the kill of a primary measured.
type killResult struct {
	probes []probe
	reads  [][]sample
	writes [][]writeSample

	baselineOK bool

	kill commandRun

	restored   bool // every probe reads and writes again
	restoredAt time.Time
	cut        error // why the run ended before restoration, if it did
	bound      time.Duration
}

// measureKill writes and reads the probes, runs kill, and watches the
// deployment fail over by itself: nothing is started again afterwards.
func measureKill(ctx context.Context, c *client, set *testSet, cfg Config, probes []probe, kill action, logf func(string, ...any)) *killResult {
	res := &killResult{probes: probes, bound: cfg.FailoverWithin}
	wctx, cancel := context.WithCancel(ctx)
	rd := startWatch(wctx, c, probes, cfg.pollEvery, cfg.readTimeout)
	wr := startWriter(wctx, c, set, probes, cfg.pollEvery, cfg.readTimeout)
	defer func() {
		cancel()
		rd.wg.Wait()
		wr.wg.Wait()
		res.reads, res.writes = rd.snapshot(), wr.snapshot()
	}()
	healthy := func() bool {
		reads, writes := rd.snapshot(), wr.snapshot()
		for i := range probes {
			if n := len(reads[i]); n == 0 || !reads[i][n-1].ok {
				return false
			}
			if n := len(writes[i]); n == 0 || !writes[i][n-1].ok {
				return false
			}
		}
		return true
	}
	res.baselineOK = waitUntil(ctx, time.Now().Add(cfg.readTimeout+2*cfg.pollEvery), cfg.pollEvery, healthy)
	if ctx.Err() != nil || !res.baselineOK {
		return res
	}

	logf("verify: killing a primary: %s", cfg.FailoverCmd)
	res.kill = runCommand(ctx, kill)
	if res.kill.err != nil {
		return res
	}

	res.restored = waitUntil(ctx, res.kill.at.Add(cfg.recoverWithin), cfg.pollEvery, func() bool {
		return time.Since(res.kill.at) >= cfg.settle && healthy()
	})
	if !res.restored {
		res.cut = ctx.Err()
		return res
	}
	// A little longer, to see that it holds.
	select {
	case <-ctx.Done():
	case <-time.After(cfg.hold):
	}
	return res
}

// waitUntil polls cond every interval until it holds, the deadline passes
// or ctx ends, and reports whether it held.
func waitUntil(ctx context.Context, deadline time.Time, every time.Duration, cond func() bool) bool {
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(every):
		}
	}
}

// outage is what the samples say about the switch: when the first request
// failed, when the last probe could read and write again, and when writes
// resumed (the first acknowledged write sent after the first failed one,
// the latest such over the probes).
type outage struct {
	failedReads, failedWrites, okReads, okWrites int
	kinds                                        map[string]int
	firstFail, restored, writesBack              time.Time
	acked                                        []string
}

func (res *killResult) outage() outage {
	o := outage{kinds: map[string]int{}}
	note := func(t time.Time) {
		if o.firstFail.IsZero() || t.Before(o.firstFail) {
			o.firstFail = t
		}
	}
	later := func(cur *time.Time, t time.Time) {
		if t.After(*cur) {
			*cur = t
		}
	}
	for i := range res.probes {
		lastFail := -1
		for k, s := range res.reads[i] {
			if s.at.Before(res.kill.at) {
				continue
			}
			if s.ok {
				o.okReads++
				continue
			}
			o.failedReads++
			o.kinds["read: "+s.kind]++
			note(s.at)
			lastFail = k
		}
		if lastFail >= 0 && lastFail+1 < len(res.reads[i]) {
			later(&o.restored, res.reads[i][lastFail+1].at)
		}
		firstFail, lastFail := -1, -1
		for k, s := range res.writes[i] {
			if s.ok && s.ref != "" {
				o.acked = append(o.acked, s.ref)
			}
			if s.sent.Before(res.kill.at) {
				continue
			}
			if s.ok {
				o.okWrites++
				continue
			}
			o.failedWrites++
			o.kinds["write: "+s.kind]++
			note(s.at)
			if firstFail < 0 {
				firstFail = k
			}
			lastFail = k
		}
		if lastFail >= 0 && lastFail+1 < len(res.writes[i]) {
			later(&o.restored, res.writes[i][lastFail+1].at)
		}
		if firstFail >= 0 {
			for _, s := range res.writes[i][firstFail:] {
				if s.ok {
					later(&o.writesBack, s.at)
					break
				}
			}
		}
	}
	return o
}

// report turns the measurements into checks and metrics.
func (res *killResult) report(rep *Report) {
	add := func(name string, ok bool, d time.Duration, detail string) {
		rep.add(Check{Name: name, Level: HA, OK: ok, Detail: detail, Duration: d})
	}
	if !res.baselineOK {
		add("reads and writes before the kill", false, 0, fmt.Sprintf("not every one of %d probed patients could be read and written before the kill", len(res.probes)))
		add("kill a primary (--failover-cmd)", false, 0, "not run: the deployment fails already")
		return
	}
	add("reads and writes before the kill", true, 0, fmt.Sprintf("%d probed patients are read and written", len(res.probes)))
	if res.kill.at.IsZero() {
		add("kill a primary (--failover-cmd)", false, 0, "not run: the run ended first")
		return
	}
	add("kill a primary (--failover-cmd)", res.kill.err == nil, res.kill.done.Sub(res.kill.at), res.kill.detail())
	if res.kill.err != nil {
		return
	}
	o := res.outage()
	since := func(t time.Time) string { return formatDuration(t.Sub(res.kill.at)) }
	failed := o.failedReads + o.failedWrites
	switch {
	case !res.restored:
		why := fmt.Sprintf("reads or writes still fail %s after the kill", formatDuration(time.Since(res.kill.at).Round(time.Millisecond)))
		if res.cut != nil {
			why = "not measured: the run ended first (" + res.cut.Error() + ")"
		}
		add("failover", false, 0, why)
		rep.metric("failover: service restored after kill", "not restored")
	case failed == 0:
		add("failover", true, 0, fmt.Sprintf("no read or write of %d probed patients failed: did the command kill a primary that holds them?", len(res.probes)))
		rep.metric("failover: service restored after kill", "no request failed")
	default:
		took := o.restored.Sub(res.kill.at)
		add("failover", took <= res.bound, took, fmt.Sprintf("every probed patient is read and written again %s after the kill (bound %s); the first request failed %s after it",
			since(o.restored), formatDuration(res.bound), since(o.firstFail)))
		rep.metric("failover: first failure after kill", "%s", since(o.firstFail))
		if !o.writesBack.IsZero() {
			rep.metric("failover: writes resume after kill", "%s", since(o.writesBack))
		}
		rep.metric("failover: service restored after kill", "%s", since(o.restored))
	}
	if failed > 0 {
		rep.metric("failover: requests during the switch", "%d reads and %d writes failed; %d reads and %d writes succeeded",
			o.failedReads, o.failedWrites, o.okReads, o.okWrites)
		good := true
		for k := range o.kinds {
			good = good && strings.HasSuffix(k, ": "+goodFailure)
		}
		add("failure answer (503, OperationOutcome, Retry-After)", good, 0, fmt.Sprintf("%s: %s", plural(failed, "failed request"), describeKinds(o.kinds)))
	}
}

// killPrimary kills a primary with the operator's command while probed
// patients are read and written, measures how long the deployment takes to
// fail over by itself, and reads back every write it acknowledged.
func (v *runner) killPrimary(ctx context.Context) {
	probes := v.probes()
	if len(probes) == 0 {
		v.rep.add(Check{Name: "failover", Level: HA, Detail: "not run: no test patient to watch"})
		return
	}
	res := measureKill(ctx, v.c, v.set, v.cfg, probes, shell(v.cfg.FailoverCmd), v.logf)
	res.report(v.rep)
	if res.kill.at.IsZero() {
		return
	}
	o := res.outage()
	v.keepWrites(res)
	v.step("acknowledged writes read back", HA, func() (bool, string) {
		var lost []string
		for _, ref := range o.acked {
			if err := v.readOne(ctx, ref); err != nil {
				lost = append(lost, err.Error())
			}
		}
		v.rep.metric("failover: acknowledged writes lost", "%d of %d", len(lost), len(o.acked))
		if len(lost) > 0 {
			return false, fmt.Sprintf("%d of %d writes acknowledged during the failover not read back: %s", len(lost), len(o.acked), summarize(lost, 3))
		}
		return true, fmt.Sprintf("all %d writes acknowledged during the failover read back by id", len(o.acked))
	})
}

// keepWrites adds the acknowledged writes to the test set, so that cleanup
// deletes them by id.
func (v *runner) keepWrites(res *killResult) {
	index := map[string]int{}
	for i, id := range v.set.patientIDs {
		index["Patient/"+id] = i
	}
	for i, p := range res.probes {
		k, ok := index[p.ref]
		if !ok {
			continue
		}
		for _, s := range res.writes[i] {
			if s.ok && s.ref != "" {
				v.set.obsIDs[k] = append(v.set.obsIDs[k], strings.TrimPrefix(s.ref, "Observation/"))
			}
		}
	}
}
