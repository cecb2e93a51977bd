package load

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of Options.
const (
	// DefaultURL is the FHIR base of a server started with `hce serve`.
	DefaultURL = "http://127.0.0.1:8080/fhir"
	// DefaultConcurrency is the number of concurrent streams.
	DefaultConcurrency = 4
	// DefaultChunkLines bounds the NDJSON lines of one request.
	DefaultChunkLines = 5000
	// DefaultChunkBytes bounds the NDJSON bytes of one request, well under
	// the server's default body limit.
	DefaultChunkBytes = 16 << 20
)

// Media types of the requests.
const (
	mimeFHIRJSON   = "application/fhir+json"
	mimeFHIRNDJSON = "application/fhir+ndjson"
)

// maxReply bounds how much of a response is read: a batch-response with
// every resource represented is about as large as the request.
const maxReply = 256 << 20

// Options configure Load. The zero value loads into DefaultURL on
// DefaultConcurrency streams and stops at the first failure, silently.
type Options struct {
	// URL is the FHIR base URL that Bundles and NDJSON are posted to.
	URL string
	// Concurrency is the number of transaction Bundles and NDJSON chunks in
	// flight at once. Batch Bundles are always posted one at a time.
	Concurrency int
	// Continue goes on after a failure and reports every failure at the
	// end, instead of cancelling everything at the first one.
	Continue bool
	// Client sends the requests; nil uses a client that keeps Concurrency
	// connections open. It should have no overall timeout: a large
	// transaction can take minutes.
	Client *http.Client
	// Token is the bearer token sent with every request, if any.
	Token string
	// Stdin is read when a path is StdinPath.
	Stdin io.Reader
	// Progress receives the progress report and the summary; nil is silent.
	Progress io.Writer
	// Bar draws a one-line progress bar, redrawn in place, instead of one
	// line per file: set it when Progress is a terminal.
	Bar bool
	// Width is the terminal's width in columns; the bar is cut to fit. Zero
	// means unknown.
	Width int
	// ChunkLines and ChunkBytes bound one NDJSON request; zero means
	// DefaultChunkLines and DefaultChunkBytes.
	ChunkLines int
	ChunkBytes int
	// BatchEntries bounds the entries of one batch request; zero means
	// DefaultBatchEntries.
	BatchEntries int
}

// Summary is what a Load did.
type Summary struct {
	// Files counts the inputs finished, whether or not all of them loaded.
	Files int
	// Resources counts the resources the server accepted.
	Resources int64
	// Failures lists what did not load, in the order it was reported.
	Failures []Failure
	// Elapsed is the wall time of the whole load.
	Elapsed time.Duration
}

// String is the summary line, for example
// "loaded 1200 resources from 3 files in 4.2s (286 resources/s), 0 failed".
func (s *Summary) String() string {
	return fmt.Sprintf("loaded %d resources from %d files in %.1fs (%s resources/s), %d failed",
		s.Resources, s.Files, s.Elapsed.Seconds(), rate(s.Resources, s.Elapsed), len(s.Failures))
}

// Load posts the files that paths name (files, directories or StdinPath) to
// the FHIR server at opt.URL in the order of Plan: batch Bundles one at a
// time, then transaction Bundles and NDJSON chunks on opt.Concurrency
// streams.
//
// The error wraps ErrFailed when something did not load: without
// opt.Continue it is the first *Failure, and the rest of the load was
// cancelled; with it, every failure is in the Summary and was listed on
// opt.Progress. Other errors (a path that does not exist, an interrupted
// context) mean the load did not run to its end.
func Load(ctx context.Context, paths []string, opt Options) (Summary, error) {
	base, err := opt.normalize()
	if err != nil {
		return Summary{}, err
	}
	start := time.Now()
	inputs, err := Plan(ctx, paths, opt.Stdin)
	if err != nil {
		return Summary{}, err
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	r := &runner{opt: opt, base: base, client: opt.Client, cancel: cancel,
		prog: newProgress(opt.Progress, opt.Bar, opt.Width, inputs)}
	if r.client == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = opt.Concurrency + 1
		r.client = &http.Client{Transport: t}
		defer t.CloseIdleConnections()
	}
	r.run(runCtx, inputs)

	s := Summary{Files: r.files, Resources: r.prog.resources.Load(), Failures: r.failures, Elapsed: time.Since(start)}
	r.prog.finish(&s, opt.Continue)
	switch {
	case ctx.Err() != nil:
		return s, fmt.Errorf("load: interrupted: %w", ctx.Err())
	case len(s.Failures) == 0:
		return s, nil
	case !opt.Continue:
		f := s.Failures[0]
		return s, &f
	}
	return s, fmt.Errorf("%w: %d failed", ErrFailed, len(s.Failures))
}

// normalize fills in defaults and checks the base URL, which is returned
// without a trailing slash.
func (o *Options) normalize() (string, error) {
	if o.URL == "" {
		o.URL = DefaultURL
	}
	if o.Concurrency < 1 {
		o.Concurrency = DefaultConcurrency
	}
	if o.ChunkLines < 1 {
		o.ChunkLines = DefaultChunkLines
	}
	if o.ChunkBytes < 1 {
		o.ChunkBytes = DefaultChunkBytes
	}
	if o.BatchEntries < 1 {
		o.BatchEntries = DefaultBatchEntries
	}
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("load: base URL %q is not an http(s) URL", o.URL)
	}
	return strings.TrimRight(o.URL, "/"), nil
}

// runner is one Load in progress.
type runner struct {
	opt    Options
	base   string
	client *http.Client
	prog   *progress
	cancel context.CancelFunc // stops everything at the first failure

	mu       sync.Mutex
	failures []Failure
	files    int
}

// fileRun tracks one input whose parts (one Bundle, or NDJSON chunks) may
// finish on different streams.
type fileRun struct {
	in    Input
	start time.Time

	mu        sync.Mutex
	pending   int  // parts handed out and not finished
	reading   bool // more NDJSON chunks may come
	resources int64
	failed    int64
}

// job is one request: a whole Bundle, or one NDJSON chunk of fr.
type job struct {
	fr    *fileRun
	chunk *chunk
}

// run loads the plan: failures found while planning, then the batches in
// order, then the rest on opt.Concurrency streams.
func (r *runner) run(ctx context.Context, inputs []Input) {
	var batches, rest []*fileRun
	for _, in := range inputs {
		fr := &fileRun{in: in, start: time.Now(), pending: 1}
		switch {
		case in.Err != nil:
			// Reported before anything is posted: without Continue, a typo
			// in the arguments costs nothing.
			r.fail(Failure{File: in.Path, Entry: -1, Diagnostics: in.Err.Error()})
			r.partDone(fr, 0, 1, in.Size)
		case in.Kind == Batch:
			batches = append(batches, fr)
		default:
			rest = append(rest, fr)
		}
	}
	for _, fr := range batches {
		if ctx.Err() != nil {
			return
		}
		fr.start = time.Now()
		r.batch(ctx, fr)
	}
	jobs := make(chan job)
	var wg sync.WaitGroup
	for range r.opt.Concurrency {
		wg.Go(func() {
			for j := range jobs {
				if ctx.Err() != nil {
					continue // drain: the load was stopped
				}
				if j.chunk != nil {
					r.ndjsonChunk(ctx, j.fr, j.chunk)
				} else {
					j.fr.start = time.Now()
					r.bundle(ctx, j.fr)
				}
			}
		})
	}
	r.produce(ctx, rest, jobs)
	close(jobs)
	wg.Wait()
}

// produce hands out the jobs of files in order: a Bundle as one job, an
// NDJSON file as one job per chunk, read as the streams take them so that
// only about one chunk per stream is in memory.
func (r *runner) produce(ctx context.Context, files []*fileRun, jobs chan<- job) {
	for _, fr := range files {
		if ctx.Err() != nil {
			return
		}
		if fr.in.Kind != NDJSON {
			select {
			case jobs <- job{fr: fr}:
				continue
			case <-ctx.Done():
				return
			}
		}
		var read atomic.Int64 // bytes of the file read so far
		rc, err := fr.in.open(&read)
		if err != nil {
			r.fail(Failure{File: fr.in.Path, Entry: -1, Diagnostics: err.Error()})
			r.partDone(fr, 0, 1, fr.in.Size)
			continue
		}
		fr.start, fr.reading = time.Now(), true
		fr.pending = 0
		ch := newChunker(rc, r.opt.ChunkLines, r.opt.ChunkBytes)
		readFailed := false
		var credited int64 // bytes of the file assigned to chunks
		for ctx.Err() == nil {
			c, err := ch.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				readFailed = true
				r.fail(Failure{File: fr.in.Path, Entry: -1, Line: ch.lineNo, Diagnostics: err.Error()})
				fr.mu.Lock()
				fr.failed++
				fr.mu.Unlock()
				break
			}
			c.raw = read.Load() - credited
			credited += c.raw
			fr.mu.Lock()
			fr.pending++
			fr.mu.Unlock()
			select {
			case jobs <- job{fr: fr, chunk: c}:
			case <-ctx.Done():
				rc.Close()
				return
			}
		}
		rc.Close()
		if ctx.Err() != nil && !readFailed {
			return // stopped: the file is neither loaded nor failed
		}
		r.prog.bytesDone.Add(read.Load() - credited) // read ahead past the last chunk
		r.readDone(fr)
	}
}

// fail records a failure; without Continue it stops the load.
func (r *runner) fail(f Failure) {
	r.mu.Lock()
	r.failures = append(r.failures, f)
	r.mu.Unlock()
	r.prog.failed.Add(1)
	if !r.opt.Continue {
		r.cancel()
	}
}

// partDone adds a finished part to its file and reports the file when it
// was the last. raw is the part's share of the file's bytes: progress counts
// bytes when the server has answered for them, not when they were sent,
// because the server reads a whole Bundle before it stores any of it.
func (r *runner) partDone(fr *fileRun, resources, failed, raw int64) {
	r.prog.resources.Add(resources)
	r.prog.bytesDone.Add(raw)
	fr.mu.Lock()
	fr.resources += resources
	fr.failed += failed
	fr.pending--
	done := fr.pending == 0 && !fr.reading
	fr.mu.Unlock()
	if done {
		r.fileDone(fr)
	}
}

// readDone marks the end of an NDJSON file's chunks.
func (r *runner) readDone(fr *fileRun) {
	fr.mu.Lock()
	fr.reading = false
	done := fr.pending == 0
	fr.mu.Unlock()
	if done {
		r.fileDone(fr)
	}
}

func (r *runner) fileDone(fr *fileRun) {
	r.mu.Lock()
	r.files++
	r.mu.Unlock()
	fr.mu.Lock()
	resources, failed := fr.resources, fr.failed
	fr.mu.Unlock()
	r.prog.fileDone(fr.in, resources, failed, time.Since(fr.start))
}

// bundle posts a batch or transaction Bundle, streamed from its file.
func (r *runner) bundle(ctx context.Context, fr *fileRun) {
	in := fr.in
	body, err := in.open(nil)
	if err != nil {
		r.fail(Failure{File: in.Path, Entry: -1, Diagnostics: err.Error()})
		r.partDone(fr, 0, 1, in.Size)
		return
	}
	a, err := r.post(ctx, body, body.size, mimeFHIRJSON)
	if err != nil {
		if ctx.Err() != nil {
			return // cancelled: neither loaded nor failed
		}
		r.fail(Failure{File: in.Path, Entry: -1, Diagnostics: err.Error()})
		r.partDone(fr, 0, 1, in.Size)
		return
	}
	done, fails := bundleResult(in.Path, a)
	for _, f := range fails {
		r.fail(f)
	}
	r.partDone(fr, done, int64(len(fails)), in.Size)
}

// batch posts a batch Bundle in parts of at most opt.BatchEntries entries,
// one after the other, counting each part's resources and bytes when the
// server has answered for it.
func (r *runner) batch(ctx context.Context, fr *fileRun) {
	in := fr.in
	var read atomic.Int64 // bytes of the file read so far
	body, err := in.open(&read)
	if err != nil {
		r.fail(Failure{File: in.Path, Entry: -1, Diagnostics: err.Error()})
		r.partDone(fr, 0, 1, in.Size)
		return
	}
	defer body.Close()
	var credited int64
	fr.mu.Lock()
	fr.pending, fr.reading = 0, true
	fr.mu.Unlock()
	parts := 0
	err = splitBatch(body, r.opt.BatchEntries, func(p batchPart) error {
		parts++
		fr.mu.Lock()
		fr.pending++
		fr.mu.Unlock()
		raw := read.Load() - credited
		credited += raw
		a, err := r.post(ctx, bytes.NewReader(p.body), int64(len(p.body)), mimeFHIRJSON)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err() // cancelled: neither loaded nor failed
			}
			r.fail(Failure{File: in.Path, Entry: -1,
				Diagnostics: fmt.Sprintf("entries %d-%d not loaded: %v", p.first, p.first+p.count-1, err)})
			r.partDone(fr, 0, 1, raw)
			return nil
		}
		done, fails := bundleResult(in.Path, a)
		for _, f := range fails {
			if f.Entry >= 0 {
				f.Entry += p.first
			}
			r.fail(f)
		}
		r.partDone(fr, done, int64(len(fails)), raw)
		if p.first > 0 || p.count == r.opt.BatchEntries { // a Bundle in parts
			r.prog.partDone(in, p.first, p.count, done, int64(len(fails)))
		}
		return ctx.Err()
	})
	if ctx.Err() != nil {
		return
	}
	if err != nil {
		r.fail(Failure{File: in.Path, Entry: -1, Diagnostics: err.Error()})
		fr.mu.Lock()
		fr.failed++
		fr.mu.Unlock()
	}
	r.prog.bytesDone.Add(in.Size - credited)
	r.readDone(fr)
}

// ndjsonChunk posts one chunk of an NDJSON file.
func (r *runner) ndjsonChunk(ctx context.Context, fr *fileRun, c *chunk) {
	a, err := r.post(ctx, bytes.NewReader(c.body), int64(len(c.body)), mimeFHIRNDJSON)
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		first, last := c.span()
		r.fail(Failure{File: fr.in.Path, Entry: -1, Line: first,
			Diagnostics: fmt.Sprintf("lines %d-%d not loaded: %v", first, last, err)})
		r.partDone(fr, 0, 1, c.raw)
		return
	}
	done, fails := chunkResult(fr.in.Path, c, a)
	for _, f := range fails {
		r.fail(f)
	}
	r.partDone(fr, done, int64(len(fails)), c.raw)
}

// answer is a server's response, read whole.
type answer struct {
	code    int
	status  string // "200 OK"
	raw     []byte
	reply   reply
	decoded bool // raw is a FHIR resource: reply holds it
}

// post sends body to the base URL. length is -1 when unknown (the request is
// then chunked). An error means no HTTP answer was read.
func (r *runner) post(ctx context.Context, body io.Reader, length int64, contentType string) (*answer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.base, body)
	if err != nil {
		if c, ok := body.(io.Closer); ok {
			c.Close()
		}
		return nil, err
	}
	req.ContentLength = length
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Accept", mimeFHIRJSON)
	// The loader counts entries; it has no use for the resources echoed back.
	req.Header.Set("Prefer", "return=minimal")
	if r.opt.Token != "" {
		req.Header.Set("Authorization", "Bearer "+r.opt.Token)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxReply))
	if err != nil {
		return nil, fmt.Errorf("read the response: %w", err)
	}
	a := &answer{code: resp.StatusCode, status: resp.Status, raw: raw}
	a.decode()
	return a, nil
}

// decode reads raw as a FHIR resource when it is one.
func (a *answer) decode() {
	a.decoded = json.Unmarshal(a.raw, &a.reply) == nil && a.reply.ResourceType != ""
}

// bundleResult counts the entries of a batch-response or
// transaction-response and turns everything else into failures.
func bundleResult(file string, a *answer) (done int64, fails []Failure) {
	if a.code/100 != 2 {
		f := Failure{File: file, Entry: -1, Status: a.status, Diagnostics: snippet(a.raw)}
		if a.decoded && a.reply.ResourceType == "OperationOutcome" {
			f.Entry, f.Diagnostics = entryOf(a.reply.Issue), diagnostics(a.reply.Issue)
		}
		return 0, []Failure{f}
	}
	if !a.decoded || a.reply.ResourceType != "Bundle" {
		return 0, []Failure{{File: file, Entry: -1, Status: a.status,
			Diagnostics: "the server did not answer with a Bundle: " + snippet(a.raw)}}
	}
	for i, e := range a.reply.Entry {
		switch {
		case e.Response == nil:
			fails = append(fails, Failure{File: file, Entry: i, Diagnostics: "the response entry has no response.status"})
		case ok(e.Response.Status):
			done++
		default:
			fails = append(fails, Failure{File: file, Entry: i, Status: e.Response.Status,
				Diagnostics: outcomeDiagnostics(e.Response.Outcome)})
		}
	}
	return done, fails
}

// chunkResult counts the resources of an NDJSON chunk that the server
// accepted. It takes a batch-response Bundle (entry i answers line i of the
// chunk) or an OperationOutcome whose error issues name the failed lines,
// 1-based within the chunk; any other line counts as loaded when the status
// is 2xx. A non-2xx status means nothing of the chunk was loaded.
func chunkResult(file string, c *chunk, a *answer) (done int64, fails []Failure) {
	first, last := c.span()
	fileLine := func(n int) int { // chunk line (1-based) to file line
		if n >= 1 && n <= len(c.lines) {
			return c.lines[n-1]
		}
		return 0
	}
	success := a.code/100 == 2
	wholeChunk := func(why string) []Failure {
		return []Failure{{File: file, Entry: -1, Line: first, Status: a.status,
			Diagnostics: fmt.Sprintf("lines %d-%d not loaded: %s", first, last, why)}}
	}
	switch {
	case success && a.decoded && a.reply.ResourceType == "Bundle":
		for i, e := range a.reply.Entry {
			switch {
			case e.Response != nil && ok(e.Response.Status):
				done++
			case e.Response == nil:
				fails = append(fails, Failure{File: file, Entry: -1, Line: fileLine(i + 1),
					Diagnostics: "the response entry has no response.status"})
			default:
				fails = append(fails, Failure{File: file, Entry: -1, Line: fileLine(i + 1),
					Status: e.Response.Status, Diagnostics: outcomeDiagnostics(e.Response.Outcome)})
			}
		}
		return done, fails
	case a.decoded && a.reply.ResourceType == "OperationOutcome":
		named := map[int]bool{}
		for _, is := range a.reply.Issue {
			if !is.failed() {
				continue
			}
			n := fileLine(lineOf(is))
			if n > 0 && named[n] {
				continue // a second issue about the same line
			}
			named[n] = n > 0
			f := Failure{File: file, Entry: -1, Line: n, Diagnostics: is.Diagnostics}
			if !success {
				f.Status = a.status
			}
			if n == 0 {
				f.Line = first
				f.Diagnostics = fmt.Sprintf("lines %d-%d: %s", first, last, is.Diagnostics)
				if !success {
					f.Diagnostics = fmt.Sprintf("lines %d-%d not loaded: %s", first, last, is.Diagnostics)
				}
			}
			fails = append(fails, f)
		}
		if !success {
			if len(fails) == 0 {
				return 0, wholeChunk(diagnostics(a.reply.Issue))
			}
			return 0, fails
		}
		return max(0, int64(len(c.lines)-len(fails))), fails
	case success && len(bytes.TrimSpace(a.raw)) == 0:
		return int64(len(c.lines)), nil
	case success:
		return 0, wholeChunk("the server did not answer with a Bundle or an OperationOutcome: " + snippet(a.raw))
	}
	return 0, wholeChunk(snippet(a.raw))
}
