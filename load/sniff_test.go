package load_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/hce-fhir/hce/load"
)

func TestSniff(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  load.Kind
		err   string // substring of the error; "" when none
	}{
		{"transaction", `{"resourceType":"Bundle","type":"transaction","entry":[]}`, load.Transaction, ""},
		{"batch", `{"resourceType":"Bundle","type":"batch"}`, load.Batch, ""},
		{"type before resourceType", `{"type":"batch","resourceType":"Bundle"}`, load.Batch, ""},
		{"type after large entry", `{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Patient","type":"x","n":[1e999,{"a":[]}]}}],"type":"transaction"}`, load.Transaction, ""},
		{"pretty bundle", "\n\n  {\n  \"resourceType\" : \"Bundle\",\n  \"type\" : \"batch\"\n}\n", load.Batch, ""},
		{"byte order mark", "\xef\xbb\xbf{\"resourceType\":\"Bundle\",\"type\":\"batch\"}", load.Batch, ""},
		{"ndjson", "{\"resourceType\":\"Patient\",\"id\":\"a\"}\n{\"resourceType\":\"Patient\",\"id\":\"b\"}\n", load.NDJSON, ""},
		{"ndjson crlf", "{\"resourceType\":\"Patient\"}\r\n{\"resourceType\":\"Patient\"}\r\n", load.NDJSON, ""},
		{"ndjson one line no newline", `{"resourceType":"Observation","status":"final"}`, load.NDJSON, ""},
		{"ndjson after blank lines", "\n\n{\"resourceType\":\"Patient\"}\n", load.NDJSON, ""},
		{"ndjson resource with a type member", "{\"resourceType\":\"Account\",\"type\":{\"text\":\"x\"}}\n", load.NDJSON, ""},
		{"single pretty resource", "{\n\"resourceType\":\"Patient\"}", 0, "a single Patient resource spread over several lines"},
		{"collection", `{"resourceType":"Bundle","type":"collection"}`, 0, `a Bundle of type "collection"`},
		{"bundle without type", `{"resourceType":"Bundle","entry":[]}`, 0, "a Bundle without a type"},
		{"bundle type not a string", `{"resourceType":"Bundle","type":{"a":1}}`, 0, "a Bundle without a type"},
		{"no resourceType", `{"id":"x"}`, 0, "no resourceType"},
		{"resourceType not a string", `{"resourceType":["Bundle"]}`, 0, "resourceType is not a string"},
		{"array", `[]`, 0, "does not start with a JSON object"},
		{"empty", "  \n", 0, "the input is empty"},
		{"truncated", `{"resourceType":"Bundle","entry":[{`, 0, "the JSON ends early"},
		{"garbage", `{"resourceType" "Bundle"}`, 0, "invalid character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := load.Sniff(strings.NewReader(tt.input))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !errors.Is(err, load.ErrFormat) {
					t.Fatalf("Sniff = %v, %v; want an ErrFormat containing %q", got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Sniff = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

// readCounter counts the bytes Sniff reads, to show it stops early.
type readCounter struct {
	r *strings.Reader
	n int
}

func (c *readCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestSniffStopsEarly(t *testing.T) {
	big := string(testBundle("big", "transaction", 20000, -1))
	// Move type to the front, as Synthea writes it.
	big = strings.Replace(big, `"resourceType": "Bundle",`, `"resourceType": "Bundle", "type": "transaction",`, 1)
	c := &readCounter{r: strings.NewReader(big)}
	if k, err := load.Sniff(c); err != nil || k != load.Transaction {
		t.Fatalf("Sniff = %v, %v", k, err)
	}
	if c.n > 64<<10 || c.n >= len(big) {
		t.Errorf("Sniff read %d of %d bytes; want only the head", c.n, len(big))
	}
}

// FuzzSniff checks that Sniff never panics and that what it calls NDJSON
// starts with a one-line JSON object that is a resource other than a Bundle,
// and what it calls a Bundle is one.
func FuzzSniff(f *testing.F) {
	for _, s := range []string{
		`{"resourceType":"Bundle","type":"transaction"}`,
		"{\"resourceType\":\"Patient\"}\n{\"resourceType\":\"Patient\"}\n",
		"\xef\xbb\xbf {\"type\":\"batch\",\"resourceType\":\"Bundle\"}",
		"{\n\"resourceType\":\"Patient\"}",
		`{"resourceType":"Bundle","entry":[{"a":[1,2,{"b":null}]}],"type":"batch"}`,
		`[{"resourceType":"Bundle"}]`,
		"\x1f\x8b\x08",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		kind, err := load.Sniff(bytes.NewReader(data))
		if err != nil {
			if kind != 0 {
				t.Fatalf("kind %v with error %v", kind, err)
			}
			return
		}
		body := bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
		dec := json.NewDecoder(bytes.NewReader(body))
		var first struct {
			ResourceType *string `json:"resourceType"`
		}
		// The first value must at least start as an object with a string
		// resourceType; a later syntax error is the server's to report.
		switch kind {
		case load.NDJSON:
			line, _, _ := bufio.NewReader(bytes.NewReader(bytes.TrimLeft(body, " \t\r\n"))).ReadLine()
			if err := json.NewDecoder(bytes.NewReader(line)).Decode(&first); err != nil {
				t.Fatalf("NDJSON whose first line %q is not a JSON object: %v", line, err)
			}
			if first.ResourceType == nil || *first.ResourceType == "Bundle" {
				t.Fatalf("NDJSON whose first line %q is not a resource other than Bundle", line)
			}
		case load.Batch, load.Transaction:
			if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
				t.Fatalf("%v that does not start with an object: %v %v", kind, tok, err)
			}
		default:
			t.Fatalf("unknown kind %d", kind)
		}
	})
}
