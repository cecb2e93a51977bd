package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hce-fhir/hce/internal/testdb"
	"github.com/hce-fhir/hce/rest"
	"github.com/hce-fhir/hce/store"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// budgetServer starts HCE on a pool configured as `hce serve` configures
// it (pool size, cancellation of statements whose context ends), and
// returns a client and a separate pool to watch the database with.
func budgetServer(t testing.TB, opt rest.Options, poolSize int) (*client, *pgxpool.Pool) {
	t.Helper()
	ctx := context.Background()
	cfg, err := poolConfig(testdb.URL(t), dbFlags{poolSize: poolSize, statementTimeout: 5 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := store.MigrateUp(ctx, pool); err != nil {
		t.Fatal(err)
	}
	admin, err := pgxpool.New(ctx, testdb.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(admin.Close)
	srv := httptest.NewServer(newServer(store.New(pool), opt, prometheus.NewRegistry(), slog.New(slog.NewJSONHandler(io.Discard, nil))))
	t.Cleanup(srv.Close)
	return &client{base: srv.URL}, admin
}

var slowOnce sync.Once

// slowSearch returns a search that is expensive within the default limits:
// 99 ANDed name:contains parameters of 100 values each, the last of which
// matches every patient of a 2,000-patient fixture, counted with
// _total=accurate. Each patient costs up to 9,900 substring tests; on two
// cores the search takes seconds. The fixture is stored once per test run.
func slowSearch(t testing.TB, c *client) string {
	t.Helper()
	slowOnce.Do(func() {
		for range 4 {
			var entries []map[string]any
			for i := range 500 {
				entries = append(entries, request("POST", "Patient", patient(fmt.Sprintf("Costly%s%d", uniq, i%7))))
			}
			resp := c.post(t, "/fhir", bundleOf("batch", entries...))
			if resp.StatusCode != 200 {
				t.Fatalf("storing the fixture: %s", resp.Status)
			}
		}
	})
	values := make([]string, 100)
	for i := range 99 {
		values[i] = fmt.Sprintf("zq%03d", i)
	}
	values[99] = "ana" // every fixture patient's given name
	one := "name:contains=" + url.QueryEscape(strings.Join(values, ","))
	return "/fhir/Patient?" + strings.Repeat(one+"&", 99) + "_total=accurate"
}

// post sends a JSON body without failing from another goroutine.
func (c *client) post(t testing.TB, path string, body any) *http.Response {
	t.Helper()
	raw, err := jsonBody(body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(c.base+path, "application/fhir+json", raw)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func jsonBody(v any) (io.Reader, error) {
	raw, err := json.Marshal(v)
	return bytes.NewReader(raw), err
}

// get sends GET path under ctx and returns the status and body; any error
// (a cancelled context) is status 0.
func (c *client) get(ctx context.Context, path string) (int, string) {
	req, err := http.NewRequestWithContext(ctx, "GET", c.base+path, nil)
	if err != nil {
		return 0, err.Error()
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Retry-After") + " " + string(b)
}

// activeStatements counts the statements running on the test database
// other than the watcher's own.
func activeStatements(t testing.TB, admin *pgxpool.Pool) int {
	t.Helper()
	var n int
	err := admin.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
WHERE datname = current_database() AND backend_type = 'client backend' AND state = 'active' AND pid <> pg_backend_pid()`).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// waitFor polls cond every 10 ms until it holds or d has passed.
func waitFor(d time.Duration, cond func() bool) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

// gauge reads a gauge from the server's /metrics.
func (c *client) gauge(t testing.TB, name string) int {
	t.Helper()
	resp, err := http.Get(c.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			n, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return int(n)
		}
	}
	t.Fatalf("/metrics has no %s", name)
	return 0
}

// TestSearchBudget runs a slow search past its time budget: the answer is
// a 400 too-costly OperationOutcome soon after the budget, and the
// database statement is cancelled rather than left running to the end.
func TestSearchBudget(t *testing.T) {
	skipOnCitus(t, "the slow search is sized for one PostgreSQL; fanned out to every shard of a Citus cluster on one machine it outlasts the budgets this test sets")
	long, admin := budgetServer(t, rest.Options{SearchTimeout: time.Minute}, 4)
	path := slowSearch(t, long)
	start := time.Now()
	if code, body := long.get(context.Background(), path); code != 200 {
		t.Fatalf("the slow search within a long budget: %d %s", code, body)
	}
	natural := time.Since(start)
	budget := max(natural/8, 50*time.Millisecond)
	t.Logf("the search takes %s; budget %s", natural.Round(time.Millisecond), budget)

	c, _ := budgetServer(t, rest.Options{SearchTimeout: budget}, 4)
	type answer struct {
		code int
		body string
		at   time.Time
	}
	done := make(chan answer, 1)
	start = time.Now()
	go func() {
		code, body := c.get(context.Background(), path)
		done <- answer{code, body, time.Now()}
	}()
	if !waitFor(natural, func() bool { return activeStatements(t, admin) > 0 }) {
		t.Fatal("the search never showed in pg_stat_activity")
	}
	a := <-done
	if a.code != 400 || !strings.Contains(a.body, `"too-costly"`) || !strings.Contains(a.body, "time budget of "+budget.String()) {
		t.Fatalf("out of budget: %d %s; want 400 too-costly naming the budget", a.code, a.body)
	}
	t.Logf("answered after %s", a.at.Sub(start).Round(time.Millisecond))
	if !waitFor(natural/3, func() bool { return activeStatements(t, admin) == 0 }) {
		t.Fatalf("the statement still runs %s after the answer; it was not cancelled", time.Since(a.at))
	}
	t.Logf("statement gone %s after the answer", time.Since(a.at).Round(time.Millisecond))
	// The connection whose statement was cancelled serves the next request.
	if code, body := c.get(context.Background(), "/fhir/Patient?_count=1"); code != 200 {
		t.Fatalf("after the cancellation: %d %s", code, body)
	}
}

// TestSearchConcurrency fills every search slot with slow searches and
// queues more behind them: reads by id and creates still succeed while they
// run, a search that finds no slot within its budget is a 503 throttled
// with Retry-After, and searches whose client goes away free their slot.
func TestSearchConcurrency(t *testing.T) {
	const pool, slots, searches = 4, 2, 8
	c, admin := budgetServer(t, rest.Options{SearchTimeout: time.Minute, SearchConcurrency: slots}, pool)
	path := slowSearch(t, c)
	r := c.post(t, "/fhir/Patient", patient("Reader"+uniq))
	if r.StatusCode != 201 {
		t.Fatalf("create: %s", r.Status)
	}
	id := strings.Split(strings.TrimPrefix(r.Header.Get("Location"), c.base), "/_history")[0]

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range searches {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.get(ctx, path)
		}()
	}
	defer func() { cancel(); wg.Wait() }()
	if !waitFor(30*time.Second, func() bool {
		return c.gauge(t, "hce_searches_running") == slots && c.gauge(t, "hce_searches_waiting") == searches-slots
	}) {
		t.Fatalf("searches running %d, waiting %d; want %d and %d", c.gauge(t, "hce_searches_running"), c.gauge(t, "hce_searches_waiting"), slots, searches-slots)
	}
	if !waitFor(5*time.Second, func() bool { return activeStatements(t, admin) == slots }) {
		t.Errorf("%d statements running in the database, want %d", activeStatements(t, admin), slots)
	}
	for i := range 10 {
		if code, body := c.get(context.Background(), id); code != 200 {
			t.Fatalf("read %d while the searches run: %d %s", i, code, body)
		}
		if r := c.post(t, "/fhir/Patient", patient("Writer"+uniq)); r.StatusCode != 201 {
			t.Fatalf("create %d while the searches run: %s", i, r.Status)
		}
	}
	if running := c.gauge(t, "hce_searches_running"); running != slots {
		t.Fatalf("only %d searches still run: the reads and writes did not overlap them", running)
	}

	t.Run("no slot within the budget", func(t *testing.T) {
		// One slot. A holds it until its budget ends and its statement is
		// cancelled; B and C wait for it meanwhile. If A lets go within
		// their budgets, one of them takes the slot and holds it, slow too,
		// past the other's budget; otherwise both wait theirs out. Either
		// way at least one answers 503 (it waited out its budget) and none
		// gets a result. On a loaded machine B and C may start so far apart
		// that each runs its budget out in turn (two 400s): the round is
		// then run again, at most three times.
		short, _ := budgetServer(t, rest.Options{SearchTimeout: 200 * time.Millisecond, SearchConcurrency: 1}, pool)
		type answer struct {
			code int
			body string
		}
		round := func() map[int]int {
			first := make(chan int, 1)
			go func() { code, _ := short.get(context.Background(), path); first <- code }()
			if !waitFor(5*time.Second, func() bool { return short.gauge(t, "hce_searches_running") == 1 }) {
				t.Fatal("the first search did not start")
			}
			// Half A's budget later, so that B and C still wait when A lets go.
			time.Sleep(100 * time.Millisecond)
			later := make(chan answer, 2)
			for range 2 {
				go func() { code, body := short.get(context.Background(), path); later <- answer{code, body} }()
			}
			if code := <-first; code != 400 {
				t.Errorf("the slow search answered %d, want 400", code)
			}
			codes := map[int]int{}
			for range 2 {
				a := <-later
				codes[a.code]++
				if a.code == 503 && (!strings.HasPrefix(a.body, "5 ") || !strings.Contains(a.body, `"throttled"`)) {
					t.Errorf("waiting past the budget: %s; want throttled with Retry-After", a.body)
				}
			}
			return codes
		}
		var codes map[int]int
		for range 3 {
			if codes = round(); codes[400]+codes[503] != 2 || codes[503] > 0 {
				break
			}
		}
		if codes[503] == 0 || codes[400]+codes[503] != 2 {
			t.Errorf("the two searches after the first answered %v; want 503 (waited out), or 400 (ran out) for one of them", codes)
		}
	})

	cancel()
	wg.Wait()
	if !waitFor(10*time.Second, func() bool { return activeStatements(t, admin) == 0 }) {
		t.Errorf("%d statements still run after their clients went away", activeStatements(t, admin))
	}
	if !waitFor(10*time.Second, func() bool { return c.gauge(t, "hce_searches_running")+c.gauge(t, "hce_searches_waiting") == 0 }) {
		t.Errorf("searches still hold or wait for a slot after their clients went away")
	}
}

// BenchmarkReadWithExpensiveSearches measures GET /fhir/Patient/{id} at one
// client while 8 expensive searches (slowSearch, one after the other on
// each of 8 clients) are in flight: as `hce serve` runs by default on this
// machine (--pool-size and its derived --search-concurrency), and, for
// comparison, as before the search bound (pgx's default pool of
// max(4, cores), no bound), where a read waits for a search to free a
// connection. The latencies are reported (p50-ms, p99-ms), not asserted;
// the unbounded case takes seconds per read, so run it with few, e.g.
// -bench 'ReadWithExpensiveSearches/unbounded' -benchtime 10x.
func BenchmarkReadWithExpensiveSearches(b *testing.B) {
	const searches = 8
	pool := defaultPoolSize()
	for _, cfg := range []struct {
		name        string
		pool, slots int
	}{
		{fmt.Sprintf("bounded/pool=%d/slots=%d", pool, searchConcurrency(0, pool)), pool, searchConcurrency(0, pool)},
		{fmt.Sprintf("unbounded/pool=%d", max(4, runtime.NumCPU())), max(4, runtime.NumCPU()), 0},
	} {
		read, stop := "", func() {} // set up once, on the first of the runs b.Run makes
		b.Run(cfg.name, func(sb *testing.B) {
			if read == "" {
				read, stop = expensiveSearches(b, cfg.pool, cfg.slots, searches)
			}
			drive(sb, 1, func(hc *http.Client) (*http.Response, error) { return hc.Get(read) }, http.StatusOK)
		})
		stop()
	}
}

// expensiveSearches starts a server with the given pool and search slots,
// keeps n expensive searches in flight on it until stop is called, and
// returns the URL of a Patient to read.
func expensiveSearches(b *testing.B, pool, slots, n int) (read string, stop func()) {
	c, admin := budgetServer(b, rest.Options{SearchTimeout: 5 * time.Minute, SearchConcurrency: slots}, pool)
	path := slowSearch(b, c)
	r := c.post(b, "/fhir/Patient", patient("Reader"+uniq))
	if r.StatusCode != 201 {
		b.Fatalf("create: %s", r.Status)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				c.get(ctx, path)
			}
		}()
	}
	stop = func() { cancel(); wg.Wait() }
	inDB := min(n, pool)
	if slots > 0 {
		inDB = min(inDB, slots)
	}
	if !waitFor(time.Minute, func() bool {
		return c.gauge(b, "hce_searches_running")+c.gauge(b, "hce_searches_waiting") == n && activeStatements(b, admin) >= inDB
	}) {
		stop()
		b.Fatalf("the %d searches did not start", n)
	}
	return c.base + strings.Split(strings.TrimPrefix(r.Header.Get("Location"), c.base), "/_history")[0], stop
}

// skipOnCitus skips a test that times searches sized for one PostgreSQL
// when the test database is a Citus coordinator.
func skipOnCitus(t *testing.T, why string) {
	t.Helper()
	if store.New(testdb.Pool(t, store.MigrateUp)).CheckCitus(context.Background()) == nil {
		t.Skip("plain PostgreSQL only: " + why)
	}
}
