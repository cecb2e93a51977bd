package deploy

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// generatedSecret matches the random password in the chart's Secret.
var generatedSecret = regexp.MustCompile(`(postgres-password: )"[A-Za-z0-9+/=]+"`)

// generatedKey matches the random signing key in the chart's token key Secret.
var generatedKey = regexp.MustCompile(`(token-key.pem: )"[A-Za-z0-9+/=]+"`)

// TestGoldenDefaults compares the rendering of the default values with
// testdata/defaults.golden.yaml, so that a review shows every change a chart
// edit makes to what is installed. Run with -update after an intended change.
func TestGoldenDefaults(t *testing.T) {
	r := render(t, nil)
	var b bytes.Buffer
	b.WriteString("# helm template demo ./helm --namespace hce (hooks after the release manifest)\n")
	b.WriteString(r.release.Manifest)
	for _, h := range r.release.Hooks {
		b.WriteString("\n---\n# Source: " + h.Path + "\n")
		b.WriteString(h.Manifest)
	}
	b.WriteString("\n")
	got := generatedSecret.ReplaceAll(b.Bytes(), []byte(`${1}"<random, 32 characters>"`))
	got = generatedKey.ReplaceAll(got, []byte(`${1}"<random EC P-256 key>"`))
	if bytes.Equal(got, b.Bytes()) {
		t.Fatal("the generated password was not found in the rendering")
	}
	path := filepath.Join("testdata", "defaults.golden.yaml")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./deploy/ -run TestGoldenDefaults -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("rendering of the defaults differs from %s; run with -update if the change is intended.\n%s", path, firstDiff(string(want), string(got)))
	}
}

// firstDiff shows the first differing line of two texts.
func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return "line " + strconv.Itoa(i+1) + ":\n- " + w + "\n+ " + g
		}
	}
	return ""
}
