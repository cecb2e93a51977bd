package search

import "testing"

func TestNormalizeString(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", ""},
		{"eve", "eve"},
		{"EVE", "eve"},
		{"Muñoz", "munoz"},
		{"MUÑOZ", "munoz"},
		{"São Paulo", "sao paulo"},
		{"Ærøskøbing", "ærøskøbing"}, // ø and æ are letters, not accented ones
		{"Ｅｖｅ", "eve"},               // full-width
		{"ﬁnn", "finn"},              // ligature
		{"Ἀθῆναι", "αθηναι"},
		{"Zoë-Åsa O'Brien", "zoe-asa o'brien"},
		{"한국어", "한국어"}, // Hangul decomposes into jamo and must compose back
	} {
		t.Run(tt.in, func(t *testing.T) {
			if got := NormalizeString(tt.in); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if got := NormalizeString(NormalizeString(tt.in)); got != NormalizeString(tt.in) {
				t.Errorf("not idempotent: %q", got)
			}
		})
	}
}
