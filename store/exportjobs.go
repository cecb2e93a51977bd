package store

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"
	"github.com/hce-fhir/hce/fhir"
	"github.com/jackc/pgx/v5"
)

// Export jobs live in export_jobs (migration 00006): any server replica
// answers a job's status and serves its files, and a runner on any replica
// resumes a job whose runner stopped (exportrun.go).

const (
	activeJobs = `SELECT count(*) FROM export_jobs WHERE status IN ('accepted', 'running')`

	insertJob = `INSERT INTO export_jobs (id, status, request, params, owner, transaction_time)
VALUES ($1, 'accepted', $2, $3, $4, date_trunc('milliseconds', clock_timestamp()))
RETURNING transaction_time`

	selectJob = `SELECT status, params, transaction_time, exported, coalesce(error, ''), expires
FROM export_jobs WHERE id = $1`

	selectFiles = `SELECT file_no, type, is_error, count, bytes FROM export_files WHERE job_id = $1 ORDER BY file_no`

	deleteJob = `DELETE FROM export_jobs WHERE id = $1`

	selectChunks = `SELECT data FROM export_chunks WHERE job_id = $1 AND file_no = $2 AND chunk_no >= $3 ORDER BY chunk_no LIMIT $4`

	deleteExpired = `DELETE FROM export_jobs WHERE expires < now()`
)

// chunksPerRead is how many chunks of a file a download reads per
// statement: a few megabytes in memory at a time.
const chunksPerRead = 4

// StartExport records a new export job, to be run by a runner, unless
// maxJobs jobs are already accepted or running (fhir.ErrTooManyJobs). It
// returns the job's id and transaction time.
func (s *Store) StartExport(ctx context.Context, req fhir.ExportRequest, maxJobs int) (string, time.Time, error) {
	params, err := json.Marshal(req)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("store: start export: %w", err)
	}
	id := uuid.NewString()
	var at time.Time
	err = s.inTx(ctx, "start export", func(tx *Store) error {
		// One kick-off at a time counts the active jobs, on every replica.
		if err := tx.Lock(ctx, "hce.export.jobs"); err != nil {
			return err
		}
		var n int
		if err := tx.q().QueryRow(ctx, activeJobs).Scan(&n); err != nil {
			return err
		}
		if maxJobs > 0 && n >= maxJobs {
			return fmt.Errorf("store: start export: %w: %d jobs are running, the most this server allows", fhir.ErrTooManyJobs, n)
		}
		return tx.q().QueryRow(ctx, insertJob, id, req.Request, params, req.Owner).Scan(&at)
	})
	if err == nil && s.wake != nil {
		select {
		case s.wake <- struct{}{}: // this server's runner starts at once
		default:
		}
	}
	return id, at, err
}

// ExportStatus returns the state of job id; fhir.ErrNotFound when there is
// no such job (never created, cancelled or expired).
func (s *Store) ExportStatus(ctx context.Context, id string) (*fhir.ExportJob, error) {
	if uuid.Validate(id) != nil {
		return nil, fhir.Errorf(fhir.ErrNotFound, "not-found", "no export job "+id)
	}
	j := &fhir.ExportJob{ID: id}
	var params []byte
	var expires *time.Time
	err := s.q().QueryRow(ctx, selectJob, id).Scan(&j.Status, &params, &j.TransactionTime, &j.Exported, &j.Error, &expires)
	if expires != nil {
		j.Expires = *expires
	}
	if err == pgx.ErrNoRows {
		return nil, fhir.Errorf(fhir.ErrNotFound, "not-found", "no export job "+id)
	}
	if err != nil {
		return nil, translate("export status", err)
	}
	if err := json.Unmarshal(params, &j.Req); err != nil {
		return nil, fmt.Errorf("store: export status: %w", err)
	}
	if j.Status != "complete" && j.Status != "failed" {
		return j, nil
	}
	rows, err := s.q().Query(ctx, selectFiles, id)
	if err != nil {
		return nil, translate("export files", err)
	}
	err = forEach(rows, func(r pgx.Rows) error {
		var f fhir.ExportFile
		if err := r.Scan(&f.N, &f.Type, &f.Error, &f.Count, &f.Bytes); err != nil {
			return err
		}
		j.Files = append(j.Files, f)
		return nil
	})
	return j, translate("export files", err)
}

// CancelExport removes job id and its files; a runner working on it stops
// at its next lease renewal.
func (s *Store) CancelExport(ctx context.Context, id string) error {
	if uuid.Validate(id) != nil {
		return fhir.Errorf(fhir.ErrNotFound, "not-found", "no export job "+id)
	}
	tag, err := s.q().Exec(ctx, deleteJob, id)
	if err != nil {
		return translate("cancel export", err)
	}
	if tag.RowsAffected() == 0 {
		return fhir.Errorf(fhir.ErrNotFound, "not-found", "no export job "+id)
	}
	return nil
}

// WriteExportFile streams file n of job id to w, a few chunks per
// statement, so that memory stays bounded whatever the file's size.
func (s *Store) WriteExportFile(ctx context.Context, id string, n int, w io.Writer) error {
	next := 0
	for {
		rows, err := s.q().Query(ctx, selectChunks, id, n, next, chunksPerRead)
		if err != nil {
			return translate("export file", err)
		}
		got := 0
		err = forEach(rows, func(r pgx.Rows) error {
			got++
			// RawValues borrows the row's buffer: no copy per chunk.
			_, err := w.Write(r.RawValues()[0])
			return err
		})
		if err != nil {
			return translate("export file", err)
		}
		if got < chunksPerRead {
			return nil
		}
		next += got
	}
}

// ExpireExports removes finished jobs past their expiry, with their files.
func (s *Store) ExpireExports(ctx context.Context) (int64, error) {
	tag, err := s.pool.Exec(ctx, deleteExpired)
	return tag.RowsAffected(), translate("expire exports", err)
}
