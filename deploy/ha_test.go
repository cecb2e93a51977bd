package deploy

import (
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// productionValues reads helm/values-production.yaml.
func productionValues(t *testing.T) map[string]any {
	t.Helper()
	v, err := chartutil.ReadValuesFile(chartDir + "/values-production.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// haCase is a value set with ha.enabled and its shape.
type haCase struct {
	name     string
	values   func(*testing.T) map[string]any
	groups   int // worker groups
	replicas int // pods per group
	sync     bool
}

var haCases = []haCase{
	{"values-production.yaml", productionValues, 2, 2, true},
	{"three groups of three, asynchronous", func(*testing.T) map[string]any {
		return map[string]any{"ha": map[string]any{"enabled": true, "workerGroups": 3, "replicas": 3, "synchronousMode": false}}
	}, 3, 3, false},
}

// TestChartHA renders the chart with ha.enabled and checks what failover
// relies on: every Citus group is a Patroni StatefulSet of at least two pods
// in Citus mode, spread over nodes, with a disruption budget of its own and
// a leader Service; Patroni may keep its state in Kubernetes; HCE connects
// to the coordinator group's leader; the images are the repository's.
func TestChartHA(t *testing.T) {
	for _, tc := range haCases {
		t.Run(tc.name, func(t *testing.T) {
			vals := tc.values(t)
			r := render(t, vals)
			lintValues(t, vals)
			sets := patroniSets(r)
			if len(sets) != tc.groups+1 {
				t.Fatalf("%d Patroni StatefulSets, want %d groups (coordinator and %d worker groups)", len(sets), tc.groups+1, tc.groups)
			}
			for _, sts := range objects[*appsv1.StatefulSet](r) {
				if sts.Spec.Template.Labels["cluster-name"] == "" {
					t.Errorf("StatefulSet %s is not a Patroni group: with HA every Citus node runs Patroni", sts.Name)
				}
			}
			for g, sts := range sets {
				checkPatroniGroup(t, r, sts, g, tc)
			}
			checkPatroniRBAC(t, r, sets)
			checkPatroniConfig(t, r, tc)
			checkHADatabaseURL(t, r, sets[0])
			for _, m := range r.manifests {
				if m.hook != nil && m.gvk.Kind == "Job" && strings.HasSuffix(m.name(), "-register") {
					t.Errorf("the registration Job runs with HA; Patroni registers the groups' primaries")
				}
			}
			rec := one[*appsv1.Deployment](t, r, "-reconcile").Spec.Template.Spec.Containers[0]
			if !slices.Contains(rec.Args, "--reconcile-follow") || slices.Contains(rec.Args, "--workers-srv") {
				t.Errorf("reconcile args %q: with HA it follows Patroni's registrations", rec.Args)
			}
		})
	}
	t.Run("off", func(t *testing.T) {
		r := render(t, nil)
		if n := len(patroniSets(r)); n != 0 {
			t.Errorf("%d Patroni StatefulSets without ha.enabled", n)
		}
		if n := len(objects[*rbacv1.Role](r)); n != 0 {
			t.Errorf("%d Roles without ha.enabled: nothing talks to the Kubernetes API", n)
		}
		rec := one[*appsv1.Deployment](t, r, "-reconcile").Spec.Template.Spec.Containers[0]
		i := slices.Index(rec.Args, "--workers-srv")
		if i < 0 || rec.Args[i+1] != "_postgres._tcp.demo-hce-worker.hce.svc.cluster.local" {
			t.Errorf("reconcile args %q, want the SRV name of the worker headless Service", rec.Args)
		}
		svc := one[*corev1.Service](t, r, "-worker")
		if len(svc.Spec.Ports) == 0 || svc.Spec.Ports[0].Name != "postgres" || svc.Spec.ClusterIP != corev1.ClusterIPNone {
			t.Errorf("worker Service %+v: the SRV name needs a headless Service with a port named postgres", svc.Spec)
		}
	})
}

// lintValues runs helm lint with vals and fails on warnings.
func lintValues(t *testing.T, vals map[string]any) {
	t.Helper()
	l := lint.AllWithKubeVersion(chartDir, vals, namespace, kubeVersion)
	for _, m := range l.Messages {
		if m.Severity >= support.WarningSev {
			t.Errorf("lint: %s", m.Error())
		}
	}
}

// patroniSets returns the Patroni StatefulSets by Citus group.
func patroniSets(r *rendering) map[int]*appsv1.StatefulSet {
	out := map[int]*appsv1.StatefulSet{}
	for _, sts := range objects[*appsv1.StatefulSet](r) {
		if g, err := strconv.Atoi(sts.Spec.Template.Labels["citus-group"]); err == nil {
			out[g] = sts
		}
	}
	return out
}

func checkPatroniGroup(t *testing.T, r *rendering, sts *appsv1.StatefulSet, g int, tc haCase) {
	t.Helper()
	if sts.Spec.Replicas == nil || int(*sts.Spec.Replicas) != tc.replicas || *sts.Spec.Replicas < 2 {
		t.Errorf("%s: replicas %v, want %d (a primary and at least one standby)", sts.Name, sts.Spec.Replicas, tc.replicas)
	}
	pod := sts.Spec.Template
	if !selects(t, sts.Spec.Selector, pod.Labels) {
		t.Errorf("%s: selector does not select its pods", sts.Name)
	}
	c := pod.Spec.Containers[0]
	if c.Image != "ghcr.io/hce-fhir/hce-patroni:"+loadChart(t).Metadata.AppVersion {
		t.Errorf("%s: image %s, want the repository's Patroni image (deploy/patroni/Dockerfile)", sts.Name, c.Image)
	}
	if e, _ := envVar(c, "PATRONI_CITUS_GROUP"); e.Value != strconv.Itoa(g) {
		t.Errorf("%s: PATRONI_CITUS_GROUP %q, want %d", sts.Name, e.Value, g)
	}
	for _, name := range []string{"PATRONI_SUPERUSER_PASSWORD", "PATRONI_REPLICATION_PASSWORD", "PGPASSWORD"} {
		if e, ok := envVar(c, name); !ok || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
			t.Errorf("%s: %s not read from the Secret", sts.Name, name)
		}
	}
	if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil || c.ReadinessProbe.HTTPGet.Path != "/readiness" {
		t.Errorf("%s: readiness is not Patroni's /readiness", sts.Name)
	}
	if pod.Spec.AutomountServiceAccountToken == nil || !*pod.Spec.AutomountServiceAccountToken {
		t.Errorf("%s: Patroni needs the service account token for its Kubernetes store", sts.Name)
	}
	// Anti-affinity: the group's pods on different nodes.
	aff := pod.Spec.Affinity
	if aff == nil || aff.PodAntiAffinity == nil {
		t.Fatalf("%s: no anti-affinity", sts.Name)
	}
	var terms []corev1.PodAffinityTerm
	terms = append(terms, aff.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution...)
	for _, w := range aff.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
		terms = append(terms, w.PodAffinityTerm)
	}
	if len(terms) != 1 || terms[0].TopologyKey != "kubernetes.io/hostname" || !selects(t, terms[0].LabelSelector, pod.Labels) {
		t.Errorf("%s: anti-affinity %+v does not spread the group over nodes", sts.Name, terms)
	}
	// Exactly one disruption budget, selecting this group only, letting one pod go.
	n := 0
	for _, pdb := range objects[*policyv1.PodDisruptionBudget](r) {
		if !selects(t, pdb.Spec.Selector, pod.Labels) {
			continue
		}
		n++
		if pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() != 1 || pdb.Spec.MaxUnavailable.IntValue() >= tc.replicas {
			t.Errorf("PDB %s: maxUnavailable %v, want 1 of %d", pdb.Name, pdb.Spec.MaxUnavailable, tc.replicas)
		}
		for og, other := range patroniSets(r) {
			if og != g && selects(t, pdb.Spec.Selector, other.Spec.Template.Labels) {
				t.Errorf("PDB %s selects the pods of group %d too", pdb.Name, og)
			}
		}
	}
	if n != 1 {
		t.Errorf("%s: %d disruption budgets, want 1", sts.Name, n)
	}
	// A headless Service for stable names, a leader Service for the primary.
	var leader *corev1.Service
	for _, svc := range objects[*corev1.Service](r) {
		if svc.Name == sts.Name+"-primary" {
			leader = svc
		}
	}
	if leader == nil {
		t.Fatalf("%s: no leader Service %s-primary", sts.Name, sts.Name)
	}
	primary := map[string]string{"role": "primary"}
	for k, v := range pod.Labels {
		primary[k] = v
	}
	if leader.Spec.Selector["role"] != "primary" || !selects(t, &metav1.LabelSelector{MatchLabels: leader.Spec.Selector}, primary) {
		t.Errorf("leader Service %s selector %v does not select the group's primary", leader.Name, leader.Spec.Selector)
	}
	for og, other := range patroniSets(r) {
		if og == g {
			continue
		}
		o := map[string]string{"role": "primary"}
		for k, v := range other.Spec.Template.Labels {
			o[k] = v
		}
		if selects(t, &metav1.LabelSelector{MatchLabels: leader.Spec.Selector}, o) {
			t.Errorf("leader Service %s selects the primary of group %d too", leader.Name, og)
		}
	}
}

// checkPatroniRBAC checks that the Patroni pods' ServiceAccount may do what
// Patroni's Kubernetes store needs.
func checkPatroniRBAC(t *testing.T, r *rendering, sets map[int]*appsv1.StatefulSet) {
	t.Helper()
	role := one[*rbacv1.Role](t, r, "-patroni")
	binding := one[*rbacv1.RoleBinding](t, r, "-patroni")
	sa := sets[0].Spec.Template.Spec.ServiceAccountName
	for _, sts := range sets {
		if sts.Spec.Template.Spec.ServiceAccountName != sa {
			t.Errorf("%s runs as %s, group 0 as %s", sts.Name, sts.Spec.Template.Spec.ServiceAccountName, sa)
		}
	}
	if binding.RoleRef.Kind != "Role" || binding.RoleRef.Name != role.Name ||
		!slices.ContainsFunc(binding.Subjects, func(s rbacv1.Subject) bool { return s.Kind == "ServiceAccount" && s.Name == sa }) {
		t.Errorf("RoleBinding %+v does not bind %s to %s", binding, role.Name, sa)
	}
	if len(objects[*corev1.ServiceAccount](r)) < 2 {
		t.Errorf("the Patroni ServiceAccount %s is not rendered", sa)
	}
	allowed := func(resource, verb string) bool {
		for _, rule := range role.Rules {
			if slices.Contains(rule.APIGroups, "") && slices.Contains(rule.Resources, resource) && slices.Contains(rule.Verbs, verb) {
				return true
			}
		}
		return false
	}
	for res, verbs := range map[string][]string{
		"configmaps": {"create", "get", "list", "patch", "update", "watch", "delete"},
		"endpoints":  {"create", "get", "list", "patch", "update", "watch", "delete"},
		"pods":       {"get", "list", "patch", "update", "watch"},
		"services":   {"create"},
	} {
		for _, v := range verbs {
			if !allowed(res, v) {
				t.Errorf("Role %s does not allow %s %s", role.Name, v, res)
			}
		}
	}
}

// checkPatroniConfig checks Patroni's configuration: Citus mode on the
// FHIR database, Kubernetes as the store with the labels the Services
// select, synchronous replication as asked.
func checkPatroniConfig(t *testing.T, r *rendering, tc haCase) {
	t.Helper()
	cm := one[*corev1.ConfigMap](t, r, "-patroni")
	var cfg struct {
		Scope      string
		Kubernetes struct {
			UseEndpoints     bool   `json:"use_endpoints"`
			ScopeLabel       string `json:"scope_label"`
			RoleLabel        string `json:"role_label"`
			LeaderLabelValue string `json:"leader_label_value"`
		}
		Citus     struct{ Database string }
		Bootstrap struct {
			DCS struct {
				SynchronousMode bool `json:"synchronous_mode"`
			}
		}
		PostgreSQL struct {
			DataDir string `json:"data_dir"`
		}
	}
	if err := yaml.Unmarshal([]byte(cm.Data["patroni.yml"]), &cfg); err != nil {
		t.Fatalf("patroni.yml: %v\n%s", err, cm.Data["patroni.yml"])
	}
	if cfg.Citus.Database != "hce" || cfg.Scope != "demo-hce" {
		t.Errorf("citus.database %q, scope %q", cfg.Citus.Database, cfg.Scope)
	}
	if cfg.Kubernetes.ScopeLabel != "cluster-name" || cfg.Kubernetes.RoleLabel != "role" || cfg.Kubernetes.LeaderLabelValue != "primary" {
		t.Errorf("kubernetes labels %+v, want cluster-name and role=primary (what the Services select)", cfg.Kubernetes)
	}
	if cfg.Bootstrap.DCS.SynchronousMode != tc.sync {
		t.Errorf("synchronous_mode %t, want %t", cfg.Bootstrap.DCS.SynchronousMode, tc.sync)
	}
	if !strings.HasPrefix(cfg.PostgreSQL.DataDir, "/var/lib/postgresql/data/") {
		t.Errorf("data_dir %q is not on the volume", cfg.PostgreSQL.DataDir)
	}
}

// checkHADatabaseURL checks that every HCE container names the coordinator
// group's leader Service, read-write only.
func checkHADatabaseURL(t *testing.T, r *rendering, coordinator *appsv1.StatefulSet) {
	t.Helper()
	want := coordinator.Name + "-primary." + namespace + ".svc.cluster.local"
	n := 0
	for key, pod := range podSpecs(r) {
		for _, c := range allContainers(&pod.Spec) {
			e, ok := envVar(c, "HCE_DATABASE_URL")
			if !ok {
				continue
			}
			n++
			u, err := url.Parse(e.Value)
			if err != nil {
				t.Fatalf("%s: %v", key, err)
			}
			if u.Hostname() != want || u.Query().Get("target_session_attrs") != "read-write" {
				t.Errorf("%s/%s: database %s, want %s with target_session_attrs=read-write", key, c.Name, e.Value, want)
			}
		}
	}
	if n < 3 {
		t.Errorf("only %d containers connect to the database", n)
	}
}

// TestPatroniDockerfile checks the HA database image: the official Citus
// image on PostgreSQL 15 or 16 plus a pinned Patroni ≥ 3.0 with its
// Kubernetes and etcd stores, run as the postgres user.
func TestPatroniDockerfile(t *testing.T) {
	stages := parseDockerfile(t, "patroni/Dockerfile")
	if len(stages) != 2 {
		t.Fatalf("%d stages, want one", len(stages)-1)
	}
	var citus string
	for _, a := range stages[0].all("ARG") {
		if v, ok := strings.CutPrefix(a, "CITUS_IMAGE="); ok {
			citus = v
		}
	}
	vals, err := chartutil.ReadValuesFile(chartDir + "/values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	img, _ := vals.Table("database.image")
	if want := img["repository"].(string) + ":" + img["tag"].(string); citus != want || !(strings.HasSuffix(citus, "-pg15") || strings.HasSuffix(citus, "-pg16")) {
		t.Errorf("base %q, want the chart's Citus image %s (PostgreSQL 15 or 16)", citus, want)
	}
	var patroni string
	for _, a := range stages[1].all("ARG") {
		if v, ok := strings.CutPrefix(a, "PATRONI_VERSION="); ok {
			patroni = v
		}
	}
	if major, _, _ := strings.Cut(patroni, "."); major < "3" || len(strings.Split(patroni, ".")) != 3 {
		t.Errorf("PATRONI_VERSION %q, want a pinned 3.x or later", patroni)
	}
	run := strings.Join(stages[1].all("RUN"), " ")
	if !strings.Contains(run, `"patroni[kubernetes,etcd3]==${PATRONI_VERSION}"`) {
		t.Errorf("RUN %q does not install patroni with the kubernetes and etcd3 extras at the pinned version", run)
	}
	if u := stages[1].all("USER"); len(u) == 0 || u[len(u)-1] != "999:999" {
		t.Errorf("runs as %v, want 999:999 (the image's postgres user, the chart's runAsUser)", u)
	}
	if ep := stages[1].all("ENTRYPOINT"); len(ep) != 1 || ep[0] != `["patroni"]` {
		t.Errorf("ENTRYPOINT %v, want patroni", ep)
	}
	mk, err := os.ReadFile("../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(mk), "docker build -t $(IMAGE)-patroni:$(IMAGE_TAG) deploy/patroni") {
		t.Error("make image-patroni does not build $(IMAGE)-patroni:$(IMAGE_TAG), the chart's ha.image")
	}
	ha, _ := vals.Table("ha.image")
	if ha["repository"] != "ghcr.io/hce-fhir/hce-patroni" || ha["tag"] != "" {
		t.Errorf("ha.image %v, want ghcr.io/hce-fhir/hce-patroni at the appVersion", ha)
	}
}

// TestGrafanaDashboard checks that grafana.dashboard.enabled ships the
// repository's dashboard as a ConfigMap with the label Grafana's sidecar
// selects, and that it is off by default.
func TestGrafanaDashboard(t *testing.T) {
	want, err := os.ReadFile(chartDir + "/dashboards/hce.json")
	if err != nil {
		t.Fatal(err)
	}
	r := render(t, map[string]any{"grafana": map[string]any{"dashboard": map[string]any{"enabled": true,
		"annotations": map[string]any{"grafana_folder": "HCE"}}}})
	cm := one[*corev1.ConfigMap](t, r, "-dashboard")
	if cm.Labels["grafana_dashboard"] != "1" || cm.Annotations["grafana_folder"] != "HCE" {
		t.Errorf("labels %v annotations %v, want grafana_dashboard=1 and the folder", cm.Labels, cm.Annotations)
	}
	if strings.TrimSpace(cm.Data["hce.json"]) != strings.TrimSpace(string(want)) {
		t.Error("the ConfigMap's hce.json is not helm/dashboards/hce.json")
	}
	for _, m := range render(t, nil).manifests {
		if strings.HasSuffix(m.name(), "-dashboard") {
			t.Error("the dashboard ConfigMap is rendered by default")
		}
	}
}

// TestNetworkPolicyHA checks that with HA and network policies the members
// of the database reach each other's Patroni API, and nothing else does.
func TestNetworkPolicyHA(t *testing.T) {
	r := render(t, productionValues(t))
	pols := objects[*networkingv1.NetworkPolicy](r)
	for _, component := range []string{"coordinator", "worker"} {
		found := false
		for _, p := range pols {
			if p.Spec.PodSelector.MatchLabels["app.kubernetes.io/component"] != component {
				continue
			}
			for _, rule := range p.Spec.Ingress {
				for _, port := range rule.Ports {
					if port.Port == nil || port.Port.StrVal != "patroni" {
						continue
					}
					found = true
					for _, from := range rule.From {
						for _, e := range from.PodSelector.MatchExpressions {
							if !slices.Equal(e.Values, []string{"coordinator", "worker"}) {
								t.Errorf("%s: the Patroni API is open to %v", p.Name, e.Values)
							}
						}
					}
				}
			}
		}
		if !found {
			t.Errorf("no policy lets the %s pods' Patroni API be reached", component)
		}
	}
}
