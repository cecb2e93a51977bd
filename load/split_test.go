package load

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// TestSplitBatch checks that the parts hold every entry once, in order,
// with the members before the entries repeated, and that malformed Bundles
// are errors.
func TestSplitBatch(t *testing.T) {
	var entries []string
	for i := range 7 {
		entries = append(entries, fmt.Sprintf(`{"resource":{"resourceType":"Patient","id":"p%d"}}`, i))
	}
	doc := `{"resourceType":"Bundle","id":"b1","type":"batch","entry":[` + strings.Join(entries, ",") + `],"total":7}`
	var got []string
	var firsts []int
	err := splitBatch(strings.NewReader(doc), 3, func(p batchPart) error {
		var b struct {
			ResourceType, ID, Type string
			Entry                  []struct{ Resource struct{ ID string } }
		}
		if err := json.Unmarshal(p.body, &b); err != nil {
			t.Fatalf("part is not JSON: %v\n%s", err, p.body)
		}
		if b.ResourceType != "Bundle" || b.Type != "batch" || b.ID != "b1" || len(b.Entry) != p.count {
			t.Errorf("part %s", p.body)
		}
		firsts = append(firsts, p.first)
		for _, e := range b.Entry {
			got = append(got, e.Resource.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "p0,p1,p2,p3,p4,p5,p6" || fmt.Sprint(firsts) != "[0 3 6]" {
		t.Errorf("entries %v, parts starting at %v", got, firsts)
	}
	for _, bad := range []string{``, `[]`, `{"entry":[{}`, `{"entry":{}}`, `{"entry":[1,]}`, `{"type":"batch"`} {
		if err := splitBatch(strings.NewReader(bad), 3, func(batchPart) error { return nil }); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// FuzzSplitBatch checks that splitting never panics and that, when it
// succeeds, every part is a JSON Bundle of at most n entries.
func FuzzSplitBatch(f *testing.F) {
	f.Add(`{"resourceType":"Bundle","type":"batch","entry":[{"resource":{}},{}]}`, 1)
	f.Add(`{"entry":[]}`, 2)
	f.Add(`{"id":"x","entry":[{"a":[1,2,{"b":null}]}],"meta":{}}`, 3)
	f.Fuzz(func(t *testing.T, doc string, n int) {
		n = 1 + abs(n)%5
		_ = splitBatch(strings.NewReader(doc), n, func(p batchPart) error {
			var b struct{ Entry []json.RawMessage }
			if err := json.Unmarshal(p.body, &b); err != nil {
				t.Fatalf("part is not JSON: %v\n%s", err, p.body)
			}
			if len(b.Entry) == 0 || len(b.Entry) > n || len(b.Entry) != p.count {
				t.Fatalf("part of %d entries, count %d, n %d", len(b.Entry), p.count, n)
			}
			return nil
		})
	})
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
