package main

import (
	"strings"
	"testing"
	"time"
)

func TestServeLoggerBatches(t *testing.T) {
	var out syncBuffer
	b := newLogBufferEvery(&out, time.Hour) // only size, errors and Flush write
	log := serveLogger(b)

	log.Info("pending")
	if got := out.String(); got != "" {
		t.Fatalf("an info line was written at once: %q", got)
	}
	log.With("component", "store").Error("database down")
	got := out.String()
	if !strings.Contains(got, `"msg":"database down"`) || !strings.Contains(got, `"component":"store"`) {
		t.Errorf("an error line was held back: %q", got)
	}
	if p, e := strings.Index(got, `"msg":"pending"`), strings.Index(got, `"msg":"database down"`); p < 0 || p > e {
		t.Errorf("the pending line is not written before the error: %q", got)
	}

	long := strings.Repeat("x", logFlushBytes)
	log.Info("long", "uri", long)
	if !strings.Contains(out.String(), long) {
		t.Error("64 KiB pending were not written at once")
	}

	log.Info("last")
	b.Flush()
	if !strings.HasSuffix(out.String(), "\"msg\":\"last\"}\n") {
		t.Errorf("Flush left a line pending: %q", out.String()[max(0, len(out.String())-200):])
	}
}

func TestServeLoggerFlushesPending(t *testing.T) {
	var out syncBuffer
	log := serveLogger(newLogBufferEvery(&out, time.Millisecond))
	log.Info("request", "status", 200)
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), `"msg":"request"`) {
		if time.Now().After(deadline) {
			t.Fatal("the pending line was never written")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
