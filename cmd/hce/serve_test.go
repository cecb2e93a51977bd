package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the server's and the test's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startServe runs `hce serve` on the embedded default in dir and waits until
// it answers /fhir/metadata.
func startServe(t *testing.T, dir string) (base string, stop func() int, logs *syncBuffer) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	logs = &syncBuffer{}
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"serve", "--addr", addr, "--data-dir", dir}, io.Discard, logs) }()
	base = "http://" + addr
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(base + "/fhir/metadata")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		select {
		case code := <-done:
			cancel()
			t.Fatalf("hce serve exited with %d:\n%s", code, logs)
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("hce serve did not answer within 60s:\n%s", logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var once sync.Once
	code := 0
	stop = func() int {
		once.Do(func() { cancel(); code = <-done })
		return code
	}
	t.Cleanup(func() { stop() })
	return base, stop, logs
}

// TestServeEmbedded runs the real command on the embedded default: it
// initialises PostgreSQL, serves, refuses a second server on the same data
// dir, stops cleanly, and keeps the data across a restart.
func TestServeEmbedded(t *testing.T) {
	dir, err := os.MkdirTemp("", "hce-serve-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	t.Cleanup(func() { os.RemoveAll(dir) })

	base, stop, logs := startServe(t, dir)
	resp, err := http.Post(base+"/fhir/Patient", "application/fhir+json", strings.NewReader(`{"resourceType":"Patient","id":"ignored","active":true}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("create: %s", resp.Status)
	}
	loc := resp.Header.Get("Location")
	loc = loc[:strings.Index(loc, "/_history")]

	t.Run("second server on the same dir fails clearly", func(t *testing.T) {
		var errOut bytes.Buffer
		code := run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dir}, io.Discard, &errOut)
		if code == 0 || !strings.Contains(errOut.String(), "used by another hce process") {
			t.Errorf("second serve: exit %d, %s", code, errOut.String())
		}
	})

	if code := stop(); code != 0 {
		t.Fatalf("serve exited with %d:\n%s", code, logs)
	}
	if !strings.Contains(logs.String(), `"msg":"request"`) || !strings.Contains(logs.String(), `"request_id"`) {
		t.Errorf("no JSON request log with request id:\n%s", logs)
	}

	t.Run("migrate status after stop", func(t *testing.T) {
		var out bytes.Buffer
		if code := run(context.Background(), []string{"migrate", "status", "--data-dir", dir}, &out, io.Discard); code != 0 {
			t.Fatalf("migrate status exit %d", code)
		}
		if !strings.Contains(out.String(), "applied") || strings.Contains(out.String(), "pending") {
			t.Errorf("migrate status:\n%s", out.String())
		}
	})

	base, _, _ = startServe(t, dir)
	resp, err = http.Get(base + loc[strings.Index(loc, "/fhir/"):])
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("after restart %s answered %s", loc, resp.Status)
	}
}

func TestMigrateDownUp(t *testing.T) {
	dir, err := os.MkdirTemp("", "hce-migrate-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	t.Cleanup(func() { os.RemoveAll(dir) })
	steps := []struct {
		args []string
		want string
	}{
		{[]string{"migrate", "up"}, "applied"},
		{[]string{"migrate", "down"}, "pending"},
		{[]string{"migrate", "status"}, "pending"},
		{[]string{"migrate", "up"}, "applied"},
	}
	for _, s := range steps {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), append(s.args, "--data-dir", dir), &out, &errOut); code != 0 {
			t.Fatalf("%v: exit %d: %s", s.args, code, errOut.String())
		}
		if !strings.Contains(out.String(), s.want) {
			t.Errorf("%v printed %q, want %q", s.args, out.String(), s.want)
		}
	}
	var errOut bytes.Buffer
	if code := run(context.Background(), []string{"migrate", "sideways", "--data-dir", dir}, io.Discard, &errOut); code != 2 {
		t.Errorf("bad verb: exit %d", code)
	}
}
