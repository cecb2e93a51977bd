package load

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
)

func TestEntryOf(t *testing.T) {
	tests := []struct {
		name   string
		issues []issue
		want   int
	}{
		{"expression", []issue{{Severity: "error", Expression: []string{"Bundle.entry[3].resource.status"}}}, 3},
		{"diagnostics", []issue{{Severity: "error", Diagnostics: "Bundle.entry[12] (urn:uuid:x) POST Patient: invalid"}}, 12},
		{"expression wins", []issue{{Diagnostics: "Bundle.entry[1]"}, {Expression: []string{"Bundle.entry[2]"}}}, 2},
		{"none", []issue{{Severity: "error", Diagnostics: "database down", Expression: []string{"Bundle.type"}}}, -1},
		{"no issues", nil, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := entryOf(tt.issues); got != tt.want {
				t.Errorf("entryOf = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestLineOf(t *testing.T) {
	tests := []struct {
		is   issue
		want int
	}{
		{issue{Expression: []string{"line[7]"}}, 7},
		{issue{Expression: []string{"Line[ 7 ]"}}, 7},
		{issue{Diagnostics: "line 42: Patient.gender: unknown code"}, 42},
		{issue{Diagnostics: "Line: 3 is not JSON"}, 3},
		{issue{Diagnostics: "line #9"}, 9},
		{issue{Diagnostics: "pipeline 4 failed"}, 0},
		{issue{Diagnostics: "no line named"}, 0},
		{issue{Diagnostics: "line 0"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.is.Diagnostics+strings.Join(tt.is.Expression, ","), func(t *testing.T) {
			if got := lineOf(tt.is); got != tt.want {
				t.Errorf("lineOf = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestChunkResult(t *testing.T) {
	c := &chunk{body: []byte("a\nb\nc\n"), lines: []int{10, 11, 13}}
	tests := []struct {
		name      string
		a         *answer
		wantDone  int64
		wantFails string // Failure.Error() of each, joined with " | "
	}{
		{"all loaded", &answer{code: 200, status: "200 OK", raw: []byte(`{"resourceType":"OperationOutcome","issue":[{"severity":"information","diagnostics":"3 loaded"}]}`)}, 3, ""},
		{"a line refused", &answer{code: 200, status: "200 OK", raw: []byte(`{"resourceType":"OperationOutcome","issue":[{"severity":"error","diagnostics":"bad","expression":["line[3]"]},{"severity":"error","diagnostics":"worse","expression":["line[3]"]}]}`)}, 2, "f:13: bad"},
		{"an unnamed error", &answer{code: 200, status: "200 OK", raw: []byte(`{"resourceType":"OperationOutcome","issue":[{"severity":"fatal","diagnostics":"hmm"}]}`)}, 2, "f:10: lines 10-13: hmm"},
		{"batch-response", &answer{code: 200, status: "200 OK", raw: []byte(`{"resourceType":"Bundle","type":"batch-response","entry":[{"response":{"status":"201 Created"}},{"response":{"status":"422 Unprocessable Entity","outcome":{"resourceType":"OperationOutcome","issue":[{"severity":"error","diagnostics":"no"}]}}},{"response":{"status":"200 OK"}}]}`)}, 2, "f:11: 422 Unprocessable Entity: no"},
		{"rejected chunk", &answer{code: 413, status: "413 Request Entity Too Large", raw: []byte(`{"resourceType":"OperationOutcome","issue":[{"severity":"error","diagnostics":"too big"}]}`)}, 0, "f:10: 413 Request Entity Too Large: lines 10-13 not loaded: too big"},
		{"rejected naming a line", &answer{code: 400, status: "400 Bad Request", raw: []byte(`{"resourceType":"OperationOutcome","issue":[{"severity":"error","diagnostics":"line 2: bad"}]}`)}, 0, "f:11: 400 Bad Request: line 2: bad"},
		{"not FHIR", &answer{code: 502, status: "502 Bad Gateway", raw: []byte("<html>bad gateway</html>")}, 0, "f:10: 502 Bad Gateway: lines 10-13 not loaded: <html>bad gateway</html>"},
		{"empty 2xx", &answer{code: 204, status: "204 No Content"}, 3, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.a.decode()
			done, fails := chunkResult("f", c, tt.a)
			var got []string
			for _, f := range fails {
				got = append(got, f.Error())
			}
			if done != tt.wantDone || strings.Join(got, " | ") != tt.wantFails {
				t.Errorf("chunkResult = %d, %q; want %d, %q", done, strings.Join(got, " | "), tt.wantDone, tt.wantFails)
			}
		})
	}
}

func TestBundleResult(t *testing.T) {
	tests := []struct {
		name      string
		a         *answer
		wantDone  int64
		wantFails string
	}{
		{"transaction-response", &answer{code: 200, status: "200 OK", raw: []byte(`{"resourceType":"Bundle","type":"transaction-response","entry":[{"response":{"status":"201 Created"}},{"response":{"status":"200"}}]}`)}, 2, ""},
		{"batch entry failed", &answer{code: 200, status: "200 OK", raw: []byte(`{"resourceType":"Bundle","type":"batch-response","entry":[{"response":{"status":"201 Created"}},{"response":{"status":"412 Precondition Failed","outcome":{"resourceType":"OperationOutcome","issue":[{"severity":"error","diagnostics":"stale"}]}}},{}]}`)}, 1,
			"b: Bundle.entry[1]: 412 Precondition Failed: stale | b: Bundle.entry[2]: the response entry has no response.status"},
		{"transaction refused", &answer{code: 400, status: "400 Bad Request", raw: []byte(`{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"invalid","diagnostics":"Bundle.entry[4] POST Observation: status: required","expression":["Bundle.entry[4].resource.status"]}]}`)}, 0,
			"b: Bundle.entry[4]: 400 Bad Request: Bundle.entry[4] POST Observation: status: required"},
		{"not a Bundle", &answer{code: 200, status: "200 OK", raw: []byte(`{"resourceType":"Patient"}`)}, 0, "b: 200 OK: the server did not answer with a Bundle: {\"resourceType\":\"Patient\"}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.a.decode()
			done, fails := bundleResult("b", tt.a)
			var got []string
			for _, f := range fails {
				got = append(got, f.Error())
			}
			if done != tt.wantDone || strings.Join(got, " | ") != tt.wantFails {
				t.Errorf("bundleResult = %d, %q; want %d, %q", done, strings.Join(got, " | "), tt.wantDone, tt.wantFails)
			}
		})
	}
}

func TestChunker(t *testing.T) {
	long := strings.Repeat("x", 3<<20) // longer than the reader's buffer
	input := "\xef\xbb\xbf{\"a\":1}\r\n\n  {\"b\":2}  \n" + `{"c":"` + long + `"}` + "\n{\"d\":4}"
	tests := []struct {
		lines, bytes int
		want         string
	}{
		{10, 1 << 30, "[1 3 4 5]"},
		{2, 1 << 30, "[1 3] [4 5]"},
		{1, 1 << 30, "[1] [3] [4] [5]"},
		{10, 20, "[1 3] [4] [5]"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d lines %d bytes", tt.lines, tt.bytes), func(t *testing.T) {
			ch := newChunker(strings.NewReader(input), tt.lines, tt.bytes)
			var got []string
			var body []byte
			for {
				c, err := ch.next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, fmt.Sprint(c.lines))
				body = append(body, c.body...)
			}
			if strings.Join(got, " ") != tt.want {
				t.Errorf("chunks %v, want %s", got, tt.want)
			}
			want := "{\"a\":1}\n{\"b\":2}\n{\"c\":\"" + long + "\"}\n{\"d\":4}\n"
			if string(body) != want {
				t.Errorf("bodies joined differ from the trimmed lines (%d vs %d bytes)", len(body), len(want))
			}
		})
	}
}

// FuzzChunker checks that chunking keeps every non-blank line, in order,
// numbered as in the input, within the bounds.
func FuzzChunker(f *testing.F) {
	f.Add([]byte("{}\n\n {\"a\":1}\r\n{}"), 2, 10)
	f.Add([]byte("\xef\xbb\xbf\n\n\n"), 1, 1)
	f.Fuzz(func(t *testing.T, data []byte, maxLines, maxBytes int) {
		maxLines, maxBytes = 1+int(uint(maxLines)%50), 1+int(uint(maxBytes)%200)
		ch := newChunker(bytes.NewReader(data), maxLines, maxBytes)
		var want [][]byte
		var wantNo []int
		for i, line := range bytes.Split(data, []byte("\n")) {
			if i == 0 {
				line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
			}
			if l := bytes.TrimSpace(line); len(l) > 0 {
				want, wantNo = append(want, l), append(wantNo, i+1)
			}
		}
		var got [][]byte
		var gotNo []int
		for {
			c, err := ch.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(c.lines) == 0 || len(c.lines) > maxLines || (len(c.lines) > 1 && len(c.body) > maxBytes) {
				t.Fatalf("chunk of %d lines, %d bytes; bounds %d, %d", len(c.lines), len(c.body), maxLines, maxBytes)
			}
			got = append(got, bytes.Split(bytes.TrimSuffix(c.body, []byte("\n")), []byte("\n"))...)
			gotNo = append(gotNo, c.lines...)
		}
		if fmt.Sprint(gotNo) != fmt.Sprint(wantNo) || !bytes.Equal(bytes.Join(got, nil), bytes.Join(want, nil)) {
			t.Fatalf("lines %v %q, want %v %q", gotNo, got, wantNo, want)
		}
	})
}
