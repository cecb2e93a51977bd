package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// readable matches the ends of a curl command that keep its output readable:
// piped through jq, cut with head -c, filtered with grep, or not printed.
var readable = regexp.MustCompile(`\| *jq\b|\| *head -c|\| *grep\b|\s-o\s|\s-w\s|\s-I\b|-o /dev/null`)

// TestExamplesReadable checks that every curl command in the shell examples
// of README.md and docs/*.md prints readable output: FHIR answers are one
// long line of JSON (the CapabilityStatement is hundreds of kilobytes).
func TestExamplesReadable(t *testing.T) {
	files, err := filepath.Glob("../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range append(files, "../README.md") {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		inSh := false
		var cmd strings.Builder
		for line := range strings.Lines(string(b)) {
			trim := strings.TrimSpace(line)
			switch {
			case strings.HasPrefix(trim, "```sh"):
				inSh = true
				continue
			case strings.HasPrefix(trim, "```"):
				inSh = false
				continue
			case !inSh:
				continue
			}
			if cmd.Len() > 0 || strings.HasPrefix(trim, "curl ") || strings.Contains(trim, "$(curl") {
				cmd.WriteString(strings.TrimSuffix(trim, "\\") + " ")
				if strings.HasSuffix(trim, "\\") {
					continue
				}
				c := cmd.String()
				cmd.Reset()
				if strings.Contains(c, "$(curl") {
					continue // captured, not printed
				}
				n++
				if code, _, _ := strings.Cut(c, " #"); !readable.MatchString(code) {
					t.Errorf("%s: %q prints raw output; pipe it through jq or head -c", filepath.Base(f), strings.TrimSpace(c))
				}
			}
		}
	}
	if n < 3 {
		t.Fatalf("found only %d curl examples", n)
	}
}
