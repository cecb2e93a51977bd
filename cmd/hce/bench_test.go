package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hce-fhir/hce/internal/testdb"
	"github.com/hce-fhir/hce/rest"
	"github.com/hce-fhir/hce/store"
	"github.com/prometheus/client_golang/prometheus"
)

// BenchmarkCreate measures POST /fhir/Patient over HTTP at 1 and 16
// concurrent clients, reporting latency percentiles next to ns/op.
func BenchmarkCreate(b *testing.B) {
	base := benchServer(b)
	body, _ := json.Marshal(patient("Bench"))
	for _, clients := range []int{1, 16} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			drive(b, clients, func(c *http.Client) (*http.Response, error) {
				return c.Post(base+"/fhir/Patient", "application/fhir+json", bytes.NewReader(body))
			}, http.StatusCreated)
		})
	}
}

// BenchmarkRead measures GET /fhir/Patient/{id} over HTTP at 1 and 16
// concurrent clients.
func BenchmarkRead(b *testing.B) {
	base := benchServer(b)
	body, _ := json.Marshal(patient("Bench"))
	resp, err := http.Post(base+"/fhir/Patient", "application/fhir+json", bytes.NewReader(body))
	if err != nil || resp.StatusCode != http.StatusCreated {
		b.Fatalf("create: %v %v", err, resp)
	}
	resp.Body.Close()
	url := base + resp.Header.Get("Location")
	if resp.Header.Get("Location")[0] != '/' {
		url = resp.Header.Get("Location")
	}
	for _, clients := range []int{1, 16} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			drive(b, clients, func(c *http.Client) (*http.Response, error) { return c.Get(url) }, http.StatusOK)
		})
	}
}

func benchServer(b *testing.B) string {
	pool := testdb.Pool(b, store.MigrateUp)
	srv := httptest.NewServer(newServer(store.New(pool), rest.Options{}, prometheus.NewRegistry(), slog.New(slog.NewJSONHandler(io.Discard, nil))))
	b.Cleanup(srv.Close)
	return srv.URL
}

// drive runs b.N requests from the given number of concurrent clients.
func drive(b *testing.B, clients int, send func(*http.Client) (*http.Response, error), want int) {
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	var next atomic.Int64
	lat := make([][]time.Duration, clients)
	var wg sync.WaitGroup
	b.ResetTimer()
	for w := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				start := time.Now()
				resp, err := send(c)
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != want {
					b.Errorf("status %d, want %d", resp.StatusCode, want)
					return
				}
				lat[w] = append(lat[w], time.Since(start))
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	all := slices.Concat(lat...)
	slices.Sort(all)
	if len(all) > 0 {
		b.ReportMetric(float64(all[len(all)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(len(all))/b.Elapsed().Seconds(), "req/s")
	}
}
