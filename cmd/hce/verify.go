package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/hce-fhir/hce/verify"
)

// verifyCmd checks a running deployment and writes a Markdown report:
// `hce verify`. The exit status is 1 when any check failed.
func verifyCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("verify", stderr)
	cfg := verify.Config{}
	fs.StringVar(&cfg.BaseURL, "url", verify.DefaultURL, "FHIR base URL of the server; its root serves /healthz and /admin/cluster (env HCE_URL)")
	fs.StringVar(&cfg.Token, "token", "", "bearer token with system/*.cruds, e.g. from hce token (env HCE_TOKEN)")
	fs.StringVar(&cfg.DatabaseURL, "database-url", "", "Citus coordinator URL: measures the spread of the test set per worker and tells the failover test where patients live (env HCE_DATABASE_URL)")
	fs.Var(&cfg.Level, "level", "how far to go: `basic`, complete or ha (env HCE_LEVEL)")
	report := fs.String("report", "", "write the Markdown report to this file; standard output when empty (env HCE_REPORT)")
	fs.StringVar(&cfg.StopWorkerCmd, "stop-worker-cmd", "", "shell command that stops one Citus worker; level ha (env HCE_STOP_WORKER_CMD)")
	fs.StringVar(&cfg.StartWorkerCmd, "start-worker-cmd", "", "shell command that starts it again; level ha (env HCE_START_WORKER_CMD)")
	fs.StringVar(&cfg.FailoverCmd, "failover-cmd", "", "shell command that kills the primary of a Citus group with a standby; the deployment must fail over by itself; level ha (env HCE_FAILOVER_CMD)")
	fs.DurationVar(&cfg.FailoverWithin, "failover-within", verify.DefaultFailoverWithin, "how soon after --failover-cmd every probed patient must be read and written again (env HCE_FAILOVER_WITHIN)")
	fs.IntVar(&cfg.Patients, "patients", verify.DefaultPatients, "patients in the test set (env HCE_PATIENTS)")
	fs.IntVar(&cfg.PerPatient, "per-patient", verify.DefaultPerPatient, "observations per test patient (env HCE_PER_PATIENT)")
	fs.DurationVar(&cfg.Timeout, "timeout", verify.DefaultTimeout, "bound on the whole run; cleanup and restarting a stopped worker get their own (env HCE_TIMEOUT)")
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: hce verify [--level basic|complete|ha] [--report FILE.md] [flags]

Checks a running deployment and writes a Markdown report.
  basic     the server, its database and the FHIR API answer; the citus
            extension is installed; workers are registered and active
  complete  also creates a tagged test set of Patients and Observations,
            checks how it spread over the workers, pages a distributed
            search, follows an _include join, counts, and deletes it again
  ha        also stops a worker with --stop-worker-cmd, measures how reads
            fail and how long they take to recover after --start-worker-cmd,
            and checks that no resource was lost; with --failover-cmd, also
            kills a primary that has a standby while probed patients are
            read and written, measures how long until both work again
            (--failover-within), and reads back every acknowledged write
The exit status is 1 when any check failed.

`)
		fs.PrintDefaults()
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "hce verify: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return errUsage
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintln(stderr, "hce verify:", strings.TrimPrefix(err.Error(), "verify: "))
		return errUsage
	}
	logf := func(format string, a ...any) { fmt.Fprintf(stderr, format+"\n", a...) }
	rep := verify.Run(ctx, cfg, logf)
	md := rep.Markdown()
	if *report != "" {
		if err := os.WriteFile(*report, []byte(md), 0o644); err != nil {
			return fmt.Errorf("verify: write the report: %w", err)
		}
		fmt.Fprintf(stderr, "verify: report written to %s\n", *report)
	} else {
		fmt.Fprint(stdout, md)
	}
	if !rep.OK() {
		failed := rep.Failed()
		names := make([]string, len(failed))
		for i, c := range failed {
			names[i] = c.Name
		}
		return fmt.Errorf("verify: %d of %d checks failed: %s", len(failed), len(rep.Checks), strings.Join(names, ", "))
	}
	return nil
}
