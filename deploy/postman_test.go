package deploy

import (
	"bytes"
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const postmanDir = "../postman"

// The subset of the Postman Collection v2.1 format the collection uses;
// decoding is strict, so a misspelt field fails.
type (
	pmCollection struct {
		Info struct {
			PostmanID   string `json:"_postman_id"`
			Name        string `json:"name"`
			Description string `json:"description"`
			Schema      string `json:"schema"`
		} `json:"info"`
		Auth *struct {
			Type   string       `json:"type"`
			Bearer []pmVariable `json:"bearer"`
		} `json:"auth"`
		Item     []pmItem     `json:"item"`
		Event    []pmEvent    `json:"event"`
		Variable []pmVariable `json:"variable"`
	}
	pmItem struct {
		Name        string     `json:"name"`
		Description string     `json:"description,omitempty"`
		Item        []pmItem   `json:"item,omitempty"`
		Event       []pmEvent  `json:"event,omitempty"`
		Request     *pmRequest `json:"request,omitempty"`
		Response    []any      `json:"response,omitempty"`
	}
	pmEvent struct {
		Listen string `json:"listen"`
		Script struct {
			Type string   `json:"type"`
			Exec []string `json:"exec"`
		} `json:"script"`
	}
	pmVariable struct {
		Key   string `json:"key"`
		Value string `json:"value"`
		Type  string `json:"type"`
	}
	pmRequest struct {
		Method      string `json:"method"`
		Description string `json:"description,omitempty"`
		Header      []struct {
			Key   string `json:"key"`
			Value string `json:"value"`
		} `json:"header"`
		Body *struct {
			Mode    string `json:"mode"`
			Raw     string `json:"raw"`
			Options struct {
				Raw struct {
					Language string `json:"language"`
				} `json:"raw"`
			} `json:"options"`
		} `json:"body,omitempty"`
		URL struct {
			Raw   string   `json:"raw"`
			Host  []string `json:"host"`
			Path  []string `json:"path"`
			Query []struct {
				Key   string `json:"key"`
				Value string `json:"value"`
			} `json:"query,omitempty"`
		} `json:"url"`
	}
)

func (r *pmRequest) header(key string) string {
	for _, h := range r.Header {
		if strings.EqualFold(h.Key, key) {
			return h.Value
		}
	}
	return ""
}

func (it pmItem) script(listen string) string {
	for _, e := range it.Event {
		if e.Listen == listen {
			return strings.Join(e.Script.Exec, "\n")
		}
	}
	return ""
}

// requests returns the collection's requests in run order.
func requests(items []pmItem) []pmItem {
	var out []pmItem
	for _, it := range items {
		if it.Request != nil {
			out = append(out, it)
		}
		out = append(out, requests(it.Item)...)
	}
	return out
}

func loadCollection(t *testing.T) *pmCollection {
	t.Helper()
	b, err := os.ReadFile(postmanDir + "/hce.postman_collection.json")
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var c pmCollection
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("collection: %v", err)
	}
	return &c
}

var (
	statusAssert = regexp.MustCompile(`pm\.response\.to\.have\.status\((\d{3})\)|pm\.response\.code\)\.to\.be\.oneOf\(\[([\d, ]+)\]\)`)
	varUse       = regexp.MustCompile(`\{\{([^{}]+)\}\}`)
	varSet       = regexp.MustCompile(`pm\.collectionVariables\.set\('([^']+)'`)
)

// expectedStatuses returns the statuses a test script accepts.
func expectedStatuses(script string) []string {
	var out []string
	for _, m := range statusAssert.FindAllStringSubmatch(script, -1) {
		if m[1] != "" {
			out = append(out, m[1])
		}
		for s := range strings.SplitSeq(m[2], ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// TestPostmanCollection checks the collection's format, that every request
// asserts its status and something about the response, that ids are chained
// through variables set before they are used, and that every interaction
// HCE implements is covered.
func TestPostmanCollection(t *testing.T) {
	c := loadCollection(t)
	if c.Info.Schema != "https://schema.getpostman.com/json/collection/v2.1.0/collection.json" {
		t.Errorf("schema %q, want Postman Collection v2.1", c.Info.Schema)
	}
	if !slices.ContainsFunc(c.Variable, func(v pmVariable) bool {
		return v.Key == "baseUrl" && strings.HasSuffix(v.Value, "/fhir")
	}) {
		t.Errorf("no collection variable baseUrl with a FHIR base default")
	}
	// Every request inherits the collection's bearer token, which run.sh
	// mints with the server's own key (the server runs with auth on).
	if c.Auth == nil || c.Auth.Type != "bearer" || !slices.ContainsFunc(c.Auth.Bearer, func(v pmVariable) bool {
		return v.Key == "token" && v.Value == "{{token}}"
	}) {
		t.Errorf("the collection does not authenticate with bearer {{token}}")
	}
	reqs := requests(c.Item)

	t.Run("every request tests status and response", func(t *testing.T) {
		for _, it := range reqs {
			script := it.script("test")
			if len(expectedStatuses(script)) == 0 {
				t.Errorf("%s: the test script asserts no status", it.Name)
			}
			if strings.Count(script, "pm.test(") < 1 || !strings.Contains(script, "pm.expect(") && !strings.Contains(script, "pm.response.to") {
				t.Errorf("%s: the test script checks nothing", it.Name)
			}
			if strings.Count(script, "pm.test(") < 2 && !strings.HasPrefix(it.Request.Method, "DELETE") {
				t.Errorf("%s: only the status is tested; check the body or headers too", it.Name)
			}
			if !strings.HasPrefix(it.Request.URL.Raw, "{{baseUrl}}") && !strings.HasPrefix(it.Request.URL.Raw, "{{rootUrl}}") {
				t.Errorf("%s: URL %q does not start from {{baseUrl}}", it.Name, it.Request.URL.Raw)
			}
			if it.Request.URL.Raw != strings.Join(append(slices.Clone(it.Request.URL.Host), it.Request.URL.Path...), "/")+queryOf(it.Request) {
				t.Errorf("%s: url.raw %q disagrees with host and path", it.Name, it.Request.URL.Raw)
			}
			if it.Request.Body != nil && it.Request.header("Content-Type") == "" {
				t.Errorf("%s: a body without a Content-Type", it.Name)
			}
			// Every 4xx must come with an OperationOutcome.
			for _, s := range expectedStatuses(script) {
				if s[0] == '4' && !strings.Contains(script, "pm.expect(json.resourceType).to.eql('OperationOutcome')") {
					t.Errorf("%s: expects %s without checking the OperationOutcome", it.Name, s)
				}
			}
		}
	})

	t.Run("variables are set before use", func(t *testing.T) {
		set := map[string]bool{"baseUrl": true}
		for _, e := range c.Event {
			if e.Listen == "prerequest" && strings.Contains(strings.Join(e.Script.Exec, "\n"), "pm.variables.set('rootUrl'") {
				set["rootUrl"] = true
			}
		}
		for _, it := range reqs {
			for _, m := range varSet.FindAllStringSubmatch(it.script("prerequest"), -1) {
				set[m[1]] = true
			}
			text := it.Request.URL.Raw
			for _, h := range it.Request.Header {
				text += " " + h.Value
			}
			if it.Request.Body != nil {
				text += " " + it.Request.Body.Raw
			}
			for _, m := range varUse.FindAllStringSubmatch(text, -1) {
				if !set[m[1]] && !strings.HasPrefix(m[1], "$") {
					t.Errorf("%s uses {{%s}} before any request sets it", it.Name, m[1])
				}
			}
			for _, m := range varSet.FindAllStringSubmatch(it.script("test"), -1) {
				set[m[1]] = true
			}
		}
		if !set["patientId"] {
			t.Errorf("no request saves the created Patient's id")
		}
	})

	t.Run("coverage", func(t *testing.T) {
		for _, want := range []struct {
			what        string
			method, url string
			status      string
			header      [2]string // a request header that must be present
			body        string    // a string the test script must contain
		}{
			{"capabilities", "GET", "{{baseUrl}}/metadata", "200", [2]string{}, "CapabilityStatement"},
			{"create", "POST", "{{baseUrl}}/Patient", "201", [2]string{}, `W/"1"`},
			{"read", "GET", "{{baseUrl}}/Patient/{{patientId}}", "200", [2]string{}, "patientId"},
			{"conditional read", "GET", "{{baseUrl}}/Patient/{{patientId}}", "304", [2]string{"If-None-Match", ""}, "text()"},
			{"vread", "GET", "{{baseUrl}}/Patient/{{patientId}}/_history/1", "200", [2]string{}, "versionId"},
			{"update", "PUT", "{{baseUrl}}/Patient/{{patientId}}", "200", [2]string{}, `W/"2"`},
			{"stale If-Match", "PUT", "{{baseUrl}}/Patient/{{patientId}}", "412", [2]string{"If-Match", `W/"1"`}, "OperationOutcome"},
			{"update as create", "PUT", "{{baseUrl}}/Patient/{{clientId}}", "201", [2]string{}, "clientId"},
			{"patch", "PATCH", "{{baseUrl}}/Patient/{{patientId}}", "200", [2]string{"Content-Type", "application/json-patch+json"}, `W/"3"`},
			{"history instance", "GET", "{{baseUrl}}/Patient/{{patientId}}/_history", "200", [2]string{}, "'history'"},
			{"history type", "GET", "{{baseUrl}}/Patient/_history?_count=5", "200", [2]string{}, "'history'"},
			{"history system", "GET", "{{baseUrl}}/_history?_count=5", "200", [2]string{}, "'history'"},
			{"Prefer minimal", "POST", "{{baseUrl}}/Patient", "201", [2]string{"Prefer", "return=minimal"}, "text()"},
			{"Prefer OperationOutcome", "POST", "{{baseUrl}}/Patient", "201", [2]string{"Prefer", "return=OperationOutcome"}, "OperationOutcome"},
			{"delete", "DELETE", "{{baseUrl}}/Patient/{{patientId}}", "204", [2]string{}, ""},
			{"read deleted", "GET", "{{baseUrl}}/Patient/{{patientId}}", "410", [2]string{}, "OperationOutcome"},
			{"read unknown", "GET", "{{baseUrl}}/Patient/pm-no-such-patient-{{$timestamp}}", "404", [2]string{}, "OperationOutcome"},
			{"malformed JSON", "POST", "{{baseUrl}}/Patient", "400", [2]string{}, "OperationOutcome"},
			{"unknown element", "POST", "{{baseUrl}}/Patient", "400", [2]string{}, "colour"},
			{"wrong Content-Type", "POST", "{{baseUrl}}/Patient", "415", [2]string{"Content-Type", "text/plain"}, "OperationOutcome"},
			{"unsupported Accept", "GET", "{{baseUrl}}/metadata", "406", [2]string{"Accept", "application/xml"}, "OperationOutcome"},
			{"healthz", "GET", "{{rootUrl}}/healthz", "200", [2]string{}, "'ok'"},
			{"readyz", "GET", "{{rootUrl}}/readyz", "200", [2]string{}, "'ok'"},
			{"cluster", "GET", "{{rootUrl}}/admin/cluster", "200", [2]string{}, "info.mode"},
			{"search-type in capabilities", "GET", "{{baseUrl}}/metadata", "200", [2]string{}, "'search-type'"},
			{"system interactions in capabilities", "GET", "{{baseUrl}}/metadata", "200", [2]string{}, "'transaction', 'batch'"},

			{"search string", "GET", "{{baseUrl}}/Patient?name={{searchFamily}}", "200", [2]string{}, "idsOf('match')"},
			{"search token", "GET", "{{baseUrl}}/Patient?identifier=http://example.org/mrn|{{searchMrn}}", "200", [2]string{}, "idsOf('match')"},
			{"search date prefix", "GET", "{{baseUrl}}/Patient?name={{searchFamily}}&birthdate=ge1970", "200", [2]string{}, "idsOf('match')"},
			{"search _id", "GET", "{{baseUrl}}/Patient?_id={{patientId}}", "200", [2]string{}, "idsOf('match')"},
			{"search :missing", "GET", "{{baseUrl}}/Patient?name={{searchFamily}}&telecom:missing=true", "200", [2]string{}, "idsOf('match')"},
			{"search _sort", "GET", "{{baseUrl}}/Patient?name={{searchFamily}}&_sort=-_lastUpdated", "200", [2]string{}, "lastUpdated"},
			{"search _count", "GET", "{{baseUrl}}/Patient?name={{searchFamily}}&_count=1", "200", [2]string{}, "pm.collectionVariables.set('nextPage'"},
			{"search next link", "GET", "{{baseUrl}}/{{nextPage}}", "200", [2]string{}, "'next'"},
			{"search _total", "GET", "{{baseUrl}}/Patient?name={{searchFamily}}&_total=accurate&_count=1", "200", [2]string{}, "bundle.total"},
			{"search _summary=count", "GET", "{{baseUrl}}/Patient?name={{searchFamily}}&_summary=count", "200", [2]string{}, "bundle.total"},
			{"search _elements", "GET", "{{baseUrl}}/Patient?_id={{patientId}}&_elements=gender", "200", [2]string{}, "SUBSETTED"},
			{"search _include", "GET", "{{baseUrl}}/Observation?_id={{observationId}}&_include=Observation:subject", "200", [2]string{}, "idsOf('include')"},
			{"search _revinclude", "GET", "{{baseUrl}}/Patient?_id={{patientId}}&_revinclude=Observation:subject", "200", [2]string{}, "idsOf('include')"},
			{"search chain", "GET", "{{baseUrl}}/Observation?subject:Patient.name={{searchFamily}}", "200", [2]string{}, "idsOf('match')"},
			{"search _has", "GET", "{{baseUrl}}/Patient?name={{searchFamily}}&_has:Observation:subject:code=http://loinc.org|8867-4", "200", [2]string{}, "idsOf('match')"},
			{"search by POST", "POST", "{{baseUrl}}/Patient/_search", "200", [2]string{"Content-Type", "application/x-www-form-urlencoded"}, "idsOf('match')"},
			{"search compartment", "GET", "{{baseUrl}}/Patient/{{patientId}}/Observation", "200", [2]string{}, "idsOf('match')"},
			{"$everything", "GET", "{{baseUrl}}/Patient/{{patientId}}/$everything", "200", [2]string{}, "idsOf('match')"},
			{"unknown search parameter", "GET", "{{baseUrl}}/Patient?name={{searchFamily}}&pm-unknown=1", "200", [2]string{}, "'outcome'"},
			{"unknown search parameter, strict", "GET", "{{baseUrl}}/Patient?name={{searchFamily}}&pm-unknown=1", "400", [2]string{"Prefer", "handling=strict"}, "OperationOutcome"},
			{"malformed date", "GET", "{{baseUrl}}/Patient?birthdate=ge1970-13-45", "400", [2]string{}, "OperationOutcome"},

			{"conditional create", "POST", "{{baseUrl}}/Patient", "201", [2]string{"If-None-Exist", ""}, "condPatientId"},
			{"conditional create, existing", "POST", "{{baseUrl}}/Patient", "200", [2]string{"If-None-Exist", ""}, "condPatientId"},
			{"conditional update", "PUT", "{{baseUrl}}/Patient?identifier=http://example.org/mrn|{{condMrn}}", "200", [2]string{}, "condPatientId"},
			{"conditional delete", "DELETE", "{{baseUrl}}/Patient?identifier=http://example.org/mrn|{{condMrn}}", "204", [2]string{}, ""},

			{"transaction", "POST", "{{baseUrl}}", "200", [2]string{"Content-Type", "application/fhir+json"}, "'transaction-response'"},
			{"transaction urn:uuid resolved", "GET", "{{baseUrl}}/{{txObservationLocation}}", "200", [2]string{}, "txPatientId"},
			{"failing transaction", "POST", "{{baseUrl}}", "400", [2]string{}, "Bundle.entry[1]"},
			{"batch", "POST", "{{baseUrl}}", "200", [2]string{"Content-Type", "application/fhir+json"}, "'batch-response'"},
			{"NDJSON", "POST", "{{baseUrl}}", "200", [2]string{"Content-Type", "application/fhir+ndjson"}, "'batch-response'"},

			{"$export without respond-async", "GET", "{{baseUrl}}/$export", "400", [2]string{}, "respond-async"},
			{"$export kick-off", "GET", "{{baseUrl}}/Patient/$export?_type=Patient,Observation&patient=Patient/{{patientId}}", "202", [2]string{"Prefer", "respond-async"}, "Content-Location"},
			{"$export status polled to the manifest", "GET", "{{baseUrl}}/$export-status/{{exportJob}}", "200", [2]string{}, "setNextRequest"},
			{"$export file download", "GET", "{{baseUrl}}/$export-file/{{exportJob}}/{{exportFile}}", "200", [2]string{}, "application/fhir+ndjson"},
			{"$export cancel", "DELETE", "{{baseUrl}}/$export-status/{{exportJob}}", "202", [2]string{}, "information"},
		} {
			found := slices.ContainsFunc(reqs, func(it pmItem) bool {
				r := it.Request
				if r.Method != want.method || r.URL.Raw != want.url || !slices.Contains(expectedStatuses(it.script("test")), want.status) {
					return false
				}
				if want.header[0] != "" && (r.header(want.header[0]) == "" || want.header[1] != "" && r.header(want.header[0]) != want.header[1]) {
					return false
				}
				return strings.Contains(it.script("test"), want.body)
			})
			if !found {
				t.Errorf("no request covers %s: %s %s expecting %s", want.what, want.method, want.url, want.status)
			}
		}
	})

	t.Run("delete is played twice", func(t *testing.T) {
		n := 0
		for _, it := range reqs {
			if it.Request.Method == "DELETE" && it.Request.URL.Raw == "{{baseUrl}}/Patient/{{patientId}}" {
				n++
			}
		}
		if n != 2 {
			t.Errorf("%d deletes of the same Patient, want 2 (idempotence)", n)
		}
	})
}

func queryOf(r *pmRequest) string {
	if len(r.URL.Query) == 0 {
		return ""
	}
	var q []string
	for _, kv := range r.URL.Query {
		q = append(q, kv.Key+"="+kv.Value)
	}
	return "?" + strings.Join(q, "&")
}

// TestNewmanPinned checks that newman is pinned exactly and locked, and
// that node_modules stays out of the repository.
func TestNewmanPinned(t *testing.T) {
	var pkg struct {
		DevDependencies map[string]string `json:"devDependencies"`
		Dependencies    map[string]string `json:"dependencies"`
	}
	readJSON(t, postmanDir+"/package.json", &pkg)
	version := pkg.DevDependencies["newman"]
	if version == "" {
		version = pkg.Dependencies["newman"]
	}
	if !regexp.MustCompile(`^6\.\d+\.\d+$`).MatchString(version) {
		t.Fatalf("newman is %q in package.json, want an exact 6.x.y", version)
	}
	var lock struct {
		LockfileVersion int `json:"lockfileVersion"`
		Packages        map[string]struct {
			Version string `json:"version"`
		} `json:"packages"`
	}
	readJSON(t, postmanDir+"/package-lock.json", &lock)
	if lock.LockfileVersion < 2 {
		t.Errorf("lockfileVersion %d, want 2 or later (npm ci)", lock.LockfileVersion)
	}
	if got := lock.Packages["node_modules/newman"].Version; got != version {
		t.Errorf("package-lock.json locks newman %q, package.json pins %q", got, version)
	}
	ignore, err := os.ReadFile(postmanDir + "/.gitignore")
	if err != nil || !regexp.MustCompile(`(?m)^/?node_modules/?$`).Match(ignore) {
		t.Errorf("postman/.gitignore does not ignore node_modules")
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestRunScript checks the steps postman/run.sh must take.
func TestRunScript(t *testing.T) {
	path := postmanDir + "/run.sh"
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&0o111 == 0 {
		t.Errorf("run.sh is not executable")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	script := string(b)
	if !strings.HasPrefix(script, "#!/usr/bin/env bash\n") {
		t.Errorf("run.sh does not start with a bash shebang")
	}
	for _, want := range []string{
		"set -euo pipefail",
		"npm ci",
		"go build -trimpath -o bin/hce ./cmd/hce",
		`chmod 755 "$data"`,
		`serve --addr "127.0.0.1:$port" --data-dir`,
		"trap cleanup EXIT",
		`kill -TERM "$pid"`,
		"seq 1 60",
		"/metadata",
		"newman run hce.postman_collection.json",
		`--env-var "baseUrl=$base"`,
	} {
		if !strings.Contains(script, want) {
			t.Errorf("run.sh lacks %q", want)
		}
	}
}
