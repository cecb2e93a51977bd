package rest

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
)

// budget bounds the cost of searches in time and in database connections:
// each search runs under a deadline, and at most a fixed number run at
// once, so that expensive searches cannot take every connection from reads
// and writes. A search beyond the bound waits for a slot within its time
// budget.
type budget struct {
	timeout time.Duration
	slots   chan struct{} // nil: no bound
	waiting atomic.Int64  // searches waiting for a slot
	running atomic.Int64  // searches past the wait
}

func newBudget(timeout time.Duration, concurrency int) *budget {
	b := &budget{timeout: timeout}
	if concurrency > 0 {
		b.slots = make(chan struct{}, concurrency)
	}
	return b
}

// budgetError is a search that ran out of its time budget, while waiting
// for a slot or while it ran.
type budgetError struct {
	timeout time.Duration
	waited  bool // the budget ran out before the search got a slot
}

func (e *budgetError) Error() string {
	if e.waited {
		return fmt.Sprintf("the server is busy with other searches: no search slot became free within the time budget of %s; retry later", e.timeout)
	}
	return fmt.Sprintf("the search did not finish within the time budget of %s and was cancelled; narrow it (fewer or more selective parameters, fewer includes, no _total=accurate)", e.timeout)
}

// withinBudget runs fn, the repository work of one search of request c, under
// the time budget and in a search slot. Entries of a batch or transaction
// Bundle take no slot: they already hold their transaction's connection.
// fn must use the context it is given; when the budget ends, the database
// query is cancelled through it.
func (h *Handler) withinBudget(c echo.Context, fn func(ctx context.Context) error) error {
	return h.budget.run(c.Request().Context(), !inBundle(c), fn)
}

func (b *budget) run(parent context.Context, slot bool, fn func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(parent, b.timeout)
	defer cancel()
	if slot && b.slots != nil {
		select {
		case b.slots <- struct{}{}:
		default:
			b.waiting.Add(1)
			select {
			case b.slots <- struct{}{}:
				b.waiting.Add(-1)
			case <-ctx.Done():
				b.waiting.Add(-1)
				if parent.Err() != nil {
					return parent.Err() // the client went away
				}
				return &budgetError{timeout: b.timeout, waited: true}
			}
		}
		defer func() { <-b.slots }()
	}
	b.running.Add(1)
	defer b.running.Add(-1)
	err := fn(ctx)
	switch {
	case err == nil:
	case parent.Err() != nil:
		return fmt.Errorf("search abandoned by the client: %w", parent.Err())
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return &budgetError{timeout: b.timeout}
	}
	return err
}

// collectors report the searches running and waiting for a slot.
func (b *budget) collectors() []prometheus.Collector {
	return []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "hce_searches_running", Help: "Searches running (holding a search slot, when searches are bounded).",
		}, func() float64 { return float64(b.running.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "hce_searches_waiting", Help: "Searches waiting for a search slot.",
		}, func() float64 { return float64(b.waiting.Load()) }),
	}
}

// inBundle reports whether c is an entry of a batch or transaction Bundle.
func inBundle(c echo.Context) bool {
	_, ok := c.Request().Context().Value(txRepo{}).(Repository)
	return ok
}
