package deploy

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/releaseutil"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"
)

const (
	chartDir    = "../helm"
	releaseName = "demo"
	namespace   = "hce"
)

// kubeVersion is the Kubernetes version the chart is rendered and linted
// for: a current release, within Chart.yaml's kubeVersion range.
var kubeVersion = &chartutil.KubeVersion{Version: "v1.33.0", Major: "1", Minor: "33"}

// strictCodecs decode into the typed Kubernetes objects and fail on unknown
// and duplicate fields, as the API server's strict field validation does.
var strictCodecs = serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict)

// manifest is one rendered Kubernetes object.
type manifest struct {
	source string        // chart-relative template path
	hook   *release.Hook // nil for an object installed with the release
	raw    string
	gvk    schema.GroupVersionKind
	obj    runtime.Object // typed; nil for ServiceMonitor
	sm     *serviceMonitor
}

// name is the object's metadata.name.
func (m *manifest) name() string {
	if m.sm != nil {
		return m.sm.Metadata.Name
	}
	acc, ok := m.obj.(interface{ GetName() string })
	if !ok {
		return ""
	}
	return acc.GetName()
}

// serviceMonitor is the part of the Prometheus Operator's ServiceMonitor
// the chart writes. Decoding is strict, so a field outside it fails.
type serviceMonitor struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string            `json:"name"`
		Namespace string            `json:"namespace"`
		Labels    map[string]string `json:"labels"`
	} `json:"metadata"`
	Spec struct {
		Selector struct {
			MatchLabels map[string]string `json:"matchLabels"`
		} `json:"selector"`
		Endpoints []struct {
			Port          string `json:"port"`
			Path          string `json:"path"`
			Interval      string `json:"interval"`
			ScrapeTimeout string `json:"scrapeTimeout"`
		} `json:"endpoints"`
	} `json:"spec"`
}

// rendering is the chart rendered for one value set, as `helm install
// --dry-run` would send it.
type rendering struct {
	release   *release.Release
	manifests []*manifest
}

func loadChart(t testing.TB) *chart.Chart {
	t.Helper()
	c, err := loader.Load(chartDir)
	if err != nil {
		t.Fatalf("load chart: %v", err)
	}
	return c
}

// installDryRun renders the chart through the Helm SDK's install action in
// client-only mode, the code path of `helm template` and `helm install
// --dry-run`: values are coalesced with values.yaml, checked against
// values.schema.json, and hooks are separated from the release manifest.
func installDryRun(t testing.TB, vals map[string]any) (*release.Release, error) {
	t.Helper()
	cfg := &action.Configuration{Log: func(string, ...any) {}}
	inst := action.NewInstall(cfg)
	inst.ClientOnly = true
	inst.DryRun = true
	inst.ReleaseName = releaseName
	inst.Namespace = namespace
	inst.KubeVersion = kubeVersion
	inst.APIVersions = chartutil.VersionSet{"monitoring.coreos.com/v1"}
	return inst.Run(loadChart(t), vals)
}

// render renders vals and decodes every object strictly.
func render(t testing.TB, vals map[string]any) *rendering {
	t.Helper()
	rel, err := installDryRun(t, vals)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	r := &rendering{release: rel}
	for _, doc := range splitManifests(rel.Manifest) {
		r.manifests = append(r.manifests, decodeManifest(t, doc, nil))
	}
	for _, h := range rel.Hooks {
		for _, doc := range splitManifests(h.Manifest) {
			r.manifests = append(r.manifests, decodeManifest(t, doc, h))
		}
	}
	if len(r.manifests) == 0 {
		t.Fatal("the chart rendered no objects")
	}
	return r
}

var sourceLine = regexp.MustCompile(`(?m)^# Source: (\S+)`)

// splitManifests returns the non-empty YAML documents of a rendered stream.
func splitManifests(s string) []string {
	var docs []string
	for _, doc := range releaseutil.SplitManifests(s) {
		if strings.TrimSpace(stripComments(doc)) != "" {
			docs = append(docs, doc)
		}
	}
	slices.Sort(docs)
	return docs
}

func stripComments(doc string) string {
	var b strings.Builder
	for line := range strings.Lines(doc) {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line)
		}
	}
	return b.String()
}

// decodeManifest decodes one document strictly into its typed object.
func decodeManifest(t testing.TB, doc string, hook *release.Hook) *manifest {
	t.Helper()
	m := &manifest{raw: doc, hook: hook}
	if s := sourceLine.FindStringSubmatch(doc); s != nil {
		m.source = s[1]
	}
	var tm struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
		t.Fatalf("%s: not YAML: %v\n%s", m.source, err, doc)
	}
	m.gvk = schema.FromAPIVersionAndKind(tm.APIVersion, tm.Kind)
	if m.gvk.Group == "monitoring.coreos.com" {
		m.sm = &serviceMonitor{}
		if err := yaml.UnmarshalStrict([]byte(doc), m.sm); err != nil {
			t.Fatalf("%s: %v\n%s", m.source, err, doc)
		}
		return m
	}
	obj, err := decodeStrict(doc)
	if err != nil {
		t.Fatalf("%s: %v\n%s", m.source, err, doc)
	}
	m.obj = obj
	return m
}

// decodeStrict decodes a Kubernetes object, failing on fields its type
// does not have.
func decodeStrict(doc string) (runtime.Object, error) {
	obj, _, err := strictCodecs.UniversalDeserializer().Decode([]byte(doc), nil, nil)
	if err != nil {
		return nil, fmt.Errorf("strict decode: %w", err)
	}
	return obj, nil
}

// objects returns the rendered objects of type T (hooks included).
func objects[T runtime.Object](r *rendering) []T {
	var out []T
	for _, m := range r.manifests {
		if o, ok := m.obj.(T); ok {
			out = append(out, o)
		}
	}
	return out
}

// one returns the only object of type T whose name ends with suffix.
func one[T interface {
	runtime.Object
	GetName() string
}](t testing.TB, r *rendering, suffix string) T {
	t.Helper()
	var found []T
	for _, o := range objects[T](r) {
		if strings.HasSuffix(o.GetName(), suffix) {
			found = append(found, o)
		}
	}
	if len(found) != 1 {
		var zero T
		t.Fatalf("want one %T named *%s, found %d", zero, suffix, len(found))
	}
	return found[0]
}

// manifestOf returns the manifest holding obj.
func (r *rendering) manifestOf(obj runtime.Object) *manifest {
	for _, m := range r.manifests {
		if m.obj == obj {
			return m
		}
	}
	return nil
}

// podSpecs returns every pod template and pod the chart renders, keyed by
// "Kind/name".
func podSpecs(r *rendering) map[string]*corev1.PodTemplateSpec {
	out := map[string]*corev1.PodTemplateSpec{}
	for _, m := range r.manifests {
		switch o := m.obj.(type) {
		case *appsv1.StatefulSet:
			out["StatefulSet/"+o.Name] = &o.Spec.Template
		case *appsv1.Deployment:
			out["Deployment/"+o.Name] = &o.Spec.Template
		case *batchv1.Job:
			out["Job/"+o.Name] = &o.Spec.Template
		case *corev1.Pod:
			out["Pod/"+o.Name] = &corev1.PodTemplateSpec{ObjectMeta: o.ObjectMeta, Spec: o.Spec}
		}
	}
	return out
}

// allContainers returns a pod's init and main containers.
func allContainers(spec *corev1.PodSpec) []corev1.Container {
	return append(slices.Clone(spec.InitContainers), spec.Containers...)
}

func envVar(c corev1.Container, name string) (corev1.EnvVar, bool) {
	for _, e := range c.Env {
		if e.Name == name {
			return e, true
		}
	}
	return corev1.EnvVar{}, false
}

// Kinds the chart may render; anything else is a mistake.
var knownKinds = map[string]bool{
	"Secret": true, "ServiceAccount": true, "Service": true, "StatefulSet": true,
	"Deployment": true, "Job": true, "Pod": true, "PodDisruptionBudget": true,
	"NetworkPolicy": true, "ServiceMonitor": true, "ConfigMap": true, "Role": true, "RoleBinding": true,
}
