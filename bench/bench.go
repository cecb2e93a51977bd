package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hce-fhir/hce/load"
	"github.com/jackc/pgx/v5"
)

// Defaults of Config.
const (
	DefaultURL             = load.DefaultURL
	DefaultSource          = "../shared/data/synthea"
	DefaultResources       = 1_000_000
	DefaultSeed            = 1
	DefaultLoadConcurrency = 4
	DefaultRequests        = 200
	DefaultDuration        = 20 * time.Second
	DefaultRequestTimeout  = 60 * time.Second
	// MaxClients bounds a concurrency of Config.Clients.
	MaxClients = 256
)

// DefaultClients are the concurrencies each pattern runs at.
var DefaultClients = []int{1, 16}

// Config says what to benchmark and how.
type Config struct {
	// URL is the FHIR base of the server under test.
	URL string
	// DatabaseURL, when set, is the server's database: the benchmark runs
	// ANALYZE on it after the load and reads its size.
	DatabaseURL string
	// AllowRemote lets URL and DatabaseURL name addresses that are not
	// loopback.
	AllowRemote bool
	// Token is the bearer token sent with every request, the load's
	// included; a server with authentication on needs one with
	// system/*.cruds (which also opens /metrics).
	Token string

	// Load generates the data set and loads it; false runs the query mix
	// against whatever the server holds.
	Load bool
	// Source is the directory of the Synthea sample.
	Source string
	// Out is where the data set is written; empty means a temporary
	// directory removed at the end. A data set already there for the same
	// seed and size is reused.
	Out string
	// Resources is the size of the data set; Seed decides its content.
	Resources int
	Seed      int64
	// LoadConcurrency is the number of Bundles in flight during the load.
	LoadConcurrency int

	// Clients are the concurrencies the mix runs at, in order.
	Clients []int
	// Requests and Duration bound each pattern's run at each concurrency.
	Requests int
	Duration time.Duration
	// RequestTimeout bounds each request of the mix.
	RequestTimeout time.Duration
	// Patterns, when set, runs only the patterns whose names it matches.
	Patterns *regexp.Regexp

	// Progress receives the load's progress and one line per step and run;
	// nil is silent. Bar and Width are load.Options' for a terminal.
	Progress io.Writer
	Bar      bool
	Width    int
}

// withDefaults fills the zero fields.
func (c Config) withDefaults() Config {
	if c.URL == "" {
		c.URL = DefaultURL
	}
	if c.Source == "" {
		c.Source = DefaultSource
	}
	if c.Resources <= 0 {
		c.Resources = DefaultResources
	}
	if c.LoadConcurrency <= 0 {
		c.LoadConcurrency = DefaultLoadConcurrency
	}
	if len(c.Clients) == 0 {
		c.Clients = DefaultClients
	}
	if c.Requests <= 0 {
		c.Requests = DefaultRequests
	}
	if c.Duration <= 0 {
		c.Duration = DefaultDuration
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	return c
}

// ParseClients reads a comma-separated list of concurrencies such as
// "1,16": each a whole number from 1 to MaxClients, none twice.
func ParseClients(s string) ([]int, error) {
	var out []int
	seen := map[int]bool{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		n, err := strconv.Atoi(part)
		if err != nil || n < 1 || n > MaxClients {
			return nil, fmt.Errorf("clients %q: want numbers from 1 to %d separated by commas, like 1,16", s, MaxClients)
		}
		if seen[n] {
			return nil, fmt.Errorf("clients %q: %d is given twice", s, n)
		}
		seen[n] = true
		out = append(out, n)
	}
	return out, nil
}

// Run benchmarks the server of cfg: it generates and loads the data set
// (unless !cfg.Load), runs ANALYZE and reads the database size (with a
// database URL), finds the values of the mix in the loaded data, runs every
// pattern at every concurrency, and reads the server's peak memory.
//
// Failed requests of the mix are counted in the Report, not returned as an
// error; a data set that does not load completely is an error, returned
// with the Report so far.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg = cfg.withDefaults()
	logf := func(format string, a ...any) { fmt.Fprintf(cfg.Progress, "bench: "+format+"\n", a...) }
	base, err := CheckURL(cfg.URL, cfg.AllowRemote)
	if err != nil {
		return nil, err
	}
	var db *pgx.ConnConfig
	if cfg.DatabaseURL != "" {
		if db, err = CheckDatabaseURL(cfg.DatabaseURL, cfg.AllowRemote); err != nil {
			return nil, err
		}
	}
	for _, n := range cfg.Clients {
		if n < 1 || n > MaxClients {
			return nil, fmt.Errorf("bench: %d clients: want 1 to %d", n, MaxClients)
		}
	}
	c, err := newClient(base, cfg.AllowRemote, slices.Max(cfg.Clients), cfg.RequestTimeout, cfg.Token)
	if err != nil {
		return nil, err
	}
	defer c.hc.CloseIdleConnections()
	if r, err := c.get(ctx, "/healthz"); err != nil || !r.ok() {
		return nil, fmt.Errorf("bench: the server at %s does not answer /healthz: %v", c.root, errOrStatus(err, r))
	}
	rep := &Report{Started: time.Now(), URL: base, Requests: cfg.Requests, DurationSeconds: cfg.Duration.Seconds(), Clients: cfg.Clients}

	if cfg.Load {
		if err := generateAndLoad(ctx, cfg, base, rep, logf); err != nil {
			return rep, err
		}
	}
	if db == nil {
		rep.DatabaseNote = "skipped: no --database-url"
		logf("ANALYZE and database size skipped: no database URL")
	} else {
		took, size, err := analyzeDatabase(ctx, db)
		if err != nil {
			return rep, err
		}
		rep.AnalyzeSeconds, rep.DatabaseBytes = took.Seconds(), size
		logf("ANALYZE took %.1f s; the database holds %s", took.Seconds(), bytesText(size))
	}
	rep.Counts = map[string]int{}
	for _, t := range countedTypes {
		var count searchset[struct{}]
		if err := c.getJSON(ctx, t+"?_summary=count", &count); err == nil && count.Total != nil {
			rep.Counts[t] = *count.Total
		}
	}

	facts, err := Discover(ctx, c)
	if err != nil {
		return rep, err
	}
	rep.Facts = facts
	logf("values: %s", facts)
	lim := Limits{Requests: cfg.Requests, Duration: cfg.Duration}
	for _, clients := range cfg.Clients {
		for _, p := range Patterns() {
			if cfg.Patterns != nil && !cfg.Patterns.MatchString(p.Name) {
				continue
			}
			if err := ctx.Err(); err != nil {
				return rep, err
			}
			res := runPattern(ctx, c, p, facts, clients, lim)
			rep.Results = append(rep.Results, res)
			if res.Skipped != "" {
				logf("%-32s %2d %s: skipped: %s", p.Name, clients, plural(clients, "client", "clients"), res.Skipped)
				continue
			}
			logf("%-32s %2d %s: %4d requests, %d errors, p50 %s ms, p95 %s ms, %s/s",
				p.Name, clients, plural(clients, "client", "clients"), res.Requests, res.Errors, ms(res.P50), ms(res.P95), rate(res.PerSecond))
		}
	}

	if rss, err := peakRSS(ctx, c); err != nil {
		rep.PeakRSSNote = "unknown: " + strings.TrimPrefix(err.Error(), "bench: ")
	} else {
		rep.PeakRSSBytes = rss
	}
	return rep, ctx.Err()
}

// generateAndLoad writes the data set and loads it through the API.
func generateAndLoad(ctx context.Context, cfg Config, base string, rep *Report, logf func(string, ...any)) error {
	out := cfg.Out
	if out == "" {
		dir, err := os.MkdirTemp("", "hce-bench-")
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		defer os.RemoveAll(dir)
		out = dir
	}
	start := time.Now()
	logf("writing a data set of %s resources (seed %d) to %s", num(cfg.Resources), cfg.Seed, out)
	ds, err := Generate(ctx, GenerateOptions{Source: cfg.Source, Out: out, Resources: cfg.Resources, Seed: cfg.Seed})
	if err != nil {
		return err
	}
	took := time.Since(start)
	rep.DataSet = &DataSetSummary{Dir: out, Seed: ds.Seed, Target: ds.Target, Resources: ds.Resources,
		Bundles: len(ds.Files), Patients: ds.Patients(), Types: ds.Types(), Reused: ds.Reused, Seconds: took.Seconds()}
	logf("data set: %s resources in %d Bundles (%d patients), %s in %.1f s",
		num(ds.Resources), len(ds.Files), ds.Patients(), map[bool]string{true: "reused", false: "written"}[ds.Reused], took.Seconds())

	hc := &http.Client{Transport: newTransport(cfg.AllowRemote, cfg.LoadConcurrency)}
	defer hc.CloseIdleConnections()
	sum, err := load.Load(ctx, []string{out}, load.Options{
		URL: base, Concurrency: cfg.LoadConcurrency, Client: hc, Token: cfg.Token,
		Progress: cfg.Progress, Bar: cfg.Bar, Width: cfg.Width,
	})
	rep.Load = &LoadSummary{Resources: sum.Resources, Files: sum.Files, Failed: len(sum.Failures),
		Concurrency: cfg.LoadConcurrency, Seconds: sum.Elapsed.Seconds()}
	if sum.Elapsed > 0 {
		rep.Load.PerSecond = float64(sum.Resources) / sum.Elapsed.Seconds()
	}
	if err != nil {
		return fmt.Errorf("bench: the data set did not load: %w", err)
	}
	if sum.Resources != int64(ds.Resources) {
		return fmt.Errorf("bench: the server accepted %d of the data set's %d resources", sum.Resources, ds.Resources)
	}
	return nil
}

func errOrStatus(err error, r *reply) error {
	if err != nil {
		return err
	}
	return errors.New("status " + strconv.Itoa(r.status))
}
