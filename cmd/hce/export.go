package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/hce-fhir/hce/bulk"
	"github.com/hce-fhir/hce/load"
	"golang.org/x/term"
)

// exportCmd runs a Bulk Data export against a server and downloads it:
// `hce export`.
func exportCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("export", stderr)
	opt := bulk.Options{Progress: stderr}
	var types, filters string
	fs.StringVar(&opt.URL, "url", load.DefaultURL, "FHIR base URL of the server (env HCE_URL)")
	fs.StringVar(&opt.Token, "token", "", "bearer token, e.g. from hce token --scope 'system/*.rs' (env HCE_TOKEN)")
	fs.StringVar(&types, "type", "", "comma-separated resource types (_type); empty exports every type the token reads, AuditEvent aside")
	fs.StringVar(&opt.Since, "since", "", "export only resources changed after this instant (_since), e.g. 2024-01-02T03:04:05Z")
	fs.StringVar(&filters, "type-filter", "", "comma-free _typeFilter searches separated by spaces, e.g. 'Observation?category=laboratory'")
	fs.StringVar(&opt.Group, "group", "", "export the compartments of this Group's members (Group/ID/$export)")
	fs.BoolVar(&opt.Patient, "patient", false, "export every patient's compartment (Patient/$export)")
	fs.StringVar(&opt.Out, "out", "", "directory for the NDJSON files (required)")
	fs.IntVar(&opt.Concurrency, "c", 4, "files downloaded at once")
	fs.DurationVar(&opt.Poll, "poll", 2*time.Second, "longest wait between status requests")
	fs.BoolVar(&opt.Keep, "keep", false, "keep the job's files on the server after downloading them")
	if err := parse(fs, args); err != nil {
		return err
	}
	if opt.Out == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: hce export --out DIR [--url BASE] [--type T,...] [--since INSTANT] [--group ID | --patient] [--token T]")
		fs.PrintDefaults()
		return errUsage
	}
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		opt.Bar = true
	}
	opt.Types = splitList(types)
	opt.TypeFilters = strings.Fields(filters)
	start := time.Now()
	res, err := bulk.Run(ctx, opt)
	if err != nil {
		return err
	}
	var total int64
	names := make([]string, 0, len(res.Counts))
	for t, n := range res.Counts {
		names = append(names, t)
		total += n
	}
	sort.Strings(names)
	for _, t := range names {
		fmt.Fprintf(stdout, "%-28s %9d\n", t, res.Counts[t])
	}
	secs := time.Since(start).Seconds()
	fmt.Fprintf(stdout, "%d resources in %d files, transaction time %s, %.1f s (%.0f resources/s); counts match the manifest\n",
		total, len(res.Files), res.Manifest.TransactionTime, secs, float64(total)/secs)
	if res.Errors > 0 {
		return fmt.Errorf("export: the server reported %d errors (errors.*.ndjson.txt in %s)", res.Errors, opt.Out)
	}
	return nil
}
