package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hce-fhir/hce/rest"
	"github.com/hce-fhir/hce/validate"
)

// rawHTTP writes head (the request line and headers, without the blank
// line) and then the body chunks, one every gap, on a new connection, and
// returns the status and body of the answer.
func rawHTTP(t *testing.T, c *client, head string, chunks []string, gap time.Duration) (int, string) {
	t.Helper()
	u, err := url.Parse(c.base)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(conn, head+"\r\nAuthorization: Bearer "+c.token+"\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	go func() {
		for _, ch := range chunks {
			if _, err := io.WriteString(conn, ch); err != nil {
				return
			}
			time.Sleep(gap)
		}
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func isOutcome(t *testing.T, body string) {
	t.Helper()
	var oo struct {
		ResourceType string `json:"resourceType"`
		Issue        []struct {
			Severity, Code, Diagnostics string
		} `json:"issue"`
	}
	if err := json.Unmarshal([]byte(body), &oo); err != nil || oo.ResourceType != "OperationOutcome" || len(oo.Issue) == 0 {
		t.Fatalf("not an OperationOutcome: %q", body)
	}
}

// TestRequestBounds checks the bounds on one request: a body shorter than
// its Content-Length and a body sent a byte at a time are cut off with a
// 400 when the body timeout ends, oversized headers get a 431, JSON over the
// depth, array and value limits a 400, and every error of the HTTP layer is an
// OperationOutcome.
func TestRequestBounds(t *testing.T) {
	c := testServer(t, rest.Options{BodyTimeout: 700 * time.Millisecond, MaxHeaderBytes: 8 << 10,
		Validation: validate.Options{MaxDepth: 10, MaxArrayLength: 50, MaxValues: 200}})
	post := "POST /fhir/Patient HTTP/1.1\r\nHost: x\r\nContent-Type: application/fhir+json\r\n"

	t.Run("Content-Length larger than the body", func(t *testing.T) {
		status, body := rawHTTP(t, c, post+"Content-Length: 100", []string{`{"resourceType":"Patient"}`}, 0)
		if status != 400 {
			t.Fatalf("status %d: %s", status, body)
		}
		isOutcome(t, body)
	})
	t.Run("slow drip", func(t *testing.T) {
		doc := `{"resourceType":"Patient","active":true}`
		chunks := strings.Split(doc, "")
		status, body := rawHTTP(t, c, post+fmt.Sprintf("Content-Length: %d", len(doc)), chunks, 100*time.Millisecond)
		if status != 400 {
			t.Fatalf("status %d: %s", status, body)
		}
		isOutcome(t, body)
	})
	t.Run("headers over the limit", func(t *testing.T) {
		r := c.do("GET", "/fhir/Patient", nil, "X-Padding", strings.Repeat("a", 10<<10))
		r.must(t, 431).outcome(t, "8192")
	})
	t.Run("JSON too deep", func(t *testing.T) {
		deep := `{"resourceType":"Patient","extension":[` + strings.Repeat(`{"url":"a","extension":[`, 6) + `{"url":"b","valueString":"c"}` + strings.Repeat(`]}`, 6) + `]}`
		c.do("POST", "/fhir/Patient", deep).must(t, 400).outcome(t, "too-costly", "10")
	})
	t.Run("array too long", func(t *testing.T) {
		given := strings.TrimSuffix(strings.Repeat(`"a",`, 51), ",")
		c.do("POST", "/fhir/Patient", `{"resourceType":"Patient","name":[{"given":[`+given+`]}]}`).must(t, 400).outcome(t, "too-costly", "50")
	})
	t.Run("too many values", func(t *testing.T) {
		given := `{"given":[` + strings.TrimSuffix(strings.Repeat(`"a",`, 49), ",") + `]}`
		c.do("POST", "/fhir/Patient", `{"resourceType":"Patient","name":[`+strings.Repeat(given+",", 4)+given+`]}`).must(t, 400).outcome(t, "too-costly", "200")
		// The same values over five entries of a transaction: each is within.
		entry := `{"resource":{"resourceType":"Patient","name":[` + given + `]},"request":{"method":"POST","url":"Patient"}}`
		c.do("POST", "/fhir", `{"resourceType":"Bundle","type":"transaction","entry":[`+strings.Repeat(entry+",", 4)+entry+`]}`).must(t, 200)
	})
	t.Run("unknown route outside /fhir", func(t *testing.T) {
		c.do("GET", "/nowhere", nil).must(t, 404).outcome(t)
	})
	t.Run("method not allowed", func(t *testing.T) {
		c.do("PATCH", "/fhir/Patient", "[]", "Content-Type", "application/json-patch+json").must(t, 405).outcome(t)
	})
	c.do("GET", "/healthz", nil).must(t, 200)
}

func TestHTTPServerBounds(t *testing.T) {
	srv := httpServer(http.NotFoundHandler(), rest.Options{})
	if srv.ReadHeaderTimeout <= 0 || srv.WriteTimeout <= rest.DefaultRequestTimeout || srv.MaxHeaderBytes != 2*rest.DefaultMaxHeaderBytes {
		t.Fatalf("server bounds: %+v", srv)
	}
}

// TestRequestDeadline checks that a request past --request-timeout is
// answered 503 with Retry-After and stores nothing.
func TestRequestDeadline(t *testing.T) {
	c := testServer(t, rest.Options{RequestTimeout: 5 * time.Millisecond})
	entries := make([]string, 300)
	for i := range entries {
		entries[i] = `{"resource":{"resourceType":"Patient","identifier":[{"system":"urn:hce:deadline","value":"` + uniq + `"}]},"request":{"method":"POST","url":"Patient"}}`
	}
	r := c.do("POST", "/fhir", `{"resourceType":"Bundle","type":"transaction","entry":[`+strings.Join(entries, ",")+`]}`)
	r.must(t, 503).outcome(t, "deadline")
	if r.header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After")
	}
	long := testServer(t, rest.Options{})
	found := long.do("GET", "/fhir/Patient?identifier=urn:hce:deadline|"+uniq, nil).must(t, 200)
	if entries, _ := found.body["entry"].([]any); len(entries) > 0 {
		t.Fatalf("the transaction stored %d Patients", len(entries))
	}
}
