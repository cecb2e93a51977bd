package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/hce-fhir/hce/load"
	"golang.org/x/term"
)

// loadCmd posts Bundles and NDJSON to a running server: `hce load`.
func loadCmd(ctx context.Context, args []string, stdin io.Reader, stderr io.Writer) error {
	fs := newFlags("load", stderr)
	opt := load.Options{Stdin: stdin, Progress: stderr}
	fs.StringVar(&opt.URL, "url", load.DefaultURL, "FHIR base URL of the server (env HCE_URL)")
	fs.IntVar(&opt.Concurrency, "c", load.DefaultConcurrency, "transaction Bundles and NDJSON chunks in flight at once; batch Bundles go one at a time")
	fs.StringVar(&opt.Token, "token", "", "bearer token, e.g. from hce token --scope 'system/*.cruds' (env HCE_TOKEN)")
	fs.BoolVar(&opt.Continue, "continue", false, "go on after a failure and list every failure at the end")
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: hce load [--url BASE] [-c N] [--continue] FILE|DIR|- ...

Posts batch and transaction Bundles, and NDJSON (one resource per line), to
the FHIR API. Files may be gzip-compressed. A DIR is searched for *.json,
*.json.gz, *.ndjson and *.ndjson.gz; - reads standard input. Batch Bundles
are loaded first, one at a time, then the rest on N streams. The first
failure stops the load unless --continue; the exit status is 1 if anything
failed.

`)
		fs.PrintDefaults()
	}
	// Flags may come after the paths: hce load data/ --continue.
	var paths []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			return flagError(err)
		}
		tail := fs.Args()
		if len(tail) == 0 {
			break
		}
		if n := len(rest) - len(tail); n > 0 && rest[n-1] == "--" {
			paths = append(paths, tail...) // everything after -- is a path
			break
		}
		paths, rest = append(paths, tail[0]), tail[1:]
	}
	if err := parse(fs, nil); err != nil { // the HCE_* twins of unset flags
		return err
	}
	if len(paths) == 0 {
		fs.Usage()
		return errUsage
	}
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		opt.Bar = true
		opt.Width, _, _ = term.GetSize(int(f.Fd()))
	}
	_, err := load.Load(ctx, paths, opt)
	return err
}
