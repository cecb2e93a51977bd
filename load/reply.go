package load

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
)

// reply is what Load reads of a server's answer: a batch-response or
// transaction-response Bundle, or an OperationOutcome. Only the members used
// are decoded, so a large response costs little.
type reply struct {
	ResourceType string  `json:"resourceType"`
	Type         string  `json:"type"`
	Issue        []issue `json:"issue"`
	Entry        []struct {
		Response *struct {
			Status  string          `json:"status"`
			Outcome json.RawMessage `json:"outcome"`
		} `json:"response"`
	} `json:"entry"`
}

// issue is one OperationOutcome.issue.
type issue struct {
	Severity    string   `json:"severity"`
	Diagnostics string   `json:"diagnostics"`
	Expression  []string `json:"expression"`
}

// failed reports whether the issue is an error rather than a warning.
func (is issue) failed() bool { return is.Severity == "error" || is.Severity == "fatal" }

// ok reports whether an HTTP status line ("201 Created") or code is 2xx.
func ok(status string) bool { return strings.HasPrefix(strings.TrimSpace(status), "2") }

// diagnostics joins the diagnostics of an OperationOutcome's error issues
// (or of all its issues when none is an error).
func diagnostics(issues []issue) string {
	var errs, all []string
	for _, is := range issues {
		d := is.Diagnostics
		if d == "" && len(is.Expression) > 0 {
			d = strings.Join(is.Expression, ", ")
		}
		if d == "" {
			continue
		}
		all = append(all, d)
		if is.failed() {
			errs = append(errs, d)
		}
	}
	if len(errs) > 0 {
		return strings.Join(errs, "; ")
	}
	return strings.Join(all, "; ")
}

// outcomeDiagnostics reads the diagnostics of an entry's response.outcome.
func outcomeDiagnostics(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var oo reply
	if json.Unmarshal(raw, &oo) != nil {
		return ""
	}
	return diagnostics(oo.Issue)
}

var entryPattern = regexp.MustCompile(`Bundle\.entry\[(\d+)\]`)

// entryOf finds the Bundle entry an OperationOutcome blames: the first
// Bundle.entry[N] in an issue's expression, else in its diagnostics; -1 when
// none is named.
func entryOf(issues []issue) int {
	for _, is := range issues {
		for _, e := range is.Expression {
			if n := firstNumber(entryPattern, e); n >= 0 {
				return n
			}
		}
	}
	for _, is := range issues {
		if n := firstNumber(entryPattern, is.Diagnostics); n >= 0 {
			return n
		}
	}
	return -1
}

var linePattern = regexp.MustCompile(`(?i)\bline\s*(?:\[\s*(\d+)\s*\]|[:#]?\s*(\d+))`)

// lineOf finds the NDJSON line an issue blames, 1-based within the posted
// body: "line[3]", "line 3" or "Line: 3" in its expression or diagnostics;
// 0 when none is named.
func lineOf(is issue) int {
	for _, s := range append(append([]string(nil), is.Expression...), is.Diagnostics) {
		if n := firstNumber(linePattern, s); n > 0 {
			return n
		}
	}
	return 0
}

// firstNumber returns the number captured by the first match of re in s, or
// -1.
func firstNumber(re *regexp.Regexp, s string) int {
	m := re.FindStringSubmatch(s)
	for _, g := range m[min(1, len(m)):] {
		if g == "" {
			continue
		}
		if n, err := strconv.Atoi(g); err == nil {
			return n
		}
	}
	return -1
}

// snippet shortens a response body that is not FHIR for an error message.
func snippet(body []byte) string {
	s := strings.Join(strings.Fields(string(body)), " ")
	if len(s) > 300 {
		s = strings.ToValidUTF8(s[:300], "") + "…"
	}
	return s
}
