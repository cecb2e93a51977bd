package main

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// Bounds of the serve log's batches.
const (
	logFlushInterval = 100 * time.Millisecond
	logFlushBytes    = 64 << 10
)

// logBuffer gathers the log lines of hce serve and writes them to w in
// batches: a tenth of a second after the first pending line, as soon as
// 64 KiB are pending, and on Flush. Every request logs a line, and one
// write to stderr (a file, or the container runtime's pipe) per line was
// about a twentieth of the CPU of a read by id. Lines at warning level and
// above are written at once (serveLogger); a crash loses at most the last
// tenth of a second of the others.
type logBuffer struct {
	w        io.Writer
	interval time.Duration
	mu       sync.Mutex
	buf      []byte
	timer    *time.Timer // armed while lines are pending
}

func newLogBuffer(w io.Writer) *logBuffer { return newLogBufferEvery(w, logFlushInterval) }

// newLogBufferEvery is newLogBuffer with lines held up to interval.
func newLogBufferEvery(w io.Writer, interval time.Duration) *logBuffer {
	b := &logBuffer{w: w, interval: interval}
	b.timer = time.AfterFunc(time.Hour, b.Flush)
	b.timer.Stop()
	return b
}

// Write queues p, one whole log line as slog writes them.
func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.buf) == 0 {
		b.timer.Reset(b.interval)
	}
	b.buf = append(b.buf, p...)
	if len(b.buf) >= logFlushBytes {
		b.flushLocked()
	}
	return len(p), nil
}

// Flush writes the pending lines.
func (b *logBuffer) Flush() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.flushLocked()
}

func (b *logBuffer) flushLocked() {
	if len(b.buf) == 0 {
		return
	}
	b.timer.Stop()
	_, _ = b.w.Write(b.buf) // nowhere to report a failing stderr
	if cap(b.buf) > 4*logFlushBytes {
		b.buf = nil // a burst of long lines is not kept
	} else {
		b.buf = b.buf[:0]
	}
}

// serveLogger is the JSON logger of hce serve on b: records at warning
// level and above flush b, so that errors are never held back.
func serveLogger(b *logBuffer) *slog.Logger {
	return slog.New(flushingHandler{Handler: slog.NewJSONHandler(b, nil), b: b})
}

type flushingHandler struct {
	slog.Handler
	b *logBuffer
}

func (h flushingHandler) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level >= slog.LevelWarn {
		h.b.Flush()
	}
	return err
}

func (h flushingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return flushingHandler{Handler: h.Handler.WithAttrs(attrs), b: h.b}
}

func (h flushingHandler) WithGroup(name string) slog.Handler {
	return flushingHandler{Handler: h.Handler.WithGroup(name), b: h.b}
}
