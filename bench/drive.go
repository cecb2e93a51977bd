package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// maxErrorSamples bounds the failed requests a Result keeps for the report.
const maxErrorSamples = 3

// Result is one pattern run at one concurrency.
type Result struct {
	Pattern string `json:"pattern"`
	// Example is the first request's target under the FHIR base.
	Example string `json:"example"`
	// Pages > 1: each request followed next links to that page, and only
	// the last page read was timed.
	Pages   int `json:"pages,omitempty"`
	Clients int `json:"clients"`
	// Expect is "always" or "some": which answers should find something.
	Expect string `json:"expect"`
	// Requests were sent; Errors of them had no 2xx answer; Empty had a
	// 2xx answer that found nothing.
	Requests int `json:"requests"`
	Errors   int `json:"errors"`
	Empty    int `json:"empty"`
	// Latency percentiles of all requests, in milliseconds.
	P50 float64 `json:"p50Ms"`
	P95 float64 `json:"p95Ms"`
	P99 float64 `json:"p99Ms"`
	// PerSecond is Requests over the run's wall time.
	PerSecond float64 `json:"perSecond"`
	Seconds   float64 `json:"seconds"`
	// ErrorSamples are the first failures: request, status and diagnostics.
	ErrorSamples []string `json:"errorSamples,omitempty"`
	// Skipped says why the pattern did not run (the data has nothing to
	// build it from); nothing else is set then.
	Skipped string `json:"skipped,omitempty"`
}

// Limits bound a pattern's run at one concurrency: it ends after Requests
// requests or when Duration has passed, whichever comes first.
type Limits struct {
	Requests int
	Duration time.Duration
}

// sample is one request's outcome.
type sample struct {
	elapsed time.Duration
	failed  string // non-empty: why it is an error
	found   int
}

// runPattern sends requests of p from clients concurrent clients within
// lim and summarises them.
func runPattern(ctx context.Context, c *client, p Pattern, f *Facts, clients int, lim Limits) Result {
	res := Result{Pattern: p.Name, Clients: clients, Expect: expectName(p.Expect)}
	if p.Pages > 1 {
		res.Pages = p.Pages
	}
	example, ok := p.Build(f, 0)
	if !ok {
		res.Skipped = "the loaded data has nothing to build it from"
		return res
	}
	res.Example = example
	start := time.Now()
	deadline := start.Add(lim.Duration)
	var next atomic.Int64
	per := make([][]sample, clients)
	var wg sync.WaitGroup
	for w := range clients {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= lim.Requests || ctx.Err() != nil || (lim.Duration > 0 && time.Now().After(deadline)) {
					return
				}
				target, _ := p.Build(f, i)
				per[w] = append(per[w], c.measure(ctx, target, p.Pages))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	all := slices.Concat(per...)
	lat := make([]time.Duration, len(all))
	for i, s := range all {
		lat[i] = s.elapsed
		switch {
		case s.failed != "":
			res.Errors++
			if len(res.ErrorSamples) < maxErrorSamples {
				res.ErrorSamples = append(res.ErrorSamples, s.failed)
			}
		case s.found == 0:
			res.Empty++
		}
	}
	slices.Sort(lat)
	res.Requests = len(all)
	res.P50, res.P95, res.P99 = percentile(lat, 0.50), percentile(lat, 0.95), percentile(lat, 0.99)
	res.Seconds = elapsed.Seconds()
	if elapsed > 0 {
		res.PerSecond = float64(res.Requests) / elapsed.Seconds()
	}
	return res
}

// measure sends one request of a pattern. With pages > 1 it follows next
// links up to that page and times only the last page it reads.
func (c *client) measure(ctx context.Context, target string, pages int) sample {
	for page := 1; ; page++ {
		start := time.Now()
		r, err := c.get(ctx, target)
		if err != nil {
			return sample{elapsed: time.Since(start), failed: fmt.Sprintf("GET %s: %v", target, err)}
		}
		if !r.ok() {
			return sample{elapsed: r.elapsed, failed: fmt.Sprintf("GET %s: %d: %s", target, r.status, snippet(r.body))}
		}
		if page < pages {
			if next := nextLink(r.body); next != "" {
				target = next
				continue
			}
		}
		n, err := matches(r.body)
		if err != nil {
			return sample{elapsed: r.elapsed, failed: fmt.Sprintf("GET %s: %d, not FHIR JSON: %v", target, r.status, err)}
		}
		return sample{elapsed: r.elapsed, found: n}
	}
}

func nextLink(body []byte) string {
	var p page
	if json.Unmarshal(body, &p) != nil {
		return ""
	}
	return p.next()
}

// percentile is the nearest-rank percentile of sorted latencies, in
// milliseconds.
func percentile(sorted []time.Duration, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	i = min(max(i, 0), len(sorted)-1)
	return float64(sorted[i].Microseconds()) / 1000
}

func expectName(e Expect) string {
	if e == Some {
		return "some"
	}
	return "always"
}
