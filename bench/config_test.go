package bench

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestParseClients(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []int
	}{
		{"1,16", []int{1, 16}},
		{"16", []int{16}},
		{" 1 , 4 ,16", []int{1, 4, 16}},
		{"256", []int{256}},
		{"", nil},
		{"0", nil},
		{"257", nil},
		{"-1", nil},
		{"1,,16", nil},
		{"1,1", nil},
		{"1;16", nil},
		{"1e3", nil},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseClients(tc.in)
			if !slices.Equal(got, tc.want) || (err == nil) != (tc.want != nil) {
				t.Errorf("ParseClients(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
}

// FuzzParseClients: what ParseClients accepts is a list of distinct
// numbers in range that prints back to the same list.
func FuzzParseClients(f *testing.F) {
	for _, s := range []string{"1,16", "1", " 2 ,3", "0", "1,1", "999999999999999999999", "+4", "1,\t16"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseClients(s)
		if err != nil {
			return
		}
		if len(got) == 0 {
			t.Fatalf("ParseClients(%q) accepted an empty list", s)
		}
		seen := map[int]bool{}
		parts := make([]string, len(got))
		for i, n := range got {
			if n < 1 || n > MaxClients || seen[n] {
				t.Fatalf("ParseClients(%q) = %v", s, got)
			}
			seen[n] = true
			parts[i] = strconv.Itoa(n)
		}
		again, err := ParseClients(strings.Join(parts, ","))
		if err != nil || !slices.Equal(again, got) {
			t.Fatalf("ParseClients(%q) = %v, which does not round-trip: %v, %v", s, got, again, err)
		}
	})
}

func TestPatternsAreNamedOnce(t *testing.T) {
	seen := map[string]bool{}
	for _, p := range Patterns() {
		if p.Name == "" || seen[p.Name] || p.Build == nil {
			t.Errorf("pattern %q: empty, repeated or without Build", p.Name)
		}
		seen[p.Name] = true
	}
	if len(seen) < 30 {
		t.Errorf("%d patterns, want at least 30", len(seen))
	}
}
