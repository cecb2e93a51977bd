package deploy

import (
	"encoding/base64"
	"regexp"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/fake"
)

// generatedPassword returns the password of the chart's own Secret.
func generatedPassword(t *testing.T, r *rendering) string {
	t.Helper()
	s := one[*corev1.Secret](t, r, "-db")
	if s.Annotations["helm.sh/resource-policy"] != "keep" {
		t.Errorf("secret %s is deleted by helm uninstall, but the volumes holding its password are kept", s.Name)
	}
	pw, ok := s.Data["postgres-password"]
	if !ok {
		t.Fatalf("secret %s has no postgres-password", s.Name)
	}
	return string(pw)
}

// TestGeneratedPassword checks that a fresh install gets a strong random
// password that appears nowhere but in its Secret.
func TestGeneratedPassword(t *testing.T) {
	first := render(t, nil)
	pw := generatedPassword(t, first)
	if !regexp.MustCompile(`^[A-Za-z0-9]{32}$`).MatchString(pw) {
		t.Errorf("generated password %q is not 32 random letters and digits", pw)
	}
	second := generatedPassword(t, render(t, nil))
	if pw == second {
		t.Errorf("two installs got the same password %q: it is a fixed default", pw)
	}
	encoded := base64.StdEncoding.EncodeToString([]byte(pw))
	everything := first.release.Manifest + first.release.Info.Notes
	for _, h := range first.release.Hooks {
		everything += h.Manifest
	}
	if strings.Contains(everything, pw) {
		t.Errorf("the plaintext password appears in the rendered chart")
	}
	if n := strings.Count(everything, encoded); n != 1 {
		t.Errorf("the encoded password appears %d times, want once (the Secret)", n)
	}
	// The values that ship with the chart hold no password either.
	vals, err := chartutil.ReadValuesFile(chartDir + "/values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	auth, _ := vals["auth"].(map[string]any)
	for k := range auth {
		if strings.Contains(strings.ToLower(k), "password") && !strings.HasSuffix(k, "Key") {
			t.Errorf("values.yaml has a password value auth.%s", k)
		}
	}
}

// clusterWith serves lookup from an in-memory cluster holding objs, as
// Helm's engine does from the API server during an upgrade.
type clusterWith struct{ client *fake.FakeDynamicClient }

func (c clusterWith) GetClientFor(apiVersion, kind string) (dynamic.NamespaceableResourceInterface, bool, error) {
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return nil, false, err
	}
	return c.client.Resource(gv.WithResource(strings.ToLower(kind) + "s")), true, nil
}

// renderUpgrade renders the chart's templates as `helm upgrade` does, with
// vals and a cluster that holds objs for lookup.
func renderUpgrade(t *testing.T, vals map[string]any, objs ...runtime.Object) (map[string]string, error) {
	t.Helper()
	c := loadChart(t)
	if vals == nil {
		vals = map[string]any{}
	}
	rv, err := chartutil.ToRenderValues(c, vals, chartutil.ReleaseOptions{
		Name: releaseName, Namespace: namespace, IsUpgrade: true, Revision: 2,
	}, chartutil.DefaultCapabilities)
	if err != nil {
		t.Fatal(err)
	}
	s := runtime.NewScheme()
	if err := corev1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	if err := appsv1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	return engine.RenderWithClientProvider(c, rv, clusterWith{fake.NewSimpleDynamicClient(s, objs...)})
}

// TestPasswordKeptOnUpgrade renders the chart the way an upgrade does, with
// the install's Secret in the cluster: the password must not change, or the
// server would stop matching the one stored in the database volumes.
func TestPasswordKeptOnUpgrade(t *testing.T) {
	const installed = "pw-from-the-first-install-0123456789"
	for _, tc := range []struct {
		name    string
		objects []runtime.Object
		want    string // empty: a new random one
	}{
		{
			name: "secret exists",
			objects: []runtime.Object{&corev1.Secret{
				TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
				ObjectMeta: metav1.ObjectMeta{Name: "demo-hce-db", Namespace: namespace},
				Data:       map[string][]byte{"postgres-password": []byte(installed)},
			}},
			want: installed,
		},
		{
			name: "another release's secret",
			objects: []runtime.Object{&corev1.Secret{
				TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
				ObjectMeta: metav1.ObjectMeta{Name: "other-hce-db", Namespace: namespace},
				Data:       map[string][]byte{"postgres-password": []byte(installed)},
			}},
		},
		{name: "fresh cluster"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := renderUpgrade(t, nil, tc.objects...)
			if err != nil {
				t.Fatal(err)
			}
			obj, err := decodeStrict(out["hce/templates/secret.yaml"])
			if err != nil {
				t.Fatal(err)
			}
			got := string(obj.(*corev1.Secret).Data["postgres-password"])
			switch {
			case tc.want != "" && got != tc.want:
				t.Errorf("upgrade changed the password to %q, want %q", got, tc.want)
			case tc.want == "" && (got == installed || len(got) != 32):
				t.Errorf("password %q, want a new random one", got)
			}
		})
	}
}

// TestWorkerScaleDownGuard checks that an upgrade which would remove running
// workers (and the shards on them) is refused unless allowed explicitly.
func TestWorkerScaleDownGuard(t *testing.T) {
	running := func(n int32) runtime.Object {
		return &appsv1.StatefulSet{
			TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "StatefulSet"},
			ObjectMeta: metav1.ObjectMeta{Name: "demo-hce-worker", Namespace: namespace},
			Spec:       appsv1.StatefulSetSpec{Replicas: &n},
		}
	}
	workers := func(v map[string]any) map[string]any { return map[string]any{"workers": v} }
	for _, tc := range []struct {
		name    string
		vals    map[string]any
		cluster []runtime.Object
		refused bool
	}{
		{"first install", workers(map[string]any{"replicas": 2}), nil, false},
		{"same count", workers(map[string]any{"replicas": 4}), []runtime.Object{running(4)}, false},
		{"grow", workers(map[string]any{"replicas": 6}), []runtime.Object{running(4)}, false},
		{"shrink", workers(map[string]any{"replicas": 2}), []runtime.Object{running(4)}, true},
		{"shrink after draining", workers(map[string]any{"replicas": 2, "allowScaleDown": true}), []runtime.Object{running(4)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := renderUpgrade(t, tc.vals, tc.cluster...)
			if tc.refused {
				if err == nil || !strings.Contains(err.Error(), "fewer than the 4 workers running") || !strings.Contains(err.Error(), "allowScaleDown") {
					t.Fatalf("want the scale-down refused with a hint, got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			obj, err := decodeStrict(out["hce/templates/worker-statefulset.yaml"])
			if err != nil {
				t.Fatal(err)
			}
			want := tc.vals["workers"].(map[string]any)["replicas"].(int)
			if got := *obj.(*appsv1.StatefulSet).Spec.Replicas; int(got) != want {
				t.Errorf("replicas %d, want %d", got, want)
			}
		})
	}
}
