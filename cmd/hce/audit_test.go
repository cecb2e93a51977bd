package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hce-fhir/hce/audit"
	"github.com/hce-fhir/hce/auth"
	"github.com/hce-fhir/hce/fhir"
	"github.com/hce-fhir/hce/internal/testdb"
	"github.com/hce-fhir/hce/rest"
	"github.com/hce-fhir/hce/store"
	"github.com/prometheus/client_golang/prometheus"
)

// TestAuditTrail checks that allowed and denied requests and each Bundle
// entry become AuditEvents, readable with an AuditEvent scope and never
// changed or deleted through the API.
func TestAuditTrail(t *testing.T) {
	s := newAuthServer(t, rest.Options{})
	admin := s.with("system/*.cruds", "")
	tag := "aud" + uniq
	start := time.Now().Add(-time.Second)
	pid := admin.do("POST", "/fhir/Patient", patient(tag)).must(t, 201).str("id")
	s.do("GET", "/fhir/Patient/"+pid, nil).must(t, 401)                                           // no token
	s.with("user/Observation.rs", "").do("DELETE", "/fhir/Patient/"+pid, nil).must(t, 403)        // no scope
	s.with("user/Patient.r", "").do("GET", "/fhir/Patient/"+pid, nil).must(t, 200)                // allowed
	s.with("user/*.rs", "").do("GET", "/fhir/Observation?subject=Patient/"+pid, nil).must(t, 200) // a search
	b := bundleOf("batch", request("GET", "Patient/"+pid, nil), post("urn:uuid:1", observation("Patient/"+pid)))
	s.with("user/Patient.r", "").do("POST", "/fhir", b).must(t, 200)

	lookup := func(evs []map[string]any, interaction, status string, about ...string) map[string]any {
		for _, e := range evs {
			sub := e["subtype"].([]any)[0].(map[string]any)["code"]
			desc := e["outcomeDesc"].(string)
			if sub == interaction && strings.HasPrefix(desc, status+" ") && (len(about) == 0 || strings.Contains(desc, about[0])) {
				return e
			}
		}
		return nil
	}
	// The events this test expects; others' may be stored beside them.
	expected := [][]string{{"read", "401", pid}, {"delete", "403", pid}, {"read", "200", pid}, {"search-type", "200", "subject=Patient/" + pid},
		{"batch/transaction", "200"}, {"create", "403", "Bundle.entry[1]"}}
	events := func() []map[string]any {
		var out []map[string]any
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			out = out[:0]
			window := "&date=ge" + fhir.FormatInstant(start) + "&date=lt" + fhir.FormatInstant(time.Now().Add(time.Hour))
			r := admin.do("GET", "/fhir/AuditEvent?_count=1000&_sort=-date"+window, nil).must(t, 200)
			for _, e := range r.entries(t) {
				res, _ := e["resource"].(map[string]any)
				out = append(out, res)
			}
			all := true
			for _, x := range expected {
				all = all && lookup(out, x[0], x[1], x[2:]...) != nil
			}
			if all {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		return out
	}
	find := func(evs []map[string]any, interaction, status string, about ...string) map[string]any {
		if e := lookup(evs, interaction, status, about...); e != nil {
			return e
		}
		t.Fatalf("no AuditEvent for %s answered %s among %d", interaction, status, len(evs))
		return nil
	}
	evs := events()
	if e := find(evs, "read", "401", pid); e["outcome"] != "4" || !strings.Contains(fmt.Sprint(e["agent"]), "anonymous") {
		t.Errorf("401 event: %v", e)
	}
	if e := find(evs, "delete", "403", pid); e["action"] != "D" || !strings.Contains(fmt.Sprint(e["agent"]), "Practitioner/pr-1") {
		t.Errorf("403 event: %v", e)
	}
	ok := find(evs, "read", "200", pid)
	agent := ok["agent"].([]any)[0].(map[string]any)
	if agent["altId"] != "test-app" || agent["network"].(map[string]any)["address"] != "127.0.0.1" {
		t.Errorf("agent: %v", agent)
	}
	search := find(evs, "search-type", "200", "subject=Patient/"+pid)
	q, _ := base64.StdEncoding.DecodeString(search["entity"].([]any)[1].(map[string]any)["query"].(string))
	if !strings.Contains(string(q), "subject=Patient") {
		t.Errorf("search query %q", q)
	}
	find(evs, "batch/transaction", "200")
	if e := find(evs, "create", "403", "Bundle.entry[1]"); !strings.Contains(e["outcomeDesc"].(string), "Bundle.entry[1]") {
		t.Errorf("entry event: %v", e["outcomeDesc"])
	}

	t.Run("read needs an AuditEvent scope", func(t *testing.T) {
		s.with("user/Patient.rs", "").do("GET", "/fhir/AuditEvent", nil).must(t, 403)
		s.with("patient/*.rs", pid).do("GET", "/fhir/AuditEvent", nil).must(t, 403)
		s.with("user/AuditEvent.rs", "").do("GET", "/fhir/AuditEvent?_count=1", nil).must(t, 200)
	})
	t.Run("never changed or deleted through the API", func(t *testing.T) {
		id, _ := ok["id"].(string)
		body := map[string]any{}
		for k, v := range ok {
			body[k] = v
		}
		body["outcome"] = "0"
		admin.do("PUT", "/fhir/AuditEvent/"+id, body).must(t, 403)
		admin.do("DELETE", "/fhir/AuditEvent/"+id, nil).must(t, 403)
		delete(body, "id")
		admin.do("POST", "/fhir/AuditEvent", body).must(t, 403)
		admin.do("PATCH", "/fhir/AuditEvent/"+id, `[{"op":"replace","path":"/outcome","value":"0"}]`,
			"Content-Type", "application/json-patch+json").must(t, 403)
		admin.do("DELETE", "/fhir/AuditEvent?_id="+id, nil).must(t, 403)
		admin.do("GET", "/fhir/AuditEvent/"+id, nil).must(t, 200)
	})
}

// TestAuditFlushOnClose checks that closing the writer, as a clean shutdown
// does, stores every queued event.
func TestAuditFlushOnClose(t *testing.T) {
	st := store.New(testdb.Pool(t, store.MigrateUp))
	w := audit.NewWriter(auditSink(st), audit.Options{Interval: time.Hour, Batch: 1000})
	for range 250 {
		if err := w.Record(audit.Event{Time: time.Now(), Interaction: "read", Status: 200, Type: "Patient", ID: "flush-" + uniq}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if w.Written() != 250 {
		t.Fatalf("written %d of 250", w.Written())
	}
}

// BenchmarkReadAudit measures GET /fhir/Patient/{id} at 16 concurrent
// clients with authentication on, with and without the audit trail:
//
//	go test ./cmd/hce -run '^$' -bench BenchmarkReadAudit -benchtime 20000x
func BenchmarkReadAudit(b *testing.B) {
	pool := testdb.Pool(b, store.MigrateUp)
	st := store.New(pool)
	key, err := auth.LoadOrCreateKey(b.TempDir() + "/key.pem")
	if err != nil {
		b.Fatal(err)
	}
	iss, _ := auth.NewIssuer(key, "")
	tok, _ := iss.Mint(auth.TokenRequest{Scope: "system/*.cruds"})
	for _, on := range []bool{false, true} {
		b.Run(fmt.Sprintf("audit=%v", on), func(b *testing.B) {
			opt := rest.Options{Auth: iss.Verifier()}
			var w *audit.Writer
			if on {
				w = audit.NewWriter(auditSink(st), audit.Options{})
				opt.Audit = w
			}
			srv := httptest.NewServer(newServer(st, opt, prometheus.NewRegistry(), slog.New(slog.NewJSONHandler(io.Discard, nil))))
			defer srv.Close()
			req, _ := http.NewRequest("POST", srv.URL+"/fhir/Patient", bytes.NewReader([]byte(`{"resourceType":"Patient","active":true}`)))
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("Content-Type", "application/fhir+json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil || resp.StatusCode != 201 {
				b.Fatalf("create: %v %v", err, resp)
			}
			resp.Body.Close()
			url := srv.URL + "/fhir/" + relativeLocationOf(resp.Header.Get("Location"))
			drive(b, 16, func(c *http.Client) (*http.Response, error) {
				r, _ := http.NewRequest("GET", url, nil)
				r.Header.Set("Authorization", "Bearer "+tok)
				return c.Do(r)
			}, http.StatusOK)
			// Sustained throughput counts the time to store the events still
			// queued when the last read was answered.
			elapsed := b.Elapsed()
			if w != nil {
				start := time.Now()
				_ = w.Close(context.Background())
				elapsed += time.Since(start)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "sustained-req/s")
		})
	}
}

func relativeLocationOf(loc string) string {
	if i := strings.Index(loc, "/fhir/"); i >= 0 {
		loc = loc[i+len("/fhir/"):]
	}
	return strings.Split(loc, "/_history/")[0]
}
