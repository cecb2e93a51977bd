package main

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"regexp"
	"strconv"

	"github.com/hce-fhir/hce/fhir"
)

// outcomeListener wraps ln so that the answers Go's HTTP server writes
// itself, before any handler runs, are OperationOutcomes like every other
// error of the API. net/http answers a request it cannot read (a malformed
// request line or header, a bad Host or Content-Length, headers over its
// MaxHeaderBytes, an unknown Transfer-Encoding, plain HTTP to the TLS port)
// by writing a fixed text/plain response straight to the connection, and
// offers no hook to change it. maxHeader is the configured header limit,
// named in the 431's diagnostics as the API's own 431 names it.
func outcomeListener(ln net.Listener, maxHeader int) net.Listener {
	return &earlyErrorListener{Listener: ln, maxHeader: maxHeader}
}

type earlyErrorListener struct {
	net.Listener
	maxHeader int
}

func (l *earlyErrorListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &earlyErrorConn{Conn: c, maxHeader: l.maxHeader}, nil
}

// earlyErrorConn rewrites one write that is exactly an early error of
// net/http; every other write passes through unchanged.
type earlyErrorConn struct {
	net.Conn
	maxHeader int
}

// earlyError is net/http's early answer (server.go, conn.serve): its status
// line, then these two headers in this order and nothing else, then a short
// text. A handler's response never looks so: net/http writes its headers
// sorted (Connection before Content-Type) and adds Date.
var earlyError = regexp.MustCompile(`\AHTTP/1\.1 ([45]\d\d) [^\r\n]*\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n([^\r\n]{0,200})\z`)

// earlyHeaders are the headers of every early error, looked for before the
// expression runs: a handler's response skips the expression.
var earlyHeaders = []byte("\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n")

// expectationFailed is net/http's answer to an Expect header other than
// 100-continue: an empty 417, which no handler of HCE sends.
var expectationFailed = regexp.MustCompile(`\AHTTP/1\.1 417 Expectation Failed\r\n(?:[A-Za-z-]+: [^\r\n]*\r\n)*Content-Length: 0\r\n\r\n\z`)

// plainToTLS is what net/http's TLS server writes to a plain HTTP request.
const plainToTLS = "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n"

func (c *earlyErrorConn) Write(p []byte) (int, error) {
	status, text, ok := c.early(p)
	if !ok {
		return c.Conn.Write(p)
	}
	if _, err := c.Conn.Write(outcomeResponse(status, text)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// early recognises in p one of net/http's early answers and returns its
// status and the diagnostics to send instead. Each expression runs only
// behind a literal test a handler's response fails: most writes cost a
// prefix comparison and one byte search.
func (c *earlyErrorConn) early(p []byte) (status int, text string, ok bool) {
	switch {
	case len(p) > 512 || !bytes.HasPrefix(p, []byte("HTTP/1.")):
	case string(p) == plainToTLS:
		return http.StatusBadRequest, "this port speaks HTTPS: send the request over TLS", true
	case bytes.HasPrefix(p, []byte("HTTP/1.1 417 ")) && expectationFailed.Match(p):
		return http.StatusExpectationFailed, "the Expect header is not supported: only 100-continue is", true
	case bytes.Contains(p, earlyHeaders):
		if m := earlyError.FindSubmatch(p); m != nil {
			status, _ = strconv.Atoi(string(m[1]))
			return status, earlyText(status, string(m[2]), c.maxHeader), true
		}
	}
	return 0, "", false
}

// CloseWrite keeps net/http's graceful close after a 431 (it half-closes a
// TCP connection so that the client reads the answer before a reset).
func (c *earlyErrorConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// earlyText is the diagnostics of an early answer whose plain text was
// body ("400 Bad Request: missing required Host header").
func earlyText(status int, body string, maxHeader int) string {
	prefix := strconv.Itoa(status) + " " + http.StatusText(status)
	switch {
	case status == http.StatusRequestHeaderFieldsTooLarge:
		return "the request line and headers exceed the limit of " + strconv.Itoa(maxHeader) + " bytes"
	case status == http.StatusNotImplemented:
		return "unsupported Transfer-Encoding"
	case len(body) > len(prefix)+2 && body[:len(prefix)+2] == prefix+": ":
		return body[len(prefix)+2:]
	default:
		return "the request line or headers are not valid HTTP/1.1"
	}
}

// outcomeResponse is a complete HTTP/1.1 response with an OperationOutcome
// of one issue, closing the connection as net/http's answer did.
func outcomeResponse(status int, text string) []byte {
	code := "invalid"
	switch status {
	case http.StatusRequestHeaderFieldsTooLarge:
		code = "too-costly"
	case http.StatusNotImplemented, http.StatusHTTPVersionNotSupported:
		code = "not-supported"
	}
	body, _ := json.Marshal(fhir.NewOperationOutcome(fhir.Issue{Severity: "error", Code: code, Diagnostics: text}))
	head := "HTTP/1.1 " + strconv.Itoa(status) + " " + http.StatusText(status) +
		"\r\nContent-Type: application/fhir+json\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\nConnection: close\r\n\r\n"
	return append([]byte(head), body...)
}
