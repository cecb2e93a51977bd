package store

import (
	"errors"
	"testing"

	"github.com/hce-fhir/hce/fhir"
)

// FuzzDecodeCursor feeds arbitrary _cursor values, which clients can edit,
// to the cursor decoder: it must never panic, reject what it cannot use as
// ErrInvalid, and round-trip what it encodes.
func FuzzDecodeCursor(f *testing.F) {
	f.Add(encodeCursor([]string{"2015-01-01 00:00:00+00"}, "abc"), 1)
	f.Add("", 0)
	f.Add("!!!", 2)
	f.Fuzz(func(t *testing.T, s string, n int) {
		if n < 0 || n > 8 {
			return
		}
		keys, id, err := decodeCursor(s, n)
		if err != nil {
			if !errors.Is(err, fhir.ErrInvalid) {
				t.Fatalf("error %v is not ErrInvalid", err)
			}
			return
		}
		if len(keys) != n || id == "" {
			t.Fatalf("decoded %d keys and id %q for n=%d", len(keys), id, n)
		}
		k2, id2, err := decodeCursor(encodeCursor(keys, id), n)
		if err != nil || id2 != id || len(k2) != n {
			t.Fatalf("round trip failed: %v", err)
		}
	})
}
