package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// maxBody bounds what is read of one answer; a $everything page of a large
// patient is far smaller.
const maxBody = 256 << 20

// client speaks to one server: the FHIR API at base and the operations
// endpoints at root. It follows no redirects, and connects only where the
// benchmark may (see dialer).
type client struct {
	hc      *http.Client
	base    string        // FHIR base, no trailing slash
	root    string        // scheme://host
	timeout time.Duration // bound on each request
	token   string        // bearer token, if any
}

// newClient returns a client for the FHIR base URL (already checked by
// CheckURL) keeping up to conns connections open, sending token when it is
// not empty.
func newClient(base string, allowRemote bool, conns int, timeout time.Duration, token string) (*client, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	return &client{
		hc:      &http.Client{Transport: newTransport(allowRemote, conns), CheckRedirect: noRedirects},
		base:    base,
		root:    u.Scheme + "://" + u.Host,
		timeout: timeout,
		token:   token,
	}, nil
}

// newTransport is an HTTP transport that dials only where the benchmark
// may.
func newTransport(allowRemote bool, conns int) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	t.DialContext = dialer(allowRemote).DialContext
	t.MaxIdleConnsPerHost = conns + 1
	return t
}

func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// reply is an answer read to the end.
type reply struct {
	status  int
	body    []byte
	elapsed time.Duration
}

func (r *reply) ok() bool { return r.status/100 == 2 }

// url resolves a target: a path under the FHIR base ("Patient/1",
// "Observation?code=x"), a path from the server root ("/metrics"), or an
// absolute URL, which must be on the same server (a next link).
func (c *client) url(target string) (string, error) {
	switch {
	case strings.HasPrefix(target, "http://") || strings.HasPrefix(target, "https://"):
		if !strings.HasPrefix(target, c.root+"/") {
			return "", fmt.Errorf("bench: %s is not on the server under test (%s)", target, c.root)
		}
		return target, nil
	case strings.HasPrefix(target, "/"):
		return c.root + target, nil
	}
	return c.base + "/" + target, nil
}

// get sends one GET and reads the answer; an error means no answer.
func (c *client) get(ctx context.Context, target string) (*reply, error) {
	u, err := c.url(target)
	if err != nil {
		return nil, err
	}
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	req.Header.Set("Accept", "application/fhir+json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("read the answer: %w", err)
	}
	return &reply{status: resp.StatusCode, body: body, elapsed: time.Since(start)}, nil
}

// getJSON sends a GET that must answer 2xx and decodes the body into v.
func (c *client) getJSON(ctx context.Context, target string, v any) error {
	r, err := c.get(ctx, target)
	if err != nil {
		return fmt.Errorf("bench: GET %s: %w", target, err)
	}
	if !r.ok() {
		return fmt.Errorf("bench: GET %s: status %d: %s", target, r.status, snippet(r.body))
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		return fmt.Errorf("bench: GET %s: %w", target, err)
	}
	return nil
}

// page is what the benchmark reads of a search answer.
type page struct {
	ResourceType string `json:"resourceType"`
	Total        *int   `json:"total"`
	Link         []struct {
		Relation string `json:"relation"`
		URL      string `json:"url"`
	} `json:"link"`
	Entry []struct {
		Search *struct {
			Mode string `json:"mode"`
		} `json:"search"`
	} `json:"entry"`
}

// next is the page's next link, or "".
func (p *page) next() string {
	for _, l := range p.Link {
		if l.Relation == "next" {
			return l.URL
		}
	}
	return ""
}

// matches counts what an answer found: the total of a _summary=count
// Bundle, the entries of a search or $everything Bundle that are not
// _include'd extras, or 1 for a read.
func matches(body []byte) (int, error) {
	var p page
	if err := json.Unmarshal(body, &p); err != nil {
		return 0, err
	}
	if p.ResourceType != "Bundle" {
		if p.ResourceType == "" || p.ResourceType == "OperationOutcome" {
			return 0, nil
		}
		return 1, nil
	}
	n := 0
	for _, e := range p.Entry {
		if e.Search == nil || e.Search.Mode != "include" {
			n++
		}
	}
	if n == 0 && p.Total != nil {
		n = *p.Total
	}
	return n, nil
}

// snippet is the start of a body, for error messages: the diagnostics of
// an OperationOutcome when it is one.
func snippet(body []byte) string {
	var oo struct {
		ResourceType string `json:"resourceType"`
		Issue        []struct {
			Diagnostics string `json:"diagnostics"`
		} `json:"issue"`
	}
	if json.Unmarshal(body, &oo) == nil && oo.ResourceType == "OperationOutcome" && len(oo.Issue) > 0 && oo.Issue[0].Diagnostics != "" {
		body = []byte(oo.Issue[0].Diagnostics)
	}
	s := strings.Join(strings.Fields(string(body)), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
