package verify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// cleanupTimeout bounds cleanup and the restart of a stopped worker: both run
// after the run's own time is up, and must not hang either.
const cleanupTimeout = 2 * time.Minute

// runner holds the state of one run.
type runner struct {
	cfg  Config
	c    *client
	logf func(format string, args ...any)
	rep  *Report

	apiOK   bool         // the FHIR API answered /metadata
	cluster *clusterInfo // nil when /admin/cluster did not answer
	db      *pgxpool.Pool
	set     *testSet
	// searches are the latencies of every search request of the run.
	searches []time.Duration
}

// Run verifies the deployment at cfg.BaseURL up to cfg.Level and returns the
// report; it never returns nil. Progress goes to logf, which may be nil.
// Everything Run creates is deleted again before it returns, also when a
// check failed or ctx was cancelled.
func Run(ctx context.Context, cfg Config, logf func(format string, args ...any)) *Report {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	cfg = cfg.withDefaults()
	v := &runner{
		cfg:  cfg,
		logf: logf,
		rep:  &Report{Target: cfg.BaseURL, Level: cfg.Level, Started: time.Now()},
		c: &client{
			hc:    &http.Client{Timeout: 2 * time.Minute, Transport: transport()},
			base:  cfg.BaseURL,
			root:  cfg.rootURL(),
			token: cfg.Token,
		},
	}
	defer func() { v.rep.Elapsed = time.Since(v.rep.Started) }()
	if err := cfg.Validate(); err != nil {
		v.rep.add(Check{Name: "configuration", Level: cfg.Level, Detail: err.Error()})
		return v.rep
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()

	v.basic(ctx)
	if v.db != nil {
		defer v.db.Close()
	}
	if cfg.Level < Complete {
		return v.rep
	}
	if !v.apiOK {
		v.rep.add(Check{Name: "test set", Level: Complete, Detail: "not run: the FHIR API did not answer"})
		return v.rep
	}
	v.set = newTestSet(newRunID(), cfg.Patients, cfg.PerPatient)
	v.rep.RunID = v.set.run
	// Cleanup runs whatever happens, on a context of its own: the run's may
	// be cancelled or out of time by now.
	defer func() {
		cctx, ccancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer ccancel()
		v.cleanup(cctx)
	}()
	if !v.create(ctx) {
		return v.rep
	}
	v.complete(ctx)
	if cfg.Level >= HA {
		if strings.TrimSpace(cfg.StopWorkerCmd) != "" {
			v.failover(ctx)
		}
		if strings.TrimSpace(cfg.FailoverCmd) != "" {
			v.killPrimary(ctx)
		}
	}
	v.searchMetrics()
	return v.rep
}

// transport keeps enough idle connections for every concurrent stream of
// the run: the default of two per host would reconnect all the time.
func transport() http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 2 * max(createStreams, readStreams, maxBlindProbes)
	return t
}

// newRunID returns a run id that sorts by time and is unique across runs.
func newRunID() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return time.Now().UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b)
}

// step runs fn as one check and records it with its duration.
func (v *runner) step(name string, level Level, fn func() (ok bool, detail string)) bool {
	start := time.Now()
	ok, detail := fn()
	v.rep.add(Check{Name: name, Level: level, OK: ok, Detail: detail, Duration: time.Since(start)})
	mark := "ok"
	if !ok {
		mark = "FAILED"
	}
	v.logf("verify: %s: %s (%s)", name, mark, detail)
	return ok
}

// notApplicable records a check that does not apply to this deployment.
func (v *runner) notApplicable(name string, level Level, detail string) {
	v.rep.add(Check{Name: name, Level: level, OK: true, NotApplicable: true, Detail: detail})
	v.logf("verify: %s: does not apply (%s)", name, detail)
}

// searchMetrics summarises the latency of the run's search requests.
func (v *runner) searchMetrics() {
	if len(v.searches) == 0 {
		return
	}
	v.rep.metric("search requests", "%d", len(v.searches))
	v.rep.metric("search p50", "%s", formatDuration(percentile(v.searches, 50)))
	v.rep.metric("search p95", "%s", formatDuration(percentile(v.searches, 95)))
}

// search sends a search request and records its latency.
func (v *runner) search(ctx context.Context, target string) (*bundle, error) {
	r, err := v.c.get(ctx, target)
	if err != nil {
		return nil, err
	}
	v.searches = append(v.searches, r.elapsed)
	if r.status != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", target, r)
	}
	var b bundle
	if err := r.decode(&b); err != nil {
		return nil, fmt.Errorf("GET %s: %w", target, err)
	}
	if b.ResourceType != "Bundle" || b.Type != "searchset" {
		return nil, fmt.Errorf("GET %s: answered a %s %s, not a searchset Bundle", target, b.ResourceType, b.Type)
	}
	return &b, nil
}
