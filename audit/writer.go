package audit

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Sink stores a batch of AuditEvents, all or none.
type Sink func(ctx context.Context, events []Record) error

// Options tunes a Writer.
type Options struct {
	// Batch is the most events stored at once (default 500).
	Batch int
	// Interval is how long an event may wait for its batch to fill
	// (default 200ms).
	Interval time.Duration
	// Queue is how many events may wait; when it is full, Record blocks
	// (default 65536).
	Queue int
	// Log reports failed batches; nil means slog.Default().
	Log *slog.Logger
}

// Writer queues events and stores them in batches on one goroutine.
type Writer struct {
	sink    Sink
	opt     Options
	ch      chan Event
	done    chan struct{}
	mu      sync.RWMutex
	closed  bool
	written atomic.Int64
	failed  atomic.Int64
}

// NewWriter starts a Writer that stores events with sink.
func NewWriter(sink Sink, opt Options) *Writer {
	if opt.Batch <= 0 {
		opt.Batch = 500
	}
	if opt.Interval <= 0 {
		opt.Interval = 200 * time.Millisecond
	}
	if opt.Queue <= 0 {
		opt.Queue = 65536
	}
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	w := &Writer{sink: sink, opt: opt, ch: make(chan Event, opt.Queue), done: make(chan struct{})}
	go w.run()
	return w
}

// ErrClosed is returned by Record after Close.
var ErrClosed = errors.New("audit: writer closed")

// Record queues e. It does not wait for the database; it blocks only when
// the queue is full, so that under overload auditing slows requests down
// rather than losing events.
func (w *Writer) Record(e Event) error {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return ErrClosed
	}
	w.ch <- e
	return nil
}

// Written and Failed count the events stored and the events whose batch
// could not be stored.
func (w *Writer) Written() int64 { return w.written.Load() }

// Failed counts the events whose batch could not be stored.
func (w *Writer) Failed() int64 { return w.failed.Load() }

// Close stops taking events and waits until every queued one is stored, or
// ctx ends.
func (w *Writer) Close(ctx context.Context) error {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.ch)
	}
	w.mu.Unlock()
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		return errors.New("audit: events left unwritten: " + ctx.Err().Error())
	}
}

func (w *Writer) run() {
	defer close(w.done)
	batch := make([]Record, 0, w.opt.Batch)
	tick := time.NewTicker(w.opt.Interval)
	defer tick.Stop()
	flush := func() {
		if len(batch) == 0 {
			return
		}
		w.store(batch)
		batch = make([]Record, 0, w.opt.Batch)
	}
	for {
		select {
		case e, ok := <-w.ch:
			if !ok {
				flush()
				return
			}
			batch = append(batch, e.Record())
			if len(batch) >= w.opt.Batch {
				flush()
			}
		case <-tick.C:
			flush()
		}
	}
}

// store writes one batch, retrying a few times: the database may be
// briefly away.
func (w *Writer) store(batch []Record) {
	var err error
	for attempt := range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err = w.sink(ctx, batch)
		cancel()
		if err == nil {
			w.written.Add(int64(len(batch)))
			return
		}
		time.Sleep(time.Duration(attempt+1) * 200 * time.Millisecond)
	}
	w.failed.Add(int64(len(batch)))
	w.opt.Log.Error("audit: batch not stored", "events", len(batch), "error", err.Error())
}
