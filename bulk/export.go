package bulk

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options configure an export.
type Options struct {
	// URL is the FHIR base, e.g. http://127.0.0.1:8080/fhir.
	URL string
	// Token is the bearer token sent with every request, if any.
	Token string
	// Types, Since and TypeFilters are the kick-off's _type, _since and
	// _typeFilter; empty ones are left out.
	Types       []string
	Since       string
	TypeFilters []string
	// Group, when set, exports Group/{Group}; Patient exports at the
	// Patient level; otherwise the system level.
	Group   string
	Patient bool
	// Out is the directory the files are written to (created if missing).
	Out string
	// Progress receives progress lines; nil is silent.
	Progress io.Writer
	// Bar redraws the polling progress in place on one line (a terminal)
	// instead of a line per poll.
	Bar bool
	// Poll is the longest wait between status requests; zero means 2 s.
	Poll time.Duration
	// Concurrency is how many files download at once; zero means 4.
	Concurrency int
	// Keep leaves the job on the server after the download; otherwise it
	// is deleted.
	Keep bool
	// Client is the HTTP client; nil means http.DefaultClient.
	Client *http.Client
}

// Manifest is the complete-status answer of an export.
type Manifest struct {
	TransactionTime string `json:"transactionTime"`
	Request         string `json:"request"`
	Output          []File `json:"output"`
	Error           []File `json:"error"`
}

// File is one output or error file of a manifest.
type File struct {
	Type  string `json:"type"`
	URL   string `json:"url"`
	Count int64  `json:"count"`
}

// Result is what an export wrote.
type Result struct {
	Manifest Manifest
	// Counts are the resources downloaded per type.
	Counts map[string]int64
	// Files are the paths written.
	Files []string
	// Errors counts the OperationOutcomes of the error files.
	Errors int64
}

// Run exports, downloads and verifies.
func Run(ctx context.Context, opt Options) (*Result, error) {
	if opt.Client == nil {
		opt.Client = http.DefaultClient
	}
	if opt.Poll <= 0 {
		opt.Poll = 2 * time.Second
	}
	if opt.Concurrency <= 0 {
		opt.Concurrency = 4
	}
	if err := os.MkdirAll(opt.Out, 0o755); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	status, err := kickoff(ctx, opt)
	if err != nil {
		return nil, err
	}
	m, err := poll(ctx, opt, status)
	if err != nil {
		return nil, err
	}
	res, err := download(ctx, opt, m)
	if err != nil {
		return nil, err
	}
	if !opt.Keep {
		if resp, err := send(ctx, opt, http.MethodDelete, status); err == nil {
			resp.Body.Close()
		}
	}
	return res, nil
}

// kickoff starts the export and returns the status URL.
func kickoff(ctx context.Context, opt Options) (string, error) {
	base := strings.TrimRight(opt.URL, "/")
	u := base + "/$export"
	switch {
	case opt.Group != "":
		u = base + "/Group/" + url.PathEscape(opt.Group) + "/$export"
	case opt.Patient:
		u = base + "/Patient/$export"
	}
	q := url.Values{}
	if len(opt.Types) > 0 {
		q.Set("_type", strings.Join(opt.Types, ","))
	}
	if opt.Since != "" {
		q.Set("_since", opt.Since)
	}
	for _, f := range opt.TypeFilters {
		q.Add("_typeFilter", f)
	}
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	resp, err := send(ctx, opt, http.MethodGet, u)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return "", answerError("kick-off", resp)
	}
	loc := resp.Header.Get("Content-Location")
	if loc == "" {
		return "", errors.New("export: kick-off: 202 without Content-Location")
	}
	return loc, nil
}

// poll asks for the status until the manifest comes.
func poll(ctx context.Context, opt Options, status string) (*Manifest, error) {
	start := time.Now()
	for {
		resp, err := send(ctx, opt, http.MethodGet, status)
		if err != nil {
			return nil, err
		}
		switch resp.StatusCode {
		case http.StatusOK:
			defer resp.Body.Close()
			if opt.Bar && opt.Progress != nil {
				fmt.Fprintf(opt.Progress, "\r\x1b[Kexport %s: complete\n", time.Since(start).Round(time.Second))
			}
			var m Manifest
			if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
				return nil, fmt.Errorf("export: manifest: %w", err)
			}
			return &m, nil
		case http.StatusAccepted:
			resp.Body.Close()
			if opt.Progress != nil {
				line := fmt.Sprintf("export %s: %s", time.Since(start).Round(time.Second), resp.Header.Get("X-Progress"))
				if opt.Bar {
					fmt.Fprint(opt.Progress, "\r\x1b[K"+line)
				} else {
					fmt.Fprintln(opt.Progress, line)
				}
			}
			wait := opt.Poll
			if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && time.Duration(s)*time.Second < wait {
				wait = time.Duration(s) * time.Second
			}
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(wait):
			}
		default:
			defer resp.Body.Close()
			return nil, answerError("status", resp)
		}
	}
}

// download fetches every file, at most opt.Concurrency at once, and checks
// each file's lines against the manifest's count.
func download(ctx context.Context, opt Options, m *Manifest) (*Result, error) {
	res := &Result{Manifest: *m, Counts: map[string]int64{}}
	type job struct {
		f    File
		path string
		err  bool
	}
	var jobs []job
	n := map[string]int{}
	for _, f := range m.Output {
		n[f.Type]++
		jobs = append(jobs, job{f: f, path: filepath.Join(opt.Out, fmt.Sprintf("%s.%d.ndjson", f.Type, n[f.Type]))})
	}
	for i, f := range m.Error {
		jobs = append(jobs, job{f: f, path: filepath.Join(opt.Out, fmt.Sprintf("errors.%d.ndjson.txt", i+1)), err: true})
	}
	var mu sync.Mutex
	var first error
	sem := make(chan struct{}, opt.Concurrency)
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			lines, err := fetch(ctx, opt, j.f.URL, j.path)
			if err == nil && lines != j.f.Count {
				err = fmt.Errorf("export: %s: %d resources downloaded, the manifest says %d", j.f.URL, lines, j.f.Count)
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if first == nil {
					first = err
				}
				return
			}
			res.Files = append(res.Files, j.path)
			if j.err {
				res.Errors += lines
			} else {
				res.Counts[j.f.Type] += lines
			}
			if opt.Progress != nil {
				fmt.Fprintf(opt.Progress, "downloaded %s: %d lines\n", filepath.Base(j.path), lines)
			}
		}()
	}
	wg.Wait()
	return res, first
}

// fetch downloads one file to path and counts its lines.
func fetch(ctx context.Context, opt Options, u, path string) (int64, error) {
	resp, err := send(ctx, opt, http.MethodGet, u)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, answerError("download", resp)
	}
	f, err := os.Create(path)
	if err != nil {
		return 0, fmt.Errorf("export: %w", err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	lc := &lineCounter{}
	_, err = io.Copy(w, io.TeeReader(resp.Body, lc))
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("export: download %s: %w", u, err)
	}
	return lc.n, nil
}

// lineCounter counts the newlines written to it.
type lineCounter struct{ n int64 }

func (c *lineCounter) Write(p []byte) (int, error) {
	for _, b := range p {
		if b == '\n' {
			c.n++
		}
	}
	return len(p), nil
}

func send(ctx context.Context, opt Options, method, u string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	req.Header.Set("Accept", "application/fhir+json")
	req.Header.Set("Prefer", "respond-async")
	if opt.Token != "" {
		req.Header.Set("Authorization", "Bearer "+opt.Token)
	}
	resp, err := opt.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("export: %s %s: %w", method, u, err)
	}
	return resp, nil
}

// answerError describes an unexpected answer, with its OperationOutcome's
// diagnostics when there is one.
func answerError(what string, resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var oo struct {
		Issue []struct {
			Diagnostics string `json:"diagnostics"`
		} `json:"issue"`
	}
	msg := strings.TrimSpace(string(body))
	if json.Unmarshal(body, &oo) == nil && len(oo.Issue) > 0 {
		msg = oo.Issue[0].Diagnostics
	}
	return fmt.Errorf("export: %s: %s: %s", what, resp.Status, msg)
}
