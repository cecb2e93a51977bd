package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/hce-fhir/hce/audit"
	"github.com/hce-fhir/hce/rest"
	"github.com/hce-fhir/hce/search"
	"github.com/hce-fhir/hce/store"
	"github.com/hce-fhir/hce/validate"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.opentelemetry.io/contrib/instrumentation/github.com/labstack/echo/otelecho"
)

type serveFlags struct {
	addr    string
	migrate bool
	db      dbFlags
	opt     rest.Options
	auth    authFlags
	tls     tlsFlags
	audit   bool
	cors    string
	export  store.ExportOptions

	reconcile      bool
	reconcileFlags reconcileFlags
	// memoryLimit is the Go runtime's soft memory limit in bytes.
	memoryLimit int64
	// heapFloor is the heap size below which the garbage collector does
	// not start (heapfloor.go).
	heapFloor int64
}

// registerExport declares the flags of Bulk Data export.
func (f *serveFlags) registerExport(fs *flag.FlagSet) {
	fs.IntVar(&f.opt.MaxExportJobs, "export-max-jobs", 4, "export jobs accepted or running at once over all replicas; more are answered 429 (env HCE_EXPORT_MAX_JOBS)")
	fs.Int64Var(&f.export.FileBytes, "export-file-bytes", 256<<20, "size at which an export splits a type's output into another file (env HCE_EXPORT_FILE_BYTES)")
	fs.DurationVar(&f.export.Expiry, "export-expiry", time.Hour, "how long a finished export's files are kept (env HCE_EXPORT_EXPIRY)")
	fs.DurationVar(&f.export.Settle, "export-settle", time.Second, "clock margin of an export's snapshot: the most server and database clocks may differ (env HCE_EXPORT_SETTLE)")
	fs.IntVar(&f.export.Jobs, "export-jobs", 1, "export jobs this server runs at once (env HCE_EXPORT_JOBS)")
}

// registerSearch declares the flags of the search limits and budgets.
func (f *serveFlags) registerSearch(fs *flag.FlagSet) {
	d := search.DefaultLimits
	l := &f.opt.Limits
	fs.IntVar(&l.Params, "max-params", d.Params, "most parameters in one search, each occurrence counted (env HCE_MAX_PARAMS)")
	fs.IntVar(&l.Values, "max-or-values", d.Values, "most comma-separated values ORed in one parameter (env HCE_MAX_OR_VALUES)")
	fs.IntVar(&l.SortKeys, "max-sort-keys", d.SortKeys, "most _sort keys (env HCE_MAX_SORT_KEYS)")
	fs.IntVar(&l.ChainDepth, "max-chain-depth", d.ChainDepth, "most chained references in one parameter, as in subject:Patient.organization.name (env HCE_MAX_CHAIN_DEPTH)")
	fs.IntVar(&l.HasDepth, "max-has-depth", d.HasDepth, "most nested _has in one parameter (env HCE_MAX_HAS_DEPTH)")
	fs.IntVar(&l.Includes, "max-includes", d.Includes, "most _include and _revinclude values in one search (env HCE_MAX_INCLUDES)")
	fs.IntVar(&l.Iterate, "max-iterate", d.Iterate, "most of them with :iterate (env HCE_MAX_ITERATE)")
	fs.DurationVar(&f.opt.SearchTimeout, "search-timeout", 10*time.Second, "time budget of one search, waiting for a search slot included; shorter than --statement-timeout (env HCE_SEARCH_TIMEOUT)")
	fs.IntVar(&f.opt.SearchConcurrency, "search-concurrency", 0, "searches that run at once; 0 leaves a quarter of --pool-size, at least 2 connections, to reads and writes (env HCE_SEARCH_CONCURRENCY)")
}

// check rejects contradictory search settings.
func (f *serveFlags) check() error {
	l := f.opt.Limits
	for name, v := range map[string]int{"max-params": l.Params, "max-or-values": l.Values, "max-sort-keys": l.SortKeys,
		"max-chain-depth": l.ChainDepth, "max-has-depth": l.HasDepth, "max-includes": l.Includes, "max-iterate": l.Iterate,
		"max-count": f.opt.MaxCount, "max-header-bytes": f.opt.MaxHeaderBytes, "max-json-depth": f.opt.Validation.MaxDepth,
		"max-json-array": f.opt.Validation.MaxArrayLength, "max-json-values": f.opt.Validation.MaxValues, "default-count": f.opt.DefaultCount, "pool-size": f.db.poolSize, "search-concurrency": f.opt.SearchConcurrency} {
		if v < 0 {
			return fmt.Errorf("--%s must not be negative", name)
		}
	}
	if f.opt.SearchTimeout <= 0 {
		return errors.New("--search-timeout must be positive")
	}
	if st := f.db.statementTimeout; st > 0 && f.opt.SearchTimeout >= st {
		return fmt.Errorf("--search-timeout (%s) must be shorter than --statement-timeout (%s): the search budget, not the database, should end an expensive search", f.opt.SearchTimeout, st)
	}
	return nil
}

// searchConcurrency is the number of searches that may run at once on a
// pool of poolSize connections: n when set, otherwise the pool less a
// reserve for reads and writes of a quarter of it, at least 2 connections.
func searchConcurrency(n, poolSize int) int {
	if n > 0 {
		return n
	}
	return max(1, poolSize-max(2, poolSize/4))
}

func serveCmd(ctx context.Context, args []string, stderr io.Writer) error {
	fs := newFlags("serve", stderr)
	var f serveFlags
	fs.StringVar(&f.addr, "addr", "127.0.0.1:8080", "listen address (env HCE_ADDR)")
	f.db.register(fs)
	fs.BoolVar(&f.migrate, "migrate", true, "apply pending migrations at start; false when a deployment job runs them (env HCE_MIGRATE)")
	fs.Int64Var(&f.opt.MaxBodyBytes, "max-body-bytes", 64<<20, "largest request body accepted (env HCE_MAX_BODY_BYTES)")
	fs.DurationVar(&f.opt.BodyTimeout, "body-timeout", rest.DefaultBodyTimeout, "longest a client may take to send a request body; slower or short bodies get 400 (env HCE_BODY_TIMEOUT)")
	fs.DurationVar(&f.opt.RequestTimeout, "request-timeout", rest.DefaultRequestTimeout, "deadline of a whole request; past it, 503 and its statements are cancelled (env HCE_REQUEST_TIMEOUT)")
	fs.IntVar(&f.opt.MaxHeaderBytes, "max-header-bytes", rest.DefaultMaxHeaderBytes, "largest request line and headers (431 beyond) (env HCE_MAX_HEADER_BYTES)")
	fs.IntVar(&f.opt.Validation.MaxDepth, "max-json-depth", validate.DefaultMaxDepth, "deepest nesting of objects and arrays in a body (env HCE_MAX_JSON_DEPTH)")
	fs.IntVar(&f.opt.Validation.MaxArrayLength, "max-json-array", validate.DefaultMaxArrayLength, "most items of one array in a body (env HCE_MAX_JSON_ARRAY)")
	fs.IntVar(&f.opt.Validation.MaxValues, "max-json-values", validate.DefaultMaxValues, "most JSON values of one resource in a body, each entry of a Bundle counted apart (env HCE_MAX_JSON_VALUES)")
	fs.Int64Var(&f.memoryLimit, "memory-limit", defaultMemoryLimit, "soft limit of the server's memory in bytes, past which the garbage collector works harder; 0 for none; GOMEMLIMIT, when set, wins (env HCE_MEMORY_LIMIT)")
	fs.Int64Var(&f.heapFloor, "gc-heap-floor", defaultHeapFloor, "heap size in bytes below which the garbage collector does not start, so that a small live heap is not collected dozens of times a second; 0 for GOGC's default alone; GOGC, when set, wins (env HCE_GC_HEAP_FLOOR)")
	fs.IntVar(&f.opt.DefaultCount, "default-count", 50, "page size when _count is absent (env HCE_DEFAULT_COUNT)")
	fs.IntVar(&f.opt.MaxCount, "max-count", 1000, "largest page size (env HCE_MAX_COUNT)")
	fs.BoolVar(&f.opt.DeleteMultiple, "delete-multiple", false, "let a conditional delete remove every match instead of answering 412 (env HCE_DELETE_MULTIPLE)")
	f.auth.register(fs)
	f.tls.register(fs)
	fs.BoolVar(&f.audit, "audit", true, "record every interaction as an AuditEvent (env HCE_AUDIT)")
	fs.StringVar(&f.cors, "cors-origins", "", "comma-separated browser origins allowed to call the API, * for any; empty disables CORS (env HCE_CORS_ORIGINS)")
	f.registerSearch(fs)
	f.registerExport(fs)
	fs.BoolVar(&f.reconcile, "cluster-reconcile", false, "on Citus, keep the workers registered as --cluster-workers or --cluster-workers-srv list them: register new ones, drain and remove dropped ones, rebalance when the set changes (env HCE_CLUSTER_RECONCILE)")
	f.reconcileFlags.register(fs, "cluster-")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := f.check(); err != nil {
		return err
	}
	if f.reconcile {
		if err := f.reconcileFlags.check("cluster-"); err != nil {
			return err
		}
	}
	logs := newLogBuffer(stderr)
	defer logs.Flush() // last: after everything else has logged its stop
	log := serveLogger(logs)
	slog.SetDefault(log)
	setMemoryLimit(f.memoryLimit)
	setHeapFloor(f.heapFloor)
	if err := f.auth.setup(ctx, f.addr, f.db.dataDir, &f.opt, log); err != nil {
		return err
	}
	f.opt.CORSOrigins = splitList(f.cors)

	shutdownTracing, err := setupTracing(ctx)
	if err != nil {
		return err
	}
	defer shutdownTracing()

	db, err := openDatabase(ctx, f.db, log)
	if err != nil {
		return err
	}
	defer db.close()
	if f.migrate {
		if err := migrateUp(ctx, db); err != nil {
			return err
		}
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if g := peakRSSGauge(); g != nil {
		reg.MustRegister(g)
	}
	f.opt.Version = version
	st := store.New(db.pool)
	var auditor *audit.Writer
	if f.audit {
		auditor = audit.NewWriter(auditSink(st), audit.Options{Log: log})
		f.opt.Audit = auditor
	}
	f.opt.SearchConcurrency = searchConcurrency(f.opt.SearchConcurrency, int(db.pool.Config().MaxConns))
	var rec *store.Reconciler
	if f.reconcile {
		rec = st.NewReconciler()
		go reconcileLoop(ctx, rec, &f.reconcileFlags, log)
	}
	e := newServerWith(st, rec, f.opt, reg, log)
	f.export.Log = log
	exports := make(chan struct{})
	rctx, stopExports := context.WithCancel(context.Background())
	go func() {
		defer close(exports)
		st.RunExports(rctx, f.export)
	}()
	defer func() {
		// A job cut short is released for the next start or another replica.
		stopExports()
		<-exports
	}()

	ln, err := listen(f.addr, f.opt)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := httpServer(e, f.opt)
	errc := make(chan error, 1)
	go func() { errc <- f.tls.serve(srv, ln) }()
	log.Info("serving FHIR R4", "url", f.tls.scheme()+"://"+ln.Addr().String()+"/fhir", "embedded", db.embedded != nil,
		"auth", f.opt.Auth != nil, "audit", f.audit, "pool_size", db.pool.Config().MaxConns,
		"search_concurrency", f.opt.SearchConcurrency, "search_timeout", f.opt.SearchTimeout.String())

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	if auditor != nil {
		// Every answered request's AuditEvent is stored before the database goes.
		if err := auditor.Close(sctx); err != nil {
			return err
		}
	}
	return nil
}

// httpServer is the HTTP server of hce serve: headers within 10 s and
// twice the header limit (the API answers those over the limit itself, with
// an OperationOutcome), and a write deadline past the request deadline so
// that no connection outlives it for long.
func httpServer(h http.Handler, opt rest.Options) *http.Server {
	maxHeader := maxHeaderBytes(opt)
	reqTimeout := opt.RequestTimeout
	if reqTimeout <= 0 {
		reqTimeout = rest.DefaultRequestTimeout
	}
	return &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: 2 * maxHeader,
		WriteTimeout: reqTimeout + 10*time.Second, IdleTimeout: 2 * time.Minute}
}

// listen listens on addr for httpServer; what net/http answers itself
// there, before the API sees a request, is an OperationOutcome too.
func listen(addr string, opt rest.Options) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	return outcomeListener(ln, maxHeaderBytes(opt)), nil
}

// maxHeaderBytes is the limit of the request line and headers of opt.
func maxHeaderBytes(opt rest.Options) int {
	if opt.MaxHeaderBytes <= 0 {
		return rest.DefaultMaxHeaderBytes
	}
	return opt.MaxHeaderBytes
}

func migrateUp(ctx context.Context, db *database) error {
	return store.MigrateUp(ctx, db.pool)
}

// newServer wires the store into the FHIR API, with request ids, JSON
// request logs and, when an exporter is configured, tracing.
func newServer(st *store.Store, opt rest.Options, reg *prometheus.Registry, log *slog.Logger) *echo.Echo {
	return newServerWith(st, nil, opt, reg, log)
}

// newServerWith is newServer with the reconcile loop rec (nil when it does
// not run) in /admin/cluster and the metrics.
func newServerWith(st *store.Store, rec *store.Reconciler, opt rest.Options, reg *prometheus.Registry, log *slog.Logger) *echo.Echo {
	reg.MustRegister(st.Collector(), st.ClusterCollector(rec))
	if opt.Exports == nil {
		opt.Exports = st
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Use(middleware.Recover())
	e.Use(middleware.RequestID())
	if tracing() {
		e.Use(otelecho.Middleware("hce"))
	}
	e.Use(middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogMethod: true, LogURI: true, LogStatus: true, LogLatency: true, LogRequestID: true, LogError: true,
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			// Typed attributes: no boxing of every value on every request.
			attrs := [6]slog.Attr{slog.String("method", v.Method), slog.String("uri", v.URI), slog.Int("status", v.Status),
				slog.Float64("latency_ms", float64(v.Latency.Microseconds())/1000), slog.String("request_id", v.RequestID)}
			n := 5
			if v.Status >= 500 && v.Error != nil {
				attrs[n] = slog.String("error", v.Error.Error())
				n++
			}
			log.LogAttrs(c.Request().Context(), slog.LevelInfo, "request", attrs[:n]...)
			return nil
		},
	}))
	rest.NewHandler(repository{st}, operations{st, rec}, opt).Register(e, reg, reg)
	return e
}
