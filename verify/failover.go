package verify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// commandTimeout bounds each of the operator's stop and start commands.
const commandTimeout = 2 * time.Minute

// action is an operator command: it returns what it printed.
type action func(ctx context.Context) (output string, err error)

// shell runs a command line with sh -c. Its output is kept for the report.
// The command runs in its own process group so that a timeout ends what it
// started too; WaitDelay stops a daemon it left holding the output pipe from
// holding verification up.
func shell(command string) action {
	return func(ctx context.Context) (string, error) {
		cmd := exec.CommandContext(ctx, "sh", "-c", command)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
		cmd.WaitDelay = 5 * time.Second
		out, err := cmd.CombinedOutput()
		if errors.Is(err, exec.ErrWaitDelay) {
			err = nil // the command finished; only a child kept its output open
		}
		return string(out), err
	}
}

// probe is a patient read again and again during the failover.
type probe struct {
	ref string // Patient/id
	// nodes are the nodes a read of it needs (its shard and its id lookup);
	// nil when the placement is unknown.
	nodes []string
}

// sample is one read of a probe.
type sample struct {
	at   time.Time // when the answer (or the error) came
	ok   bool
	kind string // for a failure: how it failed, e.g. "503 with OperationOutcome and Retry-After"
}

// goodFailure is how a read must fail while a worker is down: quickly, with
// a status that tells the client to come back.
const goodFailure = "503 with OperationOutcome and Retry-After"

// watch reads every probe every interval until its context ends.
type watch struct {
	c       *client
	probes  []probe
	every   time.Duration
	timeout time.Duration

	mu      sync.Mutex
	samples [][]sample
	notify  chan struct{} // a new sample arrived
	wg      sync.WaitGroup
}

func startWatch(ctx context.Context, c *client, probes []probe, every, timeout time.Duration) *watch {
	w := &watch{c: c, probes: probes, every: every, timeout: timeout,
		samples: make([][]sample, len(probes)), notify: make(chan struct{}, 1)}
	for i := range probes {
		w.wg.Add(1)
		go w.loop(ctx, i)
	}
	return w
}

func (w *watch) loop(ctx context.Context, i int) {
	defer w.wg.Done()
	for {
		began := time.Now()
		s := w.read(ctx, w.probes[i].ref)
		if ctx.Err() != nil {
			return // the read was cut short by the end of the watch: not a result
		}
		w.mu.Lock()
		w.samples[i] = append(w.samples[i], s)
		w.mu.Unlock()
		select {
		case w.notify <- struct{}{}:
		default:
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(w.every - time.Since(began)):
		}
	}
}

// read reads a probe once and classifies the answer.
func (w *watch) read(ctx context.Context, ref string) sample {
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	r, err := w.c.get(ctx, ref)
	s := sample{at: time.Now()}
	switch {
	case err != nil:
		s.kind = "no answer: " + truncate(err.Error(), 80)
		if ctx.Err() != nil {
			s.kind = fmt.Sprintf("no answer within %s", w.timeout)
		}
	case r.status == http.StatusOK:
		s.ok = true
	default:
		s.kind = failureKind(r)
	}
	return s
}

// failureKind says how an answer failed: its status, whether it carried an
// OperationOutcome and whether it said when to retry.
func failureKind(r *reply) string {
	kind := fmt.Sprintf("%d", r.status)
	if r.isOutcome() {
		kind += " with OperationOutcome"
	} else {
		kind += " without OperationOutcome"
	}
	if r.header.Get("Retry-After") != "" {
		kind += " and Retry-After"
	} else {
		kind += ", no Retry-After"
	}
	return kind
}

// snapshot copies the samples so far.
func (w *watch) snapshot() [][]sample {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([][]sample, len(w.samples))
	for i, s := range w.samples {
		out[i] = slices.Clone(s)
	}
	return out
}

// waitFor waits until cond holds on the samples, the deadline passes or ctx
// ends, and reports whether cond held.
func (w *watch) waitFor(ctx context.Context, deadline time.Time, cond func([][]sample) bool) bool {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for {
		if cond(w.snapshot()) {
			return true
		}
		select {
		case <-w.notify:
		case <-timer.C:
			return cond(w.snapshot())
		case <-ctx.Done():
			return false
		}
	}
}

// failoverResult is what the failover measured.
type failoverResult struct {
	probes  []probe
	samples [][]sample

	baselineOK bool // every probe answered 200 before the stop

	stop commandRun

	failed    bool // some read failed after the stop
	firstFail time.Time
	failProbe int // the probe that failed first

	start commandRun

	recovered   bool // every probe that failed answers 200 again
	recoveredAt time.Time
	// cut is why the run ended before recovery could be seen, if it did.
	cut error

	waited time.Duration // the bound on the wait for the first failure
}

// measureFailover stops a worker with stop, watches the probes fail, starts
// it with start and watches them recover. start runs whenever stop ran, even
// when ctx has ended, with a bound of its own: a run must never leave a
// worker down.
func measureFailover(ctx context.Context, c *client, cfg Config, probes []probe, stop, start action, logf func(string, ...any)) *failoverResult {
	res := &failoverResult{probes: probes, failProbe: -1, waited: cfg.failWithin}
	wctx, cancel := context.WithCancel(ctx)
	w := startWatch(wctx, c, probes, cfg.pollEvery, cfg.readTimeout)
	defer func() {
		cancel()
		w.wg.Wait()
		res.samples = w.snapshot()
	}()

	// Before anything is stopped every probe must answer: a failure seen
	// later is then the stop's doing.
	res.baselineOK = w.waitFor(ctx, time.Now().Add(cfg.readTimeout+cfg.pollEvery), func(s [][]sample) bool {
		for _, ps := range s {
			if len(ps) == 0 || !ps[len(ps)-1].ok {
				return false
			}
		}
		return true
	})
	if ctx.Err() != nil || !res.baselineOK {
		// A cluster that fails already is not stopped further: the failures
		// could not be told apart.
		return res
	}

	logf("verify: stopping a worker: %s", cfg.StopWorkerCmd)
	res.stop = runCommand(ctx, stop)

	// Wait for the first read that fails after the stop began; when the
	// stop command failed, only look at what was already seen.
	failBy := res.stop.at.Add(cfg.failWithin)
	if res.stop.err != nil {
		failBy = time.Now()
	}
	res.failed = w.waitFor(ctx, failBy, func(s [][]sample) bool {
		at, i := firstFailure(s, res.stop.at)
		if i >= 0 {
			res.firstFail, res.failProbe = at, i
		}
		return i >= 0
	})
	if res.failed {
		logf("verify: %s failed %s after the stop command began", probes[res.failProbe].ref, formatDuration(res.firstFail.Sub(res.stop.at)))
		// Keep the worker down a little: enough reads of the other workers'
		// patients to tell whether they are affected.
		select {
		case <-ctx.Done():
		case <-time.After(cfg.hold):
		}
	}

	// Started whatever happened above, on a context that outlives ctx.
	startWorker(context.WithoutCancel(ctx), res, start, cfg, logf)

	// Recovery: every probe that failed answers 200 again.
	res.recovered = w.waitFor(ctx, res.start.at.Add(cfg.recoverWithin), func(s [][]sample) bool {
		at, ok := recoveredAt(s, res.stop.at)
		if ok {
			res.recoveredAt = at
		}
		return ok
	})
	if !res.recovered || !res.failed {
		res.cut = ctx.Err()
	}
	if res.recovered && !res.failed {
		// Nothing failed, so nothing recovered.
		res.recovered, res.recoveredAt = false, time.Time{}
	}
	return res
}

// startWorker runs the start command once.
func startWorker(ctx context.Context, res *failoverResult, start action, cfg Config, logf func(string, ...any)) {
	logf("verify: starting the worker: %s", cfg.StartWorkerCmd)
	res.start = runCommand(ctx, start)
}

// commandRun is one run of an operator's command: when it began and
// ended, what it printed and how it exited.
type commandRun struct {
	at, done time.Time
	out      string
	err      error
}

// runCommand runs fn once, bounded by commandTimeout.
func runCommand(ctx context.Context, fn action) commandRun {
	r := commandRun{at: time.Now()}
	cctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	r.out, r.err = fn(cctx)
	r.done = time.Now()
	return r
}

// firstFailure finds the earliest failed read after t, and its probe (-1 if
// none).
func firstFailure(samples [][]sample, t time.Time) (time.Time, int) {
	var first time.Time
	probe := -1
	for i, ps := range samples {
		for _, s := range ps {
			if !s.ok && s.at.After(t) {
				if probe < 0 || s.at.Before(first) {
					first, probe = s.at, i
				}
				break
			}
		}
	}
	return first, probe
}

// recoveredAt reports whether every probe that failed after t answers
// successfully now, and when the last of them came back: the time of the
// first success after its last failure.
func recoveredAt(samples [][]sample, t time.Time) (time.Time, bool) {
	var latest time.Time
	for _, ps := range samples {
		last := -1
		for k, s := range ps {
			if !s.ok && s.at.After(t) {
				last = k
			}
		}
		if last < 0 {
			continue // never failed
		}
		if last == len(ps)-1 {
			return time.Time{}, false // still failing
		}
		if at := ps[last+1].at; at.After(latest) {
			latest = at
		}
	}
	return latest, true
}

// downNode is the node that failed: the one node the first failing probe
// needs that no probe which kept answering needs too. "" when unknown.
func (res *failoverResult) downNode() string {
	if res.failProbe < 0 || res.probes[res.failProbe].nodes == nil {
		return ""
	}
	healthy := map[string]bool{}
	for i, p := range res.probes {
		if !res.failedAfterStop(i) {
			for _, n := range p.nodes {
				healthy[n] = true
			}
		}
	}
	var cands []string
	for _, n := range res.probes[res.failProbe].nodes {
		if !healthy[n] && !slices.Contains(cands, n) {
			cands = append(cands, n)
		}
	}
	if len(cands) != 1 {
		return ""
	}
	return cands[0]
}

// failedAfterStop reports whether probe i failed once the stop began.
func (res *failoverResult) failedAfterStop(i int) bool {
	for _, s := range res.samples[i] {
		if !s.ok && s.at.After(res.stop.at) {
			return true
		}
	}
	return false
}

// outageWindow is the span the reads are judged over: from the stop to the
// recovery, or to the last read when there was none.
func (res *failoverResult) outageWindow() (from, to time.Time) {
	to = res.recoveredAt
	if !res.recovered {
		for _, ps := range res.samples {
			if n := len(ps); n > 0 && ps[n-1].at.After(to) {
				to = ps[n-1].at
			}
		}
	}
	return res.stop.at, to
}

// report turns the measurements into checks and metrics.
func (res *failoverResult) report(rep *Report) {
	add := func(name string, ok bool, d time.Duration, detail string) {
		rep.add(Check{Name: name, Level: HA, OK: ok, Detail: detail, Duration: d})
	}
	var refs []string
	for _, p := range res.probes {
		refs = append(refs, p.ref)
	}
	if !res.baselineOK {
		add("reads before the stop", false, 0, "not every probed patient answered 200 before the worker was stopped: "+summarize(refs, 4))
	} else {
		add("reads before the stop", true, 0, fmt.Sprintf("%d probed patients answer 200", len(res.probes)))
	}
	switch {
	case res.stop.at.IsZero() && !res.baselineOK:
		add("stop worker (--stop-worker-cmd)", false, 0, "not run: reads already fail before any worker is stopped")
		return
	case res.stop.at.IsZero():
		add("stop worker (--stop-worker-cmd)", false, 0, "not run: the run ended first")
		return
	}
	add("stop worker (--stop-worker-cmd)", res.stop.err == nil, res.stop.done.Sub(res.stop.at), res.stop.detail())

	if res.failed {
		p := res.probes[res.failProbe]
		where := ""
		if n := res.downNode(); n != "" {
			where = " (on " + n + ")"
		}
		add("reads fail while the worker is down", true, res.firstFail.Sub(res.stop.at),
			fmt.Sprintf("%s%s failed %s after the stop command began", p.ref, where, formatDuration(res.firstFail.Sub(res.stop.at))))
		rep.metric("failover: first failure after stop", "%s", formatDuration(res.firstFail.Sub(res.stop.at)))
	} else if res.cut != nil {
		add("reads fail while the worker is down", false, 0, "not measured: the run ended first ("+res.cut.Error()+")")
	} else if res.stop.err != nil {
		add("reads fail while the worker is down", false, 0, fmt.Sprintf("no read of %d probed patients failed: the stop command failed", len(res.probes)))
	} else {
		add("reads fail while the worker is down", false, 0,
			fmt.Sprintf("no read of %d probed patients failed within %s of the stop command: does it stop a worker that holds test patients?", len(res.probes), formatDuration(res.waited)))
	}

	// How the reads failed, and whether the other workers' patients noticed.
	from, to := res.outageWindow()
	kinds := map[string]int{}
	failedReads, okReads := 0, 0
	down := res.downNode()
	var others []string
	otherOK, otherFail := 0, 0
	for i, ps := range res.samples {
		other := down != "" && !slices.Contains(res.probes[i].nodes, down)
		if other {
			others = append(others, res.probes[i].ref)
		}
		for _, s := range ps {
			if s.at.Before(from) || s.at.After(to) {
				continue
			}
			if s.ok {
				okReads++
			} else {
				failedReads++
				kinds[s.kind]++
			}
			if other {
				if s.ok {
					otherOK++
				} else {
					otherFail++
				}
			}
		}
	}
	if failedReads > 0 {
		rep.metric("failover: reads during the outage", "%d failed, %d answered 200", failedReads, okReads)
		ok := len(kinds) == 1 && kinds[goodFailure] > 0
		add("failure answer (503, OperationOutcome, Retry-After)", ok, 0, fmt.Sprintf("%s: %s", plural(failedReads, "failed read"), describeKinds(kinds)))
	}
	switch {
	case down != "" && len(others) > 0:
		add("other workers keep answering", otherFail == 0, 0,
			fmt.Sprintf("%s: %s answered 200, %d failed while %s was down", summarize(others, 3), plural(otherOK, "read"), otherFail, down))
	case res.failed && res.probes[res.failProbe].nodes == nil:
		never := 0
		for i := range res.probes {
			if !res.failedAfterStop(i) {
				never++
			}
		}
		rep.metric("failover: other patients", "%d of %d probed patients never failed (placement unknown without --database-url)", never, len(res.probes))
	case res.failed:
		rep.metric("failover: other patients", "none probed: no other node holds test patients")
	}

	add("start worker (--start-worker-cmd)", res.start.err == nil, res.start.done.Sub(res.start.at), res.start.detail())
	switch {
	case !res.failed:
		// Nothing failed: recovery has no meaning, and the check above failed.
	case res.recovered:
		add("recovery", true, res.recoveredAt.Sub(res.start.at),
			fmt.Sprintf("every failing patient answers 200 again %s after the start command began", formatDuration(res.recoveredAt.Sub(res.start.at))))
		rep.metric("failover: fail duration", "%s", formatDuration(res.recoveredAt.Sub(res.firstFail)))
		rep.metric("failover: recovery time", "%s after the start command (which took %s)", formatDuration(res.recoveredAt.Sub(res.start.at)), formatDuration(res.start.done.Sub(res.start.at)))
	case res.cut != nil:
		add("recovery", false, 0, "not measured: the run ended first ("+res.cut.Error()+")")
		rep.metric("failover: recovery time", "not measured")
	default:
		add("recovery", false, 0, fmt.Sprintf("reads still fail %s after the start command began", formatDuration(to.Sub(res.start.at).Round(time.Millisecond))))
		rep.metric("failover: recovery time", "not recovered")
	}
}

// detail describes how the command ended: its error or exit status 0,
// and the last line it printed.
func (r commandRun) detail() string {
	d := "exit status 0"
	if r.err != nil {
		d = r.err.Error()
	}
	if out := strings.TrimSpace(r.out); out != "" {
		lines := strings.Split(out, "\n")
		d += ": " + truncate(lines[len(lines)-1], 120)
	}
	return d
}

// describeKinds lists the ways reads failed, most frequent first.
func describeKinds(kinds map[string]int) string {
	type kc struct {
		kind string
		n    int
	}
	var all []kc
	for k, n := range kinds {
		all = append(all, kc{k, n})
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].n != all[j].n {
			return all[i].n > all[j].n
		}
		return all[i].kind < all[j].kind
	})
	parts := make([]string, len(all))
	for i, c := range all {
		parts[i] = fmt.Sprintf("%d × %s", c.n, c.kind)
	}
	return strings.Join(parts, ", ")
}
