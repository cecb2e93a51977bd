package store

import (
	"context"
	"encoding/json"

	"github.com/hce-fhir/hce/fhir"
	"golang.org/x/sync/errgroup"
)

// exportWriter turns a job's resources into NDJSON files in export_chunks:
// one open file per type, split at fileBytes, written in chunks of
// chunkBytes by a goroutine of its own so that reading the snapshot and
// writing the files overlap. Memory is one chunk per type being written
// and a few chunks in flight.
type exportWriter struct {
	s         *Store
	job       string
	fileBytes int64
	open      map[string]*exportFile // by type; "" is the error file
	files     int
	chunks    chan chunk
	g         *errgroup.Group
	ctx       context.Context
}

type exportFile struct {
	no, chunks   int
	typ          string
	isError      bool
	count, bytes int64
	buf          []byte
}

type chunk struct {
	file, no int
	data     []byte
}

func newExportWriter(ctx context.Context, s *Store, job string, fileBytes int64) *exportWriter {
	g, gctx := errgroup.WithContext(ctx)
	w := &exportWriter{s: s, job: job, fileBytes: fileBytes, open: map[string]*exportFile{}, chunks: make(chan chunk, 4), g: g, ctx: gctx}
	g.Go(func() error {
		for c := range w.chunks {
			if _, err := s.pool.Exec(gctx, insertChunk, job, c.file, c.no, c.data); err != nil {
				// Drain, so that add does not block on a writer that stopped.
				for range w.chunks {
				}
				return translate("export: write chunk", err)
			}
		}
		return nil
	})
	return w
}

// add appends one resource, a line of its type's file.
func (w *exportWriter) add(typ string, line []byte) error {
	return w.line(typ, false, line)
}

// issue adds an OperationOutcome to the error file.
func (w *exportWriter) issue(diagnostics string) error {
	oo, err := json.Marshal(fhir.NewOperationOutcome(fhir.Issue{Severity: "error", Code: "processing", Diagnostics: diagnostics}))
	if err != nil {
		return err
	}
	return w.line("OperationOutcome", true, oo)
}

func (w *exportWriter) line(typ string, isError bool, line []byte) error {
	key := typ
	if isError {
		key = ""
	}
	f := w.open[key]
	if f == nil {
		w.files++
		f = &exportFile{no: w.files, typ: typ, isError: isError, buf: make([]byte, 0, chunkBytes+64<<10)}
		w.open[key] = f
	}
	f.buf = append(f.buf, line...)
	f.buf = append(f.buf, '\n')
	f.count++
	f.bytes += int64(len(line)) + 1
	if len(f.buf) >= chunkBytes {
		if err := w.flush(f); err != nil {
			return err
		}
	}
	if f.bytes >= w.fileBytes {
		delete(w.open, key)
		return w.closeFile(f)
	}
	return nil
}

// flush hands f's buffered lines to the chunk writer.
func (w *exportWriter) flush(f *exportFile) error {
	if len(f.buf) == 0 {
		return nil
	}
	select {
	case w.chunks <- chunk{file: f.no, no: f.chunks, data: f.buf}:
	case <-w.ctx.Done():
		return w.g.Wait()
	}
	f.chunks++
	f.buf = make([]byte, 0, chunkBytes+64<<10)
	return nil
}

// closeFile writes f's last chunk and its row in export_files.
func (w *exportWriter) closeFile(f *exportFile) error {
	if err := w.flush(f); err != nil {
		return err
	}
	_, err := w.s.pool.Exec(w.ctx, insertFile, w.job, f.no, f.typ, f.isError, f.count, f.bytes)
	return translate("export: write file", err)
}

// close writes every open file and waits for the chunk writer.
func (w *exportWriter) close() error {
	var err error
	for _, f := range w.open {
		if err == nil {
			err = w.closeFile(f)
		}
	}
	close(w.chunks)
	if gerr := w.g.Wait(); err == nil {
		err = gerr
	}
	return err
}
