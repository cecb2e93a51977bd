package deploy

import (
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
)

// TestLint runs `helm lint` on the chart for every value set and fails on
// warnings as well as errors, as `helm lint --strict` does (an informational
// note, such as a missing icon, is allowed).
func TestLint(t *testing.T) {
	for _, tc := range chartCases {
		t.Run(tc.name, func(t *testing.T) {
			vals := tc.values
			if vals == nil {
				vals = map[string]any{}
			}
			l := lint.AllWithKubeVersion(chartDir, vals, namespace, kubeVersion)
			// helm lint renders leniently; strict rendering also fails on a
			// reference to a value that does not exist (a misspelt
			// .Values path would otherwise render as empty).
			c := loadChart(t)
			rv, err := chartutil.ToRenderValues(c, vals, chartutil.ReleaseOptions{Name: releaseName, Namespace: namespace, IsInstall: true}, chartutil.DefaultCapabilities)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := (engine.Engine{Strict: true}).Render(c, rv); err != nil {
				t.Errorf("strict rendering: %v", err)
			}
			for _, m := range l.Messages {
				if m.Severity >= support.WarningSev {
					t.Errorf("%s", m.Error())
				} else {
					t.Logf("%s", m.Error())
				}
			}
		})
	}
}

// TestSchemaRejects checks that values.schema.json turns away mistakes at
// install time instead of rendering a broken cluster.
func TestSchemaRejects(t *testing.T) {
	for _, tc := range []struct {
		name   string
		values map[string]any
		want   string // part of the error
	}{
		{"no workers", map[string]any{"workers": map[string]any{"replicas": 0}}, "replicas"},
		{"workers as text", map[string]any{"workers": map[string]any{"replicas": "two"}}, "replicas"},
		{"misspelt key", map[string]any{"workers": map[string]any{"replica": 3}}, "replica"},
		{"unknown top-level key", map[string]any{"postgresql": map[string]any{"enabled": true}}, "postgresql"},
		{"anti-affinity mode", map[string]any{"server": map[string]any{"antiAffinity": "medium"}}, "antiAffinity"},
		{"auth method", map[string]any{"database": map[string]any{"hostAuthMethod": "password"}}, "hostAuthMethod"},
		{"service port", map[string]any{"server": map[string]any{"service": map[string]any{"port": 70000}}}, "port"},
		{"volume size", map[string]any{"workers": map[string]any{"persistence": map[string]any{"size": "lots"}}}, "size"},
		{"database name", map[string]any{"auth": map[string]any{"database": "hce; drop"}}, "database"},
		{"wait duration", map[string]any{"registration": map[string]any{"wait": "five minutes"}}, "wait"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := installDryRun(t, tc.values)
			if err == nil {
				t.Fatalf("values %v were accepted", tc.values)
			}
			if !strings.Contains(err.Error(), "schema") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error does not name the schema and %q: %v", tc.want, err)
			}
		})
	}
}
