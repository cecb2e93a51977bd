package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/hce-fhir/hce/fhir"
	"github.com/hce-fhir/hce/validate"
	"github.com/labstack/echo/v4"
)

// Context keys of requests that a Bundle dispatches to the API itself.
type (
	// txRepo carries the Repository of the surrounding transaction.
	txRepo struct{}
	// assignedID carries the id a transaction assigned to a POST entry in
	// advance, so that urn:uuid references to it could be rewritten.
	assignedID struct{}
	// parsedResource carries an entry's resource, validated with its Bundle,
	// so that the entry's request need not encode and parse it again.
	parsedResource struct{}
)

// repoOf returns the Repository a request works on, guarded by the
// request's scopes (authorize.go): the transaction's when the request is an
// entry of a transaction Bundle.
func (h *Handler) repoOf(c echo.Context) Repository {
	ctx := c.Request().Context()
	if r, ok := ctx.Value(txRepo{}).(Repository); ok {
		return guard(ctx, r)
	}
	return guard(ctx, h.repo)
}

// entry is one Bundle.entry of a batch or transaction, as HCE processes it.
// Its resource is kept as JSON and decoded only while the entry is worked
// on, so that a large Bundle is never decoded whole.
type entry struct {
	index   int
	fullURL string
	method  string
	url     string
	// typ and raw are the resource's type and JSON (nil when the entry has
	// none); resource is raw decoded, while in use (see content); changed
	// says whether the resolver rewrote references in it since.
	typ      string
	raw      []byte
	resource map[string]any
	changed  bool
	header   http.Header // If-Match, If-None-Match, If-None-Exist, If-Modified-Since
	id       string      // the id assigned to a POST in advance
	// existing is set when a POST's ifNoneExist matched: nothing is created.
	existing string
	// rewritten and identifying mark the resolver's progress on the entry.
	rewritten, identifying bool
}

// methodOrder is the order in which R4 processes a transaction's entries
// (http.html#trules): deletes, creates, updates and patches, then reads.
var methodOrder = map[string]int{"DELETE": 0, "POST": 1, "PUT": 2, "PATCH": 2, "GET": 3, "HEAD": 3}

// bundle implements batch and transaction (https://hl7.org/fhir/R4/http.html#transaction):
// POST of a Bundle to the base. Each entry is dispatched to the API itself, so
// an entry behaves exactly like the same request sent alone; a transaction
// runs them all in one database transaction and stores nothing if one fails.
func (h *Handler) bundle(c echo.Context) error {
	if isNDJSON(c.Request()) {
		return h.ndjson(c)
	}
	body, err := readBody(c, resourceTypes...)
	if err != nil {
		return err
	}
	// Validated entry by entry: each resource stays JSON until its entry
	// is worked on.
	r, resources, err := h.validator.ParseEntries(body)
	if err != nil {
		return err
	}
	if r.Type != "Bundle" {
		return fhir.Invalid("POST to the base takes a Bundle of type batch or transaction, not "+r.Type, "resourceType")
	}
	kind, _ := r.Content["type"].(string)
	if kind != "batch" && kind != "transaction" {
		return fhir.Invalid(`Bundle.type must be "batch" or "transaction", not `+strconv.Quote(kind), "Bundle.type")
	}
	entries, err := bundleEntries(r.Content, resources)
	if err != nil {
		return err
	}
	if err := checkOverlap(entries, kind == "transaction"); err != nil {
		return err
	}
	ctx := c.Request().Context()
	responses := make([]fhir.BundleEntry, len(entries))
	if kind == "batch" {
		// Each entry of a batch succeeds or fails alone, in a savepoint of
		// one transaction whose rows are written together at its commit (on
		// Citus, one distributed commit rather than one per entry).
		err = h.repoOf(c).Transaction(ctx, func(outer Repository) error {
			for _, e := range processingOrder(entries) {
				h.batchEntry(ctx, outer, c, entries, e, responses)
			}
			return nil
		})
		if err != nil {
			// The rows could not be written together (say, an id that a
			// concurrent writer took): each entry again in a transaction of
			// its own, so that a failure is its entry's alone.
			for _, e := range processingOrder(entries) {
				h.batchEntry(ctx, h.repoOf(c), c, entries, e, responses)
			}
		}
	} else {
		err = h.repoOf(c).Transaction(ctx, func(repo Repository) error {
			if err := h.checkResolvedOverlap(ctx, repo, entries); err != nil {
				return err
			}
			res := h.newResolver(repo, entries)
			for _, e := range processingOrder(entries) {
				if err := res.resolve(ctx, e); err != nil {
					return entryError(e, err)
				}
				if err := res.release(); err != nil {
					return entryError(e, err)
				}
			}
			for _, e := range processingOrder(entries) {
				resp, err := h.dispatch(ctx, repo, c, e)
				if err != nil {
					return entryError(e, err)
				}
				responses[e.index] = resp
				// Stored: its decoded form, several times its JSON, and
				// the JSON can go (a transaction is not retried entry by
				// entry).
				e.resource, e.raw = nil, nil
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return writeBundle(c, http.StatusOK, fhir.Bundle{ResourceType: "Bundle", ID: uuid.NewString(),
		Type: kind + "-response", Entry: responses})
}

// batchEntry runs one entry of a batch in a transaction of repo (a
// savepoint when repo is itself a transaction) and records its response.
func (h *Handler) batchEntry(ctx context.Context, repo Repository, c echo.Context, entries []*entry, e *entry, responses []fhir.BundleEntry) {
	err := repo.Transaction(ctx, func(repo Repository) error {
		res := h.newResolver(repo, entries)
		// The entries decoded go back to JSON, rewritten, for a retry; one
		// that cannot be encoded stays decoded.
		defer func() { _ = res.release() }()
		if err := res.resolve(ctx, e); err != nil {
			return err
		}
		var err error
		responses[e.index], err = h.dispatch(ctx, repo, c, e)
		_ = e.release()
		return err
	})
	if err != nil {
		responses[e.index] = errorEntry(err)
	}
}

// bundleEntries reads the entries' requests, and takes their resources
// from resources (validate.Validator.ParseEntries left them out of doc); a
// malformed one fails the Bundle.
func bundleEntries(doc map[string]any, resources []validate.Entry) ([]*entry, error) {
	raw, _ := doc["entry"].([]any)
	entries := make([]*entry, 0, len(raw))
	for i, item := range raw {
		m, _ := item.(map[string]any)
		path := fmt.Sprintf("Bundle.entry[%d]", i)
		req, _ := m["request"].(map[string]any)
		if req == nil {
			return nil, fhir.Invalid("entry has no request", path+".request")
		}
		e := &entry{index: i, header: http.Header{}}
		e.fullURL, _ = m["fullUrl"].(string)
		e.method, _ = req["method"].(string)
		e.url, _ = req["url"].(string)
		if i < len(resources) {
			e.typ, e.raw = resources[i].Type, resources[i].JSON
		}
		if _, ok := methodOrder[e.method]; !ok {
			return nil, fhir.Invalid("unsupported request method "+strconv.Quote(e.method), path+".request.method")
		}
		e.url = strings.TrimPrefix(e.url, "/")
		if e.url == "" {
			return nil, fhir.Invalid("entry has no request.url", path+".request.url")
		}
		if (e.method == "POST" || e.method == "PUT") && e.raw == nil {
			return nil, fhir.Invalid(e.method+" entry has no resource", path+".resource")
		}
		for field, header := range map[string]string{"ifMatch": "If-Match", "ifNoneMatch": "If-None-Match",
			"ifNoneExist": "If-None-Exist", "ifModifiedSince": "If-Modified-Since"} {
			if v, ok := req[field].(string); ok {
				e.header.Set(header, v)
			}
		}
		entries = append(entries, e)
	}
	return entries, nil
}

// processingOrder sorts entries by method as R4 requires, stable otherwise.
func processingOrder(entries []*entry) []*entry {
	out := append([]*entry(nil), entries...)
	sort.SliceStable(out, func(i, j int) bool { return methodOrder[out[i].method] < methodOrder[out[j].method] })
	return out
}

// resolver rewrites the references between a Bundle's entries: it maps
// each entry's fullUrl to the Type/id the entry stores (or matched).
type resolver struct {
	h       *Handler
	repo    Repository
	targets map[string]string // fullUrl -> Type/id
	posts   map[string]*entry // fullUrl -> POST entry not yet given an id
	held    []*entry          // the entries decoded since the last release
}

func (h *Handler) newResolver(repo Repository, entries []*entry) *resolver {
	r := &resolver{h: h, repo: repo, targets: map[string]string{}, posts: map[string]*entry{}}
	for _, e := range entries {
		switch {
		case e.fullURL == "":
		case e.method == "POST":
			r.posts[e.fullURL] = e
		case e.method == "PUT" && !strings.Contains(e.url, "?"):
			r.targets[e.fullURL] = e.url
		}
	}
	return r
}

// resolve prepares e before it runs: every reference in e's resource to
// another entry's fullUrl or to a search (Type?criteria) becomes Type/id,
// and a POST gets its id (or, when its ifNoneExist matches, the id of the
// match).
func (r *resolver) resolve(ctx context.Context, e *entry) error {
	if err := r.rewrite(ctx, e); err != nil {
		return err
	}
	return r.identify(ctx, e)
}

// rewrite replaces e's references, giving the POST entries they name their
// ids first.
func (r *resolver) rewrite(ctx context.Context, e *entry) error {
	if e.raw == nil || e.rewritten {
		return nil
	}
	doc, err := r.content(e)
	if err != nil {
		return err
	}
	e.rewritten = true
	walkReferences(doc, func(ref string) string {
		if err != nil {
			return ref
		}
		if t, ok := r.targets[ref]; ok {
			e.changed = e.changed || t != ref
			return t
		}
		if later, ok := r.posts[ref]; ok {
			// A POST processed later in the Bundle: give it its id now.
			if err = r.identify(ctx, later); err != nil {
				return ref
			}
			e.changed = true
			return r.targets[ref]
		}
		if strings.HasPrefix(ref, "urn:uuid:") || strings.HasPrefix(ref, "urn:oid:") {
			err = fhir.Invalid("reference " + ref + " names no entry of this Bundle")
			return ref
		}
		if typ, query, ok := strings.Cut(ref, "?"); ok && fhir.IsResourceType(typ) {
			ids, merr := r.h.match(ctx, r.repo, typ, query, 2)
			switch {
			case merr != nil:
				err = merr
			case len(ids) == 0:
				err = fhir.Errorf(fhir.ErrNotFound, "not-found", "conditional reference "+ref+" matches no resource")
			case len(ids) > 1:
				err = fhir.Errorf(fhir.ErrPreconditionFailed, "multiple-matches", "conditional reference "+ref+" matches more than one resource")
			default:
				t := typ + "/" + ids[0]
				r.targets[ref] = t // the same criteria recur across a Bundle
				e.changed = true
				return t
			}
		}
		return ref
	})
	return err
}

// identify gives a POST entry its id, or the id its ifNoneExist matches.
// Its own references are rewritten first, so that the repository can give
// it an id on its patient's route; in a cycle of references between entries
// the entry reached again gets its id before its references are known.
func (r *resolver) identify(ctx context.Context, e *entry) error {
	if e.method != "POST" || e.id != "" || e.existing != "" {
		return nil
	}
	if !e.identifying {
		e.identifying = true
		if err := r.rewrite(ctx, e); err != nil {
			return err
		}
		if e.id != "" || e.existing != "" {
			return nil // identified inside the cycle
		}
	}
	typ := e.typ
	if cond := e.header.Get("If-None-Exist"); cond != "" {
		if err := r.repo.Lock(ctx, typ+"?"+cond); err != nil {
			return err
		}
		ids, err := r.h.match(ctx, r.repo, typ, cond, 2)
		if err != nil {
			return err
		}
		if len(ids) > 1 {
			return fhir.Errorf(fhir.ErrPreconditionFailed, "multiple-matches", "ifNoneExist "+cond+" matches more than one "+typ)
		}
		if len(ids) == 1 {
			e.existing = typ + "/" + ids[0]
		}
	}
	if e.existing == "" {
		doc, err := r.content(e)
		if err != nil {
			return err
		}
		e.id = r.repo.NewID(&fhir.Resource{Type: typ, Content: doc})
	}
	if e.fullURL != "" {
		delete(r.posts, e.fullURL)
		if e.existing != "" {
			r.targets[e.fullURL] = e.existing
		} else {
			r.targets[e.fullURL] = typ + "/" + e.id
		}
	}
	return nil
}

// content returns e's resource decoded, decoding its JSON when it is not;
// release lets it go again.
func (r *resolver) content(e *entry) (map[string]any, error) {
	if e.resource == nil {
		r.held = append(r.held, e)
	}
	return e.content()
}

// release turns the entries decoded since the last release back into JSON.
func (r *resolver) release() error {
	for _, e := range r.held {
		if err := e.release(); err != nil {
			return err
		}
	}
	r.held = r.held[:0]
	return nil
}

// walkReferences calls fn on every Reference.reference in v, at any depth
// (extensions and contained resources included), replacing it by the result.
func walkReferences(v any, fn func(string) string) {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if s, ok := val.(string); ok && k == "reference" {
				x[k] = fn(s)
				continue
			}
			walkReferences(val, fn)
		}
	case []any:
		for _, item := range x {
			walkReferences(item, fn)
		}
	}
}

// dispatch runs one entry through the API and turns the answer into a
// response entry; a 4xx or 5xx answer comes back as an error.
func (h *Handler) dispatch(ctx context.Context, repo Repository, c echo.Context, e *entry) (fhir.BundleEntry, error) {
	if e.existing != "" {
		typ, id, _ := strings.Cut(e.existing, "/")
		v, err := repo.Read(ctx, typ, id)
		if err != nil {
			return fhir.BundleEntry{}, err
		}
		return fhir.BundleEntry{FullURL: baseURL(c) + "/" + e.existing, Resource: v.Content,
			Response: &fhir.BundleResponse{Status: "200 OK", Location: e.existing + "/_history/" + strconv.FormatInt(v.VersionID, 10),
				Etag: v.ETag(), LastModified: fhir.FormatInstant(v.LastUpdated)}}, nil
	}
	var body []byte
	rctx := context.WithValue(context.WithValue(ctx, txRepo{}, repo), entryIndex{}, e.index+1)
	doc, err := e.content()
	if err != nil {
		return fhir.BundleEntry{}, err
	}
	if doc != nil {
		id, _ := doc["id"].(string)
		rctx = context.WithValue(rctx, parsedResource{}, &fhir.Resource{Type: e.typ, ID: id, Content: doc})
		body = []byte("{}") // stands for the resource, which travels in the context
	}
	if e.method == "POST" && e.id != "" {
		rctx = context.WithValue(rctx, assignedID{}, e.id)
	}
	req := httptest.NewRequestWithContext(rctx, e.method, "/fhir/"+e.url, bytes.NewReader(body))
	req.Host = c.Request().Host
	req.Header = e.header.Clone()
	req.Header.Set("Accept", mimeFHIRJSON)
	if p := c.Request().Header.Values("Prefer"); len(p) > 0 {
		req.Header["Prefer"] = p // return=minimal spares re-sending every resource
	}
	if body != nil {
		req.Header.Set("Content-Type", mimeFHIRJSON)
	}
	if e.method == "PATCH" {
		req.Header.Set("Content-Type", mimeJSONPatch)
	}
	rec := httptest.NewRecorder()
	h.inner.ServeHTTP(rec, req)
	res := rec.Result()
	if res.StatusCode >= 400 {
		return fhir.BundleEntry{}, responseError(res.StatusCode, rec.Body.Bytes())
	}
	out := fhir.BundleEntry{Response: &fhir.BundleResponse{
		Status:       strconv.Itoa(res.StatusCode) + " " + http.StatusText(res.StatusCode),
		Location:     relativeLocation(res.Header.Get("Location")),
		Etag:         res.Header.Get("ETag"),
		LastModified: lastModified(res.Header.Get("Last-Modified")),
	}}
	if rec.Body.Len() > 0 {
		out.Resource = json.RawMessage(rec.Body.Bytes())
	}
	if loc := out.Response.Location; loc != "" {
		out.FullURL = baseURL(c) + "/" + strings.Split(loc, "/_history/")[0]
	}
	return out, nil
}

// responseError rebuilds the error a dispatched request answered with.
func responseError(code int, body []byte) error {
	var oo struct {
		Issue []fhir.Issue `json:"issue"`
	}
	_ = json.Unmarshal(body, &oo)
	return &statusIssues{status: code, issues: oo.Issue}
}

// statusIssues is an entry's failure: its HTTP status and its issues.
type statusIssues struct {
	status int
	issues []fhir.Issue
}

func (e *statusIssues) Error() string {
	parts := []string{http.StatusText(e.status)}
	for _, is := range e.issues {
		parts = append(parts, is.Diagnostics)
	}
	return strings.Join(parts, ": ")
}

// entryError names the failing entry of a transaction in the outcome.
func entryError(e *entry, err error) error {
	code, issues := status(err)
	where := fmt.Sprintf("Bundle.entry[%d]", e.index)
	name := where
	if e.fullURL != "" {
		name += " (" + e.fullURL + ")"
	}
	out := make([]fhir.Issue, 0, len(issues))
	for _, is := range issues {
		is.Diagnostics = name + " " + e.method + " " + e.url + ": " + is.Diagnostics
		is.Expression = append([]string{where}, is.Expression...)
		out = append(out, is)
	}
	if len(out) == 0 {
		out = append(out, fhir.Issue{Severity: "error", Code: "processing", Diagnostics: name + " failed", Expression: []string{where}})
	}
	return &statusIssues{status: code, issues: out}
}

// errorEntry is a batch's response entry for a failed entry.
func errorEntry(err error) fhir.BundleEntry {
	code, issues := status(err)
	oo, _ := json.Marshal(fhir.NewOperationOutcome(issues...))
	return fhir.BundleEntry{Response: &fhir.BundleResponse{Status: strconv.Itoa(code) + " " + http.StatusText(code), Outcome: oo}}
}

// relativeLocation strips the base from a Location header.
func relativeLocation(loc string) string {
	if i := strings.Index(loc, "/fhir/"); i >= 0 {
		return loc[i+len("/fhir/"):]
	}
	return loc
}

// lastModified turns an HTTP date into a FHIR instant.
func lastModified(h string) string {
	if t, err := http.ParseTime(h); err == nil {
		return fhir.FormatInstant(t)
	}
	return ""
}
