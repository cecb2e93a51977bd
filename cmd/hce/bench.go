package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"regexp"

	"github.com/hce-fhir/hce/bench"
	"golang.org/x/term"
)

// benchCmd runs the volume benchmark against a running server: `hce bench`.
// The exit status is 1 when the data set did not load or a request of the
// mix failed; the report is written either way.
func benchCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench", stderr)
	cfg := bench.Config{Progress: stderr}
	fs.StringVar(&cfg.URL, "url", bench.DefaultURL, "FHIR base URL of the server under test (env HCE_URL)")
	fs.StringVar(&cfg.DatabaseURL, "database-url", "", "the server's PostgreSQL: ANALYZE after the load and report the database size; both skipped when empty (env HCE_DATABASE_URL)")
	fs.StringVar(&cfg.Token, "token", "", "bearer token with system/*.cruds, e.g. from hce token, for a server with authentication on (env HCE_TOKEN)")
	fs.BoolVar(&cfg.AllowRemote, "allow-remote", false, "allow a --url or --database-url that is not a loopback address (env HCE_ALLOW_REMOTE)")
	fs.BoolVar(&cfg.Load, "load", true, "generate and load the data set; false runs the queries against what the server holds (env HCE_LOAD)")
	fs.StringVar(&cfg.Source, "synthea", bench.DefaultSource, "directory of the Synthea sample the data set is made from (env HCE_SYNTHEA)")
	fs.StringVar(&cfg.Out, "out", "", "directory for the generated Bundles, kept and reused for the same seed and size; empty: a temporary directory, removed at the end (env HCE_OUT)")
	fs.IntVar(&cfg.Resources, "resources", bench.DefaultResources, "resources in the data set, at least (env HCE_RESOURCES)")
	fs.Int64Var(&cfg.Seed, "seed", bench.DefaultSeed, "seed of the data set: the same seed and size give the same Bundles (env HCE_SEED)")
	fs.IntVar(&cfg.LoadConcurrency, "c", bench.DefaultLoadConcurrency, "Bundles in flight during the load, as hce load -c (env HCE_C)")
	clients := fs.String("clients", "1,16", "concurrent clients each pattern runs at, comma-separated (env HCE_CLIENTS)")
	fs.IntVar(&cfg.Requests, "requests", bench.DefaultRequests, "requests per pattern and concurrency, at most (env HCE_REQUESTS)")
	fs.DurationVar(&cfg.Duration, "duration", bench.DefaultDuration, "time per pattern and concurrency, at most (env HCE_DURATION)")
	fs.DurationVar(&cfg.RequestTimeout, "request-timeout", bench.DefaultRequestTimeout, "bound on each request of the mix (env HCE_REQUEST_TIMEOUT)")
	patterns := fs.String("patterns", "", "run only the patterns whose names match this regular expression (env HCE_PATTERNS)")
	report := fs.String("report", "", "write the Markdown report to this file; standard output when empty (env HCE_REPORT)")
	jsonOut := fs.String("json", "", "also write the results as JSON to this file (env HCE_JSON)")
	list := fs.Bool("list", false, "list the patterns of the mix and exit")
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: hce bench [--url BASE] [--resources N] [--seed S] [--database-url URL] [flags]

Builds a data set of N resources from the Synthea sample (each copy of a
patient Bundle with fresh ids, identifiers, names and shifted dates), loads
it through the FHIR API, runs ANALYZE (with --database-url), then runs a fixed
mix of search patterns at each concurrency of --clients and prints p50, p95,
p99 and requests/s per pattern, the load rate, the database size and the
server's peak RSS as Markdown. Only loopback addresses are contacted unless
--allow-remote. The exit status is 1 when the load or any request failed.

`)
		fs.PrintDefaults()
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "hce bench: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return errUsage
	}
	if *list {
		for _, p := range bench.Patterns() {
			fmt.Fprintln(stdout, p.Name)
		}
		return nil
	}
	var err error
	if cfg.Clients, err = bench.ParseClients(*clients); err != nil {
		fmt.Fprintln(stderr, "hce bench:", err)
		return errUsage
	}
	if *patterns != "" {
		if cfg.Patterns, err = regexp.Compile(*patterns); err != nil {
			fmt.Fprintln(stderr, "hce bench: --patterns:", err)
			return errUsage
		}
	}
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		cfg.Bar = true
		cfg.Width, _, _ = term.GetSize(int(f.Fd()))
	}
	rep, runErr := bench.Run(ctx, cfg)
	if rep != nil {
		if err := writeBenchReport(rep, *report, *jsonOut, stdout, stderr); err != nil {
			return err
		}
	}
	if runErr != nil {
		return runErr
	}
	if n := rep.Errors(); n > 0 {
		return fmt.Errorf("bench: %d requests failed; see the report", n)
	}
	return nil
}

func writeBenchReport(rep *bench.Report, mdPath, jsonPath string, stdout, stderr io.Writer) error {
	md := rep.Markdown()
	if mdPath != "" {
		if err := os.WriteFile(mdPath, []byte(md), 0o644); err != nil {
			return fmt.Errorf("bench: write the report: %w", err)
		}
		fmt.Fprintf(stderr, "bench: report written to %s\n", mdPath)
	} else {
		fmt.Fprint(stdout, md)
	}
	if jsonPath != "" {
		raw, err := rep.JSON()
		if err != nil {
			return err
		}
		if err := os.WriteFile(jsonPath, raw, 0o644); err != nil {
			return fmt.Errorf("bench: write %s: %w", jsonPath, err)
		}
		fmt.Fprintf(stderr, "bench: results written to %s\n", jsonPath)
	}
	return nil
}
