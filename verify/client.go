package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// client speaks to one HCE server over HTTP.
type client struct {
	hc    *http.Client
	base  string // FHIR base, no trailing slash
	root  string // server root: the operations endpoints
	token string // bearer token, if any
}

// reply is an HTTP response read to the end.
type reply struct {
	status  int
	header  http.Header
	body    []byte
	elapsed time.Duration
}

// maxBody bounds what is read of one response: a page of 100 resources with
// their includes is far smaller.
const maxBody = 64 << 20

// get sends a GET to a path under the FHIR base ("Patient/1"), to a path at
// the server root ("/healthz") or to an absolute URL.
func (c *client) get(ctx context.Context, target string) (*reply, error) {
	return c.do(ctx, http.MethodGet, target, nil)
}

// post sends body, encoded as JSON, to the FHIR base.
func (c *client) post(ctx context.Context, body any) (*reply, error) {
	return c.do(ctx, http.MethodPost, "", body)
}

func (c *client) url(target string) string {
	switch {
	case strings.HasPrefix(target, "http://") || strings.HasPrefix(target, "https://"):
		return target
	case strings.HasPrefix(target, "/"):
		return c.root + target
	case target == "":
		return c.base
	default:
		return c.base + "/" + target
	}
}

func (c *client) do(ctx context.Context, method, target string, body any) (*reply, error) {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(raw)
	}
	u := c.url(target)
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/fhir+json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, u, shortNetError(err))
	}
	defer resp.Body.Close()
	r := &reply{status: resp.StatusCode, header: resp.Header}
	r.body, err = io.ReadAll(io.LimitReader(resp.Body, maxBody))
	r.elapsed = time.Since(start)
	if err != nil {
		return nil, fmt.Errorf("%s %s: reading the response: %w", method, u, err)
	}
	return r, nil
}

// shortNetError drops the method and URL that net/http repeats inside its
// errors: the caller already names them.
func shortNetError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return errors.New("timeout")
		}
		return ue.Err
	}
	return err
}

// decode reads the body as JSON into v.
func (r *reply) decode(v any) error {
	if err := json.Unmarshal(r.body, v); err != nil {
		return fmt.Errorf("response is not JSON (%s): %w", truncate(string(r.body), 80), err)
	}
	return nil
}

// String describes the reply in a few words: the status and, for an
// OperationOutcome, its first diagnostics.
func (r *reply) String() string {
	s := strconv.Itoa(r.status) + " " + http.StatusText(r.status)
	var oo outcome
	if json.Unmarshal(r.body, &oo) == nil && oo.ResourceType == "OperationOutcome" && len(oo.Issue) > 0 {
		if d := oo.Issue[0].Diagnostics; d != "" {
			s += ": " + truncate(d, 160)
		}
	}
	return s
}

// isOutcome reports whether the body is an OperationOutcome with an issue.
func (r *reply) isOutcome() bool {
	var oo outcome
	return json.Unmarshal(r.body, &oo) == nil && oo.ResourceType == "OperationOutcome" && len(oo.Issue) > 0
}

func truncate(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// outcome is the part of an OperationOutcome the report quotes.
type outcome struct {
	ResourceType string `json:"resourceType"`
	Issue        []struct {
		Severity    string `json:"severity"`
		Code        string `json:"code"`
		Diagnostics string `json:"diagnostics"`
	} `json:"issue"`
}

// bundle is the part of a Bundle that verification reads.
type bundle struct {
	ResourceType string `json:"resourceType"`
	Type         string `json:"type"`
	Total        *int   `json:"total"`
	Link         []struct {
		Relation string `json:"relation"`
		URL      string `json:"url"`
	} `json:"link"`
	Entry []bundleEntry `json:"entry"`
}

type bundleEntry struct {
	FullURL  string          `json:"fullUrl"`
	Resource json.RawMessage `json:"resource"`
	Search   *struct {
		Mode string `json:"mode"`
	} `json:"search"`
	Response *struct {
		Status   string `json:"status"`
		Location string `json:"location"`
	} `json:"response"`
}

// next returns the URL of the next page, or "".
func (b *bundle) next() string {
	for _, l := range b.Link {
		if l.Relation == "next" {
			return l.URL
		}
	}
	return ""
}

// resource is the part of a resource that verification reads.
type resource struct {
	ResourceType string `json:"resourceType"`
	ID           string `json:"id"`
	Subject      *struct {
		Reference string `json:"reference"`
	} `json:"subject"`
	Meta *struct {
		Tag []struct {
			System string `json:"system"`
			Code   string `json:"code"`
		} `json:"tag"`
	} `json:"meta"`
}

// tagged reports whether the resource carries the test set's tag.
func (r *resource) tagged(run string) bool {
	if r.Meta == nil {
		return false
	}
	for _, t := range r.Meta.Tag {
		if t.System == TagSystem && t.Code == run {
			return true
		}
	}
	return false
}

// parseLocation reads the type and id out of a Location, absolute or
// relative, with or without its _history part: "Patient/12/_history/1".
func parseLocation(loc string) (typ, id string, ok bool) {
	if i := strings.IndexAny(loc, "?#"); i >= 0 {
		loc = loc[:i]
	}
	parts := strings.Split(strings.Trim(loc, "/"), "/")
	if n := len(parts); n >= 4 && parts[n-2] == "_history" {
		parts = parts[:n-2]
	}
	n := len(parts)
	if n < 2 {
		return "", "", false
	}
	typ, id = parts[n-2], parts[n-1]
	if !isTypeName(typ) || id == "" || len(id) > 64 || id == "_history" {
		return "", "", false
	}
	return typ, id, true
}

// isTypeName reports whether s looks like a FHIR resource type name.
func isTypeName(s string) bool {
	if s == "" || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z') {
			return false
		}
	}
	return true
}
