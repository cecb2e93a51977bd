package rest

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

// TestBudget checks the outcomes of a bounded search without a database:
// fn stands for the repository call and blocks until its context ends.
func TestBudget(t *testing.T) {
	blocked := func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
	quick := func(context.Context) error { return nil }
	failing := func(context.Context) error { return errors.New("boom") }
	for _, tt := range []struct {
		name     string
		taken    int // slots held by other searches
		fn       func(context.Context) error
		cancel   bool // the client goes away
		status   int  // 0: no error
		issue    string
		noBundle bool
	}{
		{"finishes in time", 0, quick, false, 0, "", false},
		{"runs out of budget", 0, blocked, false, http.StatusBadRequest, "too-costly", false},
		{"finds no slot in time", 1, quick, false, http.StatusServiceUnavailable, "throttled", false},
		{"client gone while waiting", 1, quick, true, 499, "", false},
		{"client gone while running", 0, blocked, true, 499, "", false},
		{"other errors pass through", 0, failing, false, http.StatusInternalServerError, "exception", false},
		{"in a Bundle, no slot is needed", 1, quick, false, 0, "", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := newBudget(50*time.Millisecond, 1)
			for range tt.taken {
				b.slots <- struct{}{}
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.cancel {
				time.AfterFunc(10*time.Millisecond, cancel)
			}
			err := b.run(ctx, !tt.noBundle, tt.fn)
			if tt.status == 0 {
				if err != nil {
					t.Fatalf("got %v", err)
				}
				return
			}
			code, issues := status(err)
			if code != tt.status || tt.issue != "" && issues[0].Code != tt.issue {
				t.Fatalf("%v: %d %+v, want %d %s", err, code, issues, tt.status, tt.issue)
			}
			if b.waiting.Load() != 0 || b.running.Load() != 0 || len(b.slots) != tt.taken {
				t.Errorf("after the search: %d waiting, %d running, %d slots taken", b.waiting.Load(), b.running.Load(), len(b.slots))
			}
		})
	}
}
