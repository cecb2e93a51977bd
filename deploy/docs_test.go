package deploy

import (
	"os"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chartutil"
)

// freeForm names the values whose content is passed through to Kubernetes
// as a whole (documented as one key).
var freeForm = []string{"resources", "podSecurityContext", "containerSecurityContext", "config", "nodeSelector", "labels"}

// valueKeys returns the dotted paths of values.yaml's leaves.
func valueKeys(prefix string, m map[string]any) []string {
	var keys []string
	for k, v := range m {
		path := k
		if prefix != "" {
			path = prefix + "." + k
		}
		sub, ok := v.(map[string]any)
		if !ok || len(sub) == 0 || slices.Contains(freeForm, k) {
			keys = append(keys, path)
			continue
		}
		keys = append(keys, valueKeys(path, sub)...)
	}
	slices.Sort(keys)
	return keys
}

// TestValuesDocumented checks that docs/deploy.md's values table has a row
// for every key of values.yaml, and no row for a key that does not exist.
func TestValuesDocumented(t *testing.T) {
	vals, err := chartutil.ReadValuesFile(chartDir + "/values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("../docs/deploy.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]bool{}
	inValues := false
	for line := range strings.Lines(string(doc)) {
		if strings.HasPrefix(line, "### ") {
			inValues = strings.TrimSpace(line) == "### Values"
		}
		if inValues && strings.HasPrefix(line, "| `") {
			key, _, _ := strings.Cut(strings.TrimPrefix(line, "| `"), "`")
			rows[key] = true
		}
	}
	keys := valueKeys("", vals)
	if len(keys) < 50 {
		t.Fatalf("found only %d keys in values.yaml", len(keys))
	}
	for _, k := range keys {
		if !rows[k] {
			t.Errorf("docs/deploy.md has no row for values key %s", k)
		}
		delete(rows, k)
	}
	for k := range rows {
		t.Errorf("docs/deploy.md documents %s, which values.yaml does not have", k)
	}
}
