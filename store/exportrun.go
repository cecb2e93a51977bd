package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/hce-fhir/hce/fhir"
)

// ExportOptions tune the export runner.
type ExportOptions struct {
	// FileBytes splits a type's output into files of about this size;
	// zero means 256 MiB.
	FileBytes int64
	// Expiry is how long a finished job and its files are kept; zero means
	// one hour.
	Expiry time.Duration
	// Settle is the clock margin of a snapshot: the export waits until no
	// transaction that began before the transaction time plus Settle is in
	// flight, so that every version stamped up to the transaction time is
	// committed before it is read (server clocks may differ by up to
	// Settle). Zero means one second.
	Settle time.Duration
	// SettleTimeout bounds that wait; zero means 30 s.
	SettleTimeout time.Duration
	// Lease is how long a runner holds a job without renewing it; another
	// runner resumes a job whose lease ran out. Zero means 30 s.
	Lease time.Duration
	// Poll is how often an idle runner looks for work; zero means 1 s.
	Poll time.Duration
	// Jobs is how many jobs one runner works on at once; zero means 1.
	Jobs int
	// Attempts is how often a job is started before it is failed; zero
	// means 3.
	Attempts int
	// Log receives the runner's messages; nil discards them.
	Log *slog.Logger
}

func (o ExportOptions) withDefaults() ExportOptions {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if o.FileBytes <= 0 {
		o.FileBytes = 256 << 20
	}
	def(&o.Expiry, time.Hour)
	def(&o.Settle, time.Second)
	def(&o.SettleTimeout, 30*time.Second)
	def(&o.Lease, 30*time.Second)
	def(&o.Poll, time.Second)
	if o.Jobs <= 0 {
		o.Jobs = 1
	}
	if o.Attempts <= 0 {
		o.Attempts = 3
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o
}

const (
	// claimJob takes the oldest job waiting for a runner, or one whose
	// runner's lease ran out (its server stopped): that job is resumed.
	claimJob = `UPDATE export_jobs SET status = 'running', leased_by = $1, lease_until = now() + $2::interval,
    attempts = attempts + 1, exported = 0
WHERE id = (SELECT id FROM export_jobs
            WHERE status = 'accepted' OR status = 'running' AND lease_until < now()
            ORDER BY created LIMIT 1 FOR UPDATE SKIP LOCKED)
RETURNING id, params, transaction_time, attempts`

	renewJob = `UPDATE export_jobs SET lease_until = now() + $3::interval, exported = $4 WHERE id = $1 AND leased_by = $2`

	finishJob = `UPDATE export_jobs SET status = $3, error = nullif($4, ''), exported = $5, finished = now(),
    expires = now() + $6::interval, leased_by = NULL, lease_until = NULL
WHERE id = $1 AND leased_by = $2`

	releaseJob = `UPDATE export_jobs SET lease_until = now() WHERE id = $1 AND leased_by = $2`

	clearFiles  = `DELETE FROM export_files WHERE job_id = $1`
	clearChunks = `DELETE FROM export_chunks WHERE job_id = $1`
)

// errLeaseLost means the job was cancelled or taken over by another runner.
var errLeaseLost = errors.New("the job was cancelled or another runner took it over")

// RunExports runs export jobs until ctx ends: it claims waiting jobs and
// jobs whose runner stopped (resuming them from the start: a job's output
// is a function of its transaction time, so a second run writes the same
// files), renews its leases while it works, and removes expired jobs.
// Every server replica runs one; they share the work through the database.
func (s *Store) RunExports(ctx context.Context, opt ExportOptions) {
	opt = opt.withDefaults()
	host, _ := os.Hostname()
	name := host + "/" + uuid.NewString()[:8]
	slots := make(chan struct{}, opt.Jobs)
	var wg sync.WaitGroup
	defer wg.Wait()
	tick := time.NewTicker(opt.Poll)
	defer tick.Stop()
	for {
		if _, err := s.ExpireExports(ctx); err != nil && ctx.Err() == nil {
			opt.Log.Warn("export: expiring jobs", "error", err.Error())
		}
		for ctx.Err() == nil && len(slots) < cap(slots) {
			j, attempts, err := s.claim(ctx, name, opt.Lease)
			if err != nil && ctx.Err() == nil {
				opt.Log.Warn("export: claiming a job", "error", err.Error())
			}
			if j == nil {
				break
			}
			slots <- struct{}{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-slots }()
				s.runJob(ctx, name, j, attempts, opt)
			}()
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-s.wake:
		}
	}
}

// claim takes a job for runner name; nil when there is none.
func (s *Store) claim(ctx context.Context, name string, lease time.Duration) (*fhir.ExportJob, int, error) {
	j := &fhir.ExportJob{Status: "running"}
	var params []byte
	var attempts int
	err := s.pool.QueryRow(ctx, claimJob, name, lease.String()).Scan(&j.ID, &params, &j.TransactionTime, &attempts)
	if err != nil {
		if errors.Is(translate("claim", err), fhir.ErrNotFound) {
			return nil, 0, nil
		}
		return nil, 0, translate("claim export job", err)
	}
	if err := json.Unmarshal(params, &j.Req); err != nil {
		return nil, 0, fmt.Errorf("store: claim export job: %w", err)
	}
	return j, attempts, nil
}

// runJob runs one job under runner name's lease and records its outcome.
func (s *Store) runJob(ctx context.Context, name string, j *fhir.ExportJob, attempts int, opt ExportOptions) {
	log := opt.Log.With("job", j.ID)
	if attempts > opt.Attempts {
		s.finish(ctx, name, j.ID, "failed", fmt.Sprintf("the job was started %d times without finishing", attempts-1), 0, opt, log)
		return
	}
	jctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var exported int64
	var mu sync.Mutex
	go func() {
		t := time.NewTicker(opt.Lease / 3)
		defer t.Stop()
		for {
			select {
			case <-jctx.Done():
				return
			case <-t.C:
			}
			mu.Lock()
			n := exported
			mu.Unlock()
			tag, err := s.pool.Exec(jctx, renewJob, j.ID, name, opt.Lease.String(), n)
			if err == nil && tag.RowsAffected() == 0 {
				cancel(errLeaseLost)
				return
			}
		}
	}()
	log.Info("export: running", "attempt", attempts, "transaction_time", fhir.FormatInstant(j.TransactionTime))
	start := time.Now()
	n, err := s.export(jctx, j, opt, func(total int64) {
		mu.Lock()
		exported = total
		mu.Unlock()
	})
	switch {
	case errors.Is(context.Cause(jctx), errLeaseLost):
		log.Info("export: stopped", "reason", errLeaseLost.Error())
	case ctx.Err() != nil:
		// The server stops: the job is released for the next runner, which
		// starts it again.
		log.Info("export: interrupted by shutdown")
		rctx, done := context.WithTimeout(context.Background(), 5*time.Second)
		defer done()
		_, _ = s.pool.Exec(rctx, releaseJob, j.ID, name)
	case err != nil:
		log.Warn("export: failed", "error", err.Error())
		s.finish(ctx, name, j.ID, "failed", err.Error(), n, opt, log)
	default:
		log.Info("export: complete", "resources", n, "seconds", time.Since(start).Seconds())
		s.finish(ctx, name, j.ID, "complete", "", n, opt, log)
	}
}

func (s *Store) finish(ctx context.Context, name, id, status, msg string, n int64, opt ExportOptions, log *slog.Logger) {
	if status == "failed" {
		// A failed job's manifest has no output, and an error file that
		// says why: the status request itself succeeds.
		err := s.failedFiles(ctx, id, msg)
		if err != nil {
			log.Warn("export: writing the error file", "error", err.Error())
		}
	}
	if _, err := s.pool.Exec(ctx, finishJob, id, name, status, msg, n, opt.Expiry.String()); err != nil {
		log.Warn("export: recording the outcome", "error", err.Error())
	}
}

// failedFiles replaces a failed job's files by one error file holding msg.
func (s *Store) failedFiles(ctx context.Context, id, msg string) error {
	for _, q := range []string{clearChunks, clearFiles} {
		if _, err := s.pool.Exec(ctx, q, id); err != nil {
			return translate("export: clear files", err)
		}
	}
	out := newExportWriter(ctx, s, id, 1<<30)
	err := out.issue("the export failed: " + msg)
	if cerr := out.close(); err == nil {
		err = cerr
	}
	return err
}
