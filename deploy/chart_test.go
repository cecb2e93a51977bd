package deploy

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/release"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// chartCase is one value set and what its rendering must contain.
type chartCase struct {
	name         string
	values       map[string]any
	workers      int
	secretName   string
	secretKey    string
	antiAffinity string // soft or hard
	rebalance    bool
	registerHook bool // worker postStart registration
	netpol       bool
	netpolPeers  int // server ingress peers besides the test pod; 0: open
	monitor      bool
	storageClass string   // of the coordinator's claim; empty: cluster default
	dbArgs       []string // of the Citus containers
	maxCount     string   // HCE_MAX_COUNT from server.extraEnv; empty: unset
	monitorLabel string   // value of the ServiceMonitor's release label
}

var chartCases = []chartCase{
	{
		name:    "defaults",
		workers: 2, secretName: "demo-hce-db", secretKey: "postgres-password",
		antiAffinity: "soft", rebalance: true, registerHook: true,
	},
	{
		name:    "five workers",
		values:  map[string]any{"workers": map[string]any{"replicas": 5}},
		workers: 5, secretName: "demo-hce-db", secretKey: "postgres-password",
		antiAffinity: "soft", rebalance: true, registerHook: true,
	},
	{
		name: "existing secret",
		values: map[string]any{"auth": map[string]any{
			"existingSecret": "hce-credentials", "existingSecretPasswordKey": "password",
		}},
		workers: 2, secretName: "hce-credentials", secretKey: "password",
		antiAffinity: "soft", rebalance: true, registerHook: true,
	},
	{
		name:    "network policy",
		values:  map[string]any{"networkPolicy": map[string]any{"enabled": true}},
		workers: 2, secretName: "demo-hce-db", secretKey: "postgres-password",
		antiAffinity: "soft", rebalance: true, registerHook: true, netpol: true,
	},
	{
		name: "network policy with API peers",
		values: map[string]any{"networkPolicy": map[string]any{
			"enabled": true,
			"serverIngressFrom": []any{map[string]any{"namespaceSelector": map[string]any{
				"matchLabels": map[string]any{"kubernetes.io/metadata.name": "ingress-nginx"},
			}}},
		}},
		workers: 2, secretName: "demo-hce-db", secretKey: "postgres-password",
		antiAffinity: "soft", rebalance: true, registerHook: true, netpol: true, netpolPeers: 1,
	},
	{
		name: "service monitor",
		values: map[string]any{"serviceMonitor": map[string]any{
			"enabled": true, "labels": map[string]any{"release": "prometheus"},
		}},
		workers: 2, secretName: "demo-hce-db", secretKey: "postgres-password",
		antiAffinity: "soft", rebalance: true, registerHook: true, monitor: true, monitorLabel: "prometheus",
	},
	{
		name: "hard anti-affinity, no rebalance, tuned database",
		values: map[string]any{
			"coordinator":  map[string]any{"antiAffinity": "hard", "persistence": map[string]any{"storageClass": "fast-ssd"}},
			"workers":      map[string]any{"antiAffinity": "hard", "replicas": 3, "registerOnStart": false},
			"server":       map[string]any{"antiAffinity": "hard", "extraEnv": []any{map[string]any{"name": "HCE_MAX_COUNT", "value": "500"}}},
			"registration": map[string]any{"rebalance": false},
			"database":     map[string]any{"config": map[string]any{"max_connections": "300", "shared_buffers": "1GB"}},
		},
		workers: 3, secretName: "demo-hce-db", secretKey: "postgres-password",
		antiAffinity: "hard", rebalance: false, registerHook: false,
		storageClass: "fast-ssd", maxCount: "500",
		dbArgs: []string{"postgres", "-c", "max_connections=300", "-c", "shared_buffers=1GB"},
	},
	{
		name: "everything on",
		values: map[string]any{
			"workers":        map[string]any{"replicas": 4},
			"auth":           map[string]any{"existingSecret": "hce-credentials"},
			"networkPolicy":  map[string]any{"enabled": true},
			"serviceMonitor": map[string]any{"enabled": true},
		},
		workers: 4, secretName: "hce-credentials", secretKey: "postgres-password",
		antiAffinity: "soft", rebalance: true, registerHook: true, netpol: true, monitor: true,
	},
}

// TestChart renders every value set and checks the invariants a production
// install relies on.
func TestChart(t *testing.T) {
	for _, tc := range chartCases {
		t.Run(tc.name, func(t *testing.T) {
			r := render(t, tc.values)
			checks := []struct {
				name string
				fn   func(*testing.T, *rendering, chartCase)
			}{
				{"known kinds in the release namespace", checkKinds},
				{"statefulsets", checkStatefulSets},
				{"server", checkServer},
				{"probes", checkProbes},
				{"resources", checkResources},
				{"security", checkSecurity},
				{"images pinned", checkImages},
				{"anti-affinity", checkAntiAffinity},
				{"disruption budgets", checkPDBs},
				{"password from the secret", checkPasswordRefs},
				{"migration hook", checkMigrationHook},
				{"registration hook", checkRegistrationHook},
				{"worker self-registration", checkWorkerPostStart},
				{"helm test", checkHelmTest},
				{"network policy", checkNetworkPolicy},
				{"service monitor", checkServiceMonitor},
				{"notes", checkNotes},
			}
			for _, c := range checks {
				t.Run(c.name, func(t *testing.T) { c.fn(t, r, tc) })
			}
		})
	}
}

func checkKinds(t *testing.T, r *rendering, _ chartCase) {
	for _, m := range r.manifests {
		if !knownKinds[m.gvk.Kind] {
			t.Errorf("%s: unexpected kind %s", m.source, m.gvk)
		}
		ns := ""
		if m.sm != nil {
			ns = m.sm.Metadata.Namespace
		} else if acc, ok := m.obj.(metav1.Object); ok {
			ns = acc.GetNamespace()
		}
		if ns != namespace {
			t.Errorf("%s %s: namespace %q, want %q", m.gvk.Kind, m.name(), ns, namespace)
		}
	}
	// Jobs and the test pod run as hooks, never as part of the release.
	for _, m := range r.manifests {
		if (m.gvk.Kind == "Job" || m.gvk.Kind == "Pod") && m.hook == nil {
			t.Errorf("%s %s is not a hook", m.gvk.Kind, m.name())
		}
	}
}

// selects reports whether selector selects a pod with podLabels.
func selects(t *testing.T, selector *metav1.LabelSelector, podLabels map[string]string) bool {
	t.Helper()
	if selector == nil {
		return false
	}
	s, err := metav1.LabelSelectorAsSelector(selector)
	if err != nil {
		t.Fatalf("selector %v: %v", selector, err)
	}
	return !s.Empty() && s.Matches(labels.Set(podLabels))
}

func checkStatefulSets(t *testing.T, r *rendering, tc chartCase) {
	services := objects[*corev1.Service](r)
	for _, want := range []struct {
		suffix   string
		replicas int32
	}{{"-coordinator", 1}, {"-worker", int32(tc.workers)}} {
		sts := one[*appsv1.StatefulSet](t, r, want.suffix)
		if sts.Spec.Replicas == nil || *sts.Spec.Replicas != want.replicas {
			t.Errorf("%s: replicas %v, want %d", sts.Name, sts.Spec.Replicas, want.replicas)
		}
		if !selects(t, sts.Spec.Selector, sts.Spec.Template.Labels) {
			t.Errorf("%s: selector does not select its own pods", sts.Name)
		}
		// Storage: a claim template named like the data volume mount.
		if len(sts.Spec.VolumeClaimTemplates) != 1 {
			t.Fatalf("%s: %d volume claim templates, want 1", sts.Name, len(sts.Spec.VolumeClaimTemplates))
		}
		pvc := sts.Spec.VolumeClaimTemplates[0]
		if q, ok := pvc.Spec.Resources.Requests[corev1.ResourceStorage]; !ok || q.IsZero() {
			t.Errorf("%s: claim template without a storage request", sts.Name)
		}
		if len(pvc.Spec.AccessModes) == 0 {
			t.Errorf("%s: claim template without access modes", sts.Name)
		}
		mounted := false
		for _, vm := range sts.Spec.Template.Spec.Containers[0].VolumeMounts {
			if vm.Name == pvc.Name && vm.MountPath == "/var/lib/postgresql/data" {
				mounted = true
			}
		}
		if !mounted {
			t.Errorf("%s: claim %q is not mounted at the PostgreSQL data directory", sts.Name, pvc.Name)
		}
		pgdata, _ := envVar(sts.Spec.Template.Spec.Containers[0], "PGDATA")
		if !strings.HasPrefix(pgdata.Value, "/var/lib/postgresql/data/") {
			t.Errorf("%s: PGDATA %q is not a subdirectory of the volume", sts.Name, pgdata.Value)
		}
		// The governing Service is headless, selects these pods and
		// publishes them before they are ready.
		var svc *corev1.Service
		for _, s := range services {
			if s.Name == sts.Spec.ServiceName {
				svc = s
			}
		}
		if svc == nil {
			t.Fatalf("%s: serviceName %q is not rendered", sts.Name, sts.Spec.ServiceName)
		}
		if svc.Spec.ClusterIP != corev1.ClusterIPNone {
			t.Errorf("service %s: clusterIP %q, want None (headless)", svc.Name, svc.Spec.ClusterIP)
		}
		if !svc.Spec.PublishNotReadyAddresses {
			t.Errorf("service %s: not-ready pods are not published; a starting worker could not be reached", svc.Name)
		}
		if !selects(t, &metav1.LabelSelector{MatchLabels: svc.Spec.Selector}, sts.Spec.Template.Labels) {
			t.Errorf("service %s does not select the pods of %s", svc.Name, sts.Name)
		}
	}
	sc := one[*appsv1.StatefulSet](t, r, "-coordinator").Spec.VolumeClaimTemplates[0].Spec.StorageClassName
	if got := ptrString(sc); got != tc.storageClass {
		t.Errorf("coordinator storageClassName %q, want %q", got, tc.storageClass)
	}
	wantArgs := tc.dbArgs
	if wantArgs == nil {
		wantArgs = []string{"postgres"}
	}
	for _, sts := range objects[*appsv1.StatefulSet](r) {
		if args := sts.Spec.Template.Spec.Containers[0].Args; !slices.Equal(args, wantArgs) {
			t.Errorf("%s args %q, want %q", sts.Name, args, wantArgs)
		}
	}
}

func checkServer(t *testing.T, r *rendering, tc chartCase) {
	d := one[*appsv1.Deployment](t, r, "demo-hce")
	if !selects(t, d.Spec.Selector, d.Spec.Template.Labels) {
		t.Errorf("deployment selector does not select its own pods")
	}
	c := d.Spec.Template.Spec.Containers[0]
	if !slices.Equal(append(slices.Clone(c.Command), c.Args...), []string{"/hce", "serve"}) {
		t.Errorf("server runs %q %q, want /hce serve", c.Command, c.Args)
	}
	for name, want := range map[string]string{"HCE_MIGRATE": "false", "HCE_ADDR": "0.0.0.0:8080"} {
		if e, ok := envVar(c, name); !ok || e.Value != want {
			t.Errorf("server %s = %q, want %q", name, e.Value, want)
		}
	}
	checkDatabaseURL(t, "server", c)
	if e, _ := envVar(c, "HCE_MAX_COUNT"); e.Value != tc.maxCount {
		t.Errorf("server HCE_MAX_COUNT = %q, want %q (server.extraEnv)", e.Value, tc.maxCount)
	}
	svc := one[*corev1.Service](t, r, "demo-hce")
	if !selects(t, &metav1.LabelSelector{MatchLabels: svc.Spec.Selector}, d.Spec.Template.Labels) {
		t.Errorf("service %s does not select the server pods", svc.Name)
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Name != "http" || svc.Spec.Ports[0].TargetPort.StrVal != "http" {
		t.Fatalf("service ports %+v, want one named http targeting the http port", svc.Spec.Ports)
	}
	if !slices.ContainsFunc(c.Ports, func(p corev1.ContainerPort) bool { return p.Name == "http" && p.ContainerPort == 8080 }) {
		t.Errorf("server container has no port http=8080 (HCE_ADDR)")
	}
}

// checkDatabaseURL checks that a container reaches the coordinator's
// Service and gets the password only through PGPASSWORD.
func checkDatabaseURL(t *testing.T, who string, c corev1.Container) {
	t.Helper()
	e, ok := envVar(c, "HCE_DATABASE_URL")
	if !ok {
		t.Fatalf("%s: no HCE_DATABASE_URL", who)
	}
	u, err := url.Parse(e.Value)
	if err != nil {
		t.Fatalf("%s: HCE_DATABASE_URL: %v", who, err)
	}
	if want := "demo-hce-coordinator." + namespace + ".svc.cluster.local"; u.Hostname() != want || u.Port() != "5432" {
		t.Errorf("%s: database host %s, want %s:5432", who, u.Host, want)
	}
	if _, has := u.User.Password(); has {
		t.Errorf("%s: HCE_DATABASE_URL carries a password", who)
	}
	if u.Path != "/hce" || u.User.Username() != "postgres" {
		t.Errorf("%s: database %q user %q, want hce and postgres", who, u.Path, u.User.Username())
	}
	if _, ok := envVar(c, "PGPASSWORD"); !ok {
		t.Errorf("%s: no PGPASSWORD", who)
	}
}

func checkProbes(t *testing.T, r *rendering, _ chartCase) {
	for _, sts := range objects[*appsv1.StatefulSet](r) {
		c := sts.Spec.Template.Spec.Containers[0]
		if c.ReadinessProbe == nil || c.LivenessProbe == nil || c.StartupProbe == nil {
			t.Errorf("%s: want startup, readiness and liveness probes", sts.Name)
			continue
		}
		for _, p := range []*corev1.Probe{c.ReadinessProbe, c.StartupProbe} {
			if p.Exec == nil || !strings.Contains(strings.Join(p.Exec.Command, " "), "pg_isready") ||
				!strings.Contains(strings.Join(p.Exec.Command, " "), "-h 127.0.0.1") {
				t.Errorf("%s: readiness and startup must ask pg_isready over TCP, got %+v", sts.Name, p.ProbeHandler)
			}
		}
		if c.LivenessProbe.TCPSocket == nil || c.LivenessProbe.TCPSocket.Port.StrVal != "postgres" {
			t.Errorf("%s: liveness must be the open port (crash recovery rejects queries), got %+v", sts.Name, c.LivenessProbe.ProbeHandler)
		}
		if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || !strings.Contains(strings.Join(c.Lifecycle.PreStop.Exec.Command, " "), "-m fast") {
			t.Errorf("%s: no fast-shutdown preStop hook", sts.Name)
		}
	}
	d := one[*appsv1.Deployment](t, r, "demo-hce")
	c := d.Spec.Template.Spec.Containers[0]
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{{"readiness", c.ReadinessProbe, "/readyz"}, {"liveness", c.LivenessProbe, "/healthz"}, {"startup", c.StartupProbe, "/healthz"}} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("server: no HTTP %s probe", p.name)
			continue
		}
		if p.probe.HTTPGet.Path != p.path || p.probe.HTTPGet.Port.StrVal != "http" {
			t.Errorf("server %s probe GET %s on %s, want %s on http", p.name, p.probe.HTTPGet.Path, p.probe.HTTPGet.Port.String(), p.path)
		}
	}
}

func checkResources(t *testing.T, r *rendering, _ chartCase) {
	for key, pod := range podSpecs(r) {
		for _, c := range allContainers(&pod.Spec) {
			for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
				req, hasReq := c.Resources.Requests[res]
				lim, hasLim := c.Resources.Limits[res]
				if !hasReq || !hasLim {
					t.Errorf("%s/%s: %s request and limit both needed", key, c.Name, res)
					continue
				}
				if req.Cmp(lim) > 0 {
					t.Errorf("%s/%s: %s request %s above limit %s", key, c.Name, res, req.String(), lim.String())
				}
			}
		}
	}
}

func checkSecurity(t *testing.T, r *rendering, _ chartCase) {
	pods := podSpecs(r)
	if len(pods) < 5 {
		t.Fatalf("found %d pod specs, want coordinator, workers, server, two jobs and the test pod", len(pods))
	}
	for key, pod := range pods {
		spec := pod.Spec
		if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
			t.Errorf("%s: a service account token is mounted; nothing here uses the API", key)
		}
		podNonRoot := spec.SecurityContext != nil && spec.SecurityContext.RunAsNonRoot != nil && *spec.SecurityContext.RunAsNonRoot
		if spec.SecurityContext == nil || spec.SecurityContext.RunAsUser == nil || *spec.SecurityContext.RunAsUser == 0 {
			t.Errorf("%s: pod runs without a non-zero runAsUser", key)
		}
		if spec.SecurityContext == nil || spec.SecurityContext.SeccompProfile == nil || spec.SecurityContext.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("%s: no RuntimeDefault seccomp profile", key)
		}
		for _, c := range allContainers(&spec) {
			sc := c.SecurityContext
			if sc == nil {
				t.Errorf("%s/%s: no securityContext", key, c.Name)
				continue
			}
			if !podNonRoot && (sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot) {
				t.Errorf("%s/%s: runAsNonRoot not set", key, c.Name)
			}
			if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
				t.Errorf("%s/%s: root filesystem is writable", key, c.Name)
			}
			if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
				t.Errorf("%s/%s: privilege escalation allowed", key, c.Name)
			}
			if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
				t.Errorf("%s/%s: capabilities not dropped", key, c.Name)
			}
		}
	}
}

func checkImages(t *testing.T, r *rendering, _ chartCase) {
	for key, pod := range podSpecs(r) {
		for _, c := range allContainers(&pod.Spec) {
			i := strings.LastIndex(c.Image, ":")
			if i < 0 || strings.Contains(c.Image[i:], "/") || c.Image[i+1:] == "" || c.Image[i+1:] == "latest" {
				t.Errorf("%s/%s: image %q is not pinned to a tag", key, c.Name, c.Image)
			}
		}
	}
}

func checkAntiAffinity(t *testing.T, r *rendering, tc chartCase) {
	for key, pod := range podSpecs(r) {
		if strings.HasPrefix(key, "Job/") || strings.HasPrefix(key, "Pod/") || key == reconcileKey {
			continue
		}
		aff := pod.Spec.Affinity
		if aff == nil || aff.PodAntiAffinity == nil {
			t.Errorf("%s: no pod anti-affinity", key)
			continue
		}
		var terms []corev1.PodAffinityTerm
		if tc.antiAffinity == "hard" {
			terms = aff.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution
			if len(aff.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution) != 0 {
				t.Errorf("%s: hard anti-affinity also has preferred terms", key)
			}
		} else {
			for _, w := range aff.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
				terms = append(terms, w.PodAffinityTerm)
			}
			if len(aff.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution) != 0 {
				t.Errorf("%s: soft anti-affinity has required terms", key)
			}
		}
		if len(terms) != 1 {
			t.Fatalf("%s: %d %s anti-affinity terms, want 1", key, len(terms), tc.antiAffinity)
		}
		if terms[0].TopologyKey != "kubernetes.io/hostname" || !selects(t, terms[0].LabelSelector, pod.Labels) {
			t.Errorf("%s: anti-affinity does not spread its own pods over nodes: %+v", key, terms[0])
		}
	}
}

// reconcileKey is the reconcile loop's Deployment: one stateless pod that
// may restart anywhere, with neither anti-affinity nor a disruption budget.
const reconcileKey = "Deployment/demo-hce-reconcile"

func checkPDBs(t *testing.T, r *rendering, _ chartCase) {
	pdbs := objects[*policyv1.PodDisruptionBudget](r)
	for key, pod := range podSpecs(r) {
		if strings.HasPrefix(key, "Job/") || strings.HasPrefix(key, "Pod/") || key == reconcileKey {
			continue
		}
		n := 0
		for _, pdb := range pdbs {
			if selects(t, pdb.Spec.Selector, pod.Labels) {
				n++
				if pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() != 1 {
					t.Errorf("PDB %s: maxUnavailable %v, want 1", pdb.Name, pdb.Spec.MaxUnavailable)
				}
			}
		}
		if n != 1 {
			t.Errorf("%s: %d disruption budgets select its pods, want 1", key, n)
		}
	}
	if len(pdbs) != 3 {
		t.Errorf("%d disruption budgets, want 3", len(pdbs))
	}
}

func checkPasswordRefs(t *testing.T, r *rendering, tc chartCase) {
	var secrets []*corev1.Secret
	tokenKeys := 0
	for _, s := range objects[*corev1.Secret](r) {
		if strings.HasSuffix(s.Name, "-token-key") {
			tokenKeys++ // the server's own token signing key, checked below
			if _, ok := s.Data["token-key.pem"]; !ok && s.StringData["token-key.pem"] == "" {
				t.Errorf("secret %s has no token-key.pem", s.Name)
			}
			continue
		}
		secrets = append(secrets, s)
	}
	if tokenKeys != 1 {
		t.Errorf("%d token key secrets, want 1", tokenKeys)
	}
	if tc.secretName == "demo-hce-db" {
		if len(secrets) != 1 || secrets[0].Name != tc.secretName {
			t.Fatalf("want the generated secret %s, got %d secrets", tc.secretName, len(secrets))
		}
	} else if len(secrets) != 0 {
		t.Fatalf("existingSecret is set but the chart renders %d secrets", len(secrets))
	}
	refs := 0
	for key, pod := range podSpecs(r) {
		for _, c := range allContainers(&pod.Spec) {
			for _, e := range c.Env {
				if !strings.Contains(e.Name, "PASSWORD") {
					continue
				}
				if e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
					t.Errorf("%s/%s: %s is not read from a Secret", key, c.Name, e.Name)
					continue
				}
				ref := e.ValueFrom.SecretKeyRef
				if ref.Name != tc.secretName || ref.Key != tc.secretKey {
					t.Errorf("%s/%s: %s from %s/%s, want %s/%s", key, c.Name, e.Name, ref.Name, ref.Key, tc.secretName, tc.secretKey)
				}
				refs++
			}
		}
	}
	// Coordinator and workers: POSTGRES_PASSWORD and PGPASSWORD; server,
	// migration, reconcile, registration (two containers when
	// rebalancing): PGPASSWORD.
	want := 2 + 2 + 1 + 1 + 1 + 1
	if tc.rebalance {
		want++
	}
	if refs != want {
		t.Errorf("%d password references, want %d", refs, want)
	}
}

// hookOf returns the hook that renders the Job or Pod named name.
func hookOf(t *testing.T, r *rendering, kind, name string) *release.Hook {
	t.Helper()
	for _, h := range r.release.Hooks {
		if h.Kind == kind && h.Name == name {
			return h
		}
	}
	t.Fatalf("no %s hook named %s", kind, name)
	return nil
}

func hasEvents(h *release.Hook, events ...release.HookEvent) bool {
	for _, e := range events {
		if !slices.Contains(h.Events, e) {
			return false
		}
	}
	return true
}

func checkMigrationHook(t *testing.T, r *rendering, _ chartCase) {
	h := hookOf(t, r, "Job", "demo-hce-migrate")
	// After install, once the workers are registered; before an upgrade
	// replaces the server pods.
	if !hasEvents(h, release.HookPostInstall, release.HookPreUpgrade) || len(h.Events) != 2 {
		t.Errorf("migration hook runs on %v, want post-install and pre-upgrade", h.Events)
	}
	if reg := hookOf(t, r, "Job", "demo-hce-register"); reg.Weight >= h.Weight {
		t.Errorf("on install the migration (weight %d) must run after the registration (weight %d)", h.Weight, reg.Weight)
	}
	job := one[*batchv1.Job](t, r, "-migrate")
	c := job.Spec.Template.Spec.Containers[0]
	if got := append(slices.Clone(c.Command), c.Args...); !slices.Equal(got, []string{"/hce", "migrate", "up"}) {
		t.Errorf("migration runs %q, want /hce migrate up", got)
	}
	checkDatabaseURL(t, "migration", c)
	if job.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyNever || job.Spec.BackoffLimit == nil || *job.Spec.BackoffLimit < 1 {
		t.Errorf("migration job: restartPolicy %q backoffLimit %v, want Never and retries", job.Spec.Template.Spec.RestartPolicy, job.Spec.BackoffLimit)
	}
}

func checkRegistrationHook(t *testing.T, r *rendering, tc chartCase) {
	h := hookOf(t, r, "Job", "demo-hce-register")
	if !hasEvents(h, release.HookPostInstall, release.HookPostUpgrade) || len(h.Events) != 2 {
		t.Errorf("registration hook runs on %v, want post-install and post-upgrade", h.Events)
	}
	job := one[*batchv1.Job](t, r, "-register")
	spec := job.Spec.Template.Spec
	var register corev1.Container
	if tc.rebalance {
		if len(spec.InitContainers) != 1 || len(spec.Containers) != 1 {
			t.Fatalf("registration job: %d init and %d containers, want 1 and 1", len(spec.InitContainers), len(spec.Containers))
		}
		register = spec.InitContainers[0]
		rb := spec.Containers[0]
		if got := append(slices.Clone(rb.Command), rb.Args...); !slices.Equal(got, []string{"/hce", "cluster", "rebalance"}) {
			t.Errorf("after registering the job runs %q, want /hce cluster rebalance", got)
		}
		checkDatabaseURL(t, "rebalance", rb)
	} else {
		if len(spec.InitContainers) != 0 || len(spec.Containers) != 1 {
			t.Fatalf("registration job without rebalance: %d init and %d containers, want 0 and 1", len(spec.InitContainers), len(spec.Containers))
		}
		register = spec.Containers[0]
	}
	checkDatabaseURL(t, "registration", register)
	if register.Command[0] != "/hce" || len(register.Args) < 2 || register.Args[0] != "cluster" || register.Args[1] != "register" {
		t.Fatalf("registration runs %q %q, want /hce cluster register", register.Command, register.Args)
	}
	// Every ordinal of the worker StatefulSet, by its stable DNS name.
	sts := one[*appsv1.StatefulSet](t, r, "-worker")
	var workers []string
	for i, a := range register.Args {
		if a == "--worker" && i+1 < len(register.Args) {
			workers = append(workers, register.Args[i+1])
		}
	}
	var want []string
	for i := range tc.workers {
		want = append(want, fmt.Sprintf("%s-%d.%s.%s.svc.cluster.local:5432", sts.Name, i, sts.Spec.ServiceName, namespace))
	}
	if !slices.Equal(workers, want) {
		t.Errorf("registered workers\n%q\nwant\n%q", workers, want)
	}
	if !slices.Contains(register.Args, "--wait") {
		t.Errorf("registration does not wait for the nodes to start: %q", register.Args)
	}
}

func checkWorkerPostStart(t *testing.T, r *rendering, tc chartCase) {
	c := one[*appsv1.StatefulSet](t, r, "-worker").Spec.Template.Spec.Containers[0]
	has := c.Lifecycle != nil && c.Lifecycle.PostStart != nil
	if has != tc.registerHook {
		t.Fatalf("worker postStart registration present = %v, want %v", has, tc.registerHook)
	}
	if !has {
		return
	}
	script := strings.Join(c.Lifecycle.PostStart.Exec.Command, " ")
	for _, want := range []string{
		"citus_add_node('$self', 5432)",
		`self="$POD_NAME.demo-hce-worker.hce.svc.cluster.local"`,
		`coordinator="demo-hce-coordinator.hce.svc.cluster.local"`,
		"exit 0",
	} {
		if !strings.Contains(script, want) {
			t.Errorf("postStart script lacks %q:\n%s", want, script)
		}
	}
	if strings.Contains(script, "exit 1") {
		t.Errorf("postStart script can fail the worker:\n%s", script)
	}
	if e, ok := envVar(c, "POD_NAME"); !ok || e.ValueFrom == nil || e.ValueFrom.FieldRef == nil || e.ValueFrom.FieldRef.FieldPath != "metadata.name" {
		t.Errorf("worker has no POD_NAME from the downward API")
	}
}

func checkHelmTest(t *testing.T, r *rendering, tc chartCase) {
	h := hookOf(t, r, "Pod", "demo-hce-test-api")
	if !slices.Equal(h.Events, []release.HookEvent{release.HookTest}) {
		t.Errorf("test pod runs on %v, want test", h.Events)
	}
	pod := one[*corev1.Pod](t, r, "-test-api")
	if pod.Spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("test pod restartPolicy %q, want Never", pod.Spec.RestartPolicy)
	}
	c := pod.Spec.Containers[0]
	script := strings.Join(c.Command, " ")
	for _, want := range []string{"$BASE/fhir/metadata", "CapabilityStatement", "$BASE/admin/cluster", `"mode" *: *"citus"`} {
		if !strings.Contains(script, want) {
			t.Errorf("test script lacks %q", want)
		}
	}
	if e, _ := envVar(c, "BASE"); e.Value != "http://demo-hce:8080" {
		t.Errorf("test pod asks %q, want the server Service http://demo-hce:8080", e.Value)
	}
	if e, _ := envVar(c, "WORKERS"); e.Value != fmt.Sprint(tc.workers) {
		t.Errorf("test pod expects %q workers, want %d", e.Value, tc.workers)
	}
}

func checkNetworkPolicy(t *testing.T, r *rendering, tc chartCase) {
	pols := objects[*networkingv1.NetworkPolicy](r)
	if !tc.netpol {
		if len(pols) != 0 {
			t.Errorf("networkPolicy.enabled is false but %d policies are rendered", len(pols))
		}
		return
	}
	if len(pols) != 3 {
		t.Fatalf("%d network policies, want coordinator, worker and server", len(pols))
	}
	pods := podSpecs(r)
	labelsOf := func(key string) map[string]string {
		p, ok := pods[key]
		if !ok {
			t.Fatalf("no pod spec %s", key)
		}
		return p.Labels
	}
	server := labelsOf("Deployment/demo-hce")
	coordinator := labelsOf("StatefulSet/demo-hce-coordinator")
	worker := labelsOf("StatefulSet/demo-hce-worker")
	migrate := labelsOf("Job/demo-hce-migrate")
	register := labelsOf("Job/demo-hce-register")
	test := labelsOf("Pod/demo-hce-test-api")

	// allowed reports whether policy admits a pod with from labels on port.
	allowed := func(p *networkingv1.NetworkPolicy, from map[string]string, port string) bool {
		for _, rule := range p.Spec.Ingress {
			portOK := len(rule.Ports) == 0
			for _, rp := range rule.Ports {
				if rp.Port != nil && rp.Port.StrVal == port {
					portOK = true
				}
			}
			if !portOK {
				continue
			}
			if len(rule.From) == 0 {
				return true
			}
			for _, peer := range rule.From {
				if peer.NamespaceSelector == nil && peer.IPBlock == nil && selects(t, peer.PodSelector, from) {
					return true
				}
			}
		}
		return false
	}
	policyFor := func(podLabels map[string]string) *networkingv1.NetworkPolicy {
		for _, p := range pols {
			if selects(t, &p.Spec.PodSelector, podLabels) {
				if !slices.Equal(p.Spec.PolicyTypes, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}) {
					t.Errorf("policy %s: types %v, want Ingress", p.Name, p.Spec.PolicyTypes)
				}
				return p
			}
		}
		t.Fatalf("no policy selects %v", podLabels)
		return nil
	}
	coordPol, workerPol, serverPol := policyFor(coordinator), policyFor(worker), policyFor(server)
	for _, c := range []struct {
		name   string
		policy *networkingv1.NetworkPolicy
		from   map[string]string
		port   string
		want   bool
	}{
		{"server to coordinator", coordPol, server, "postgres", true},
		{"migration to coordinator", coordPol, migrate, "postgres", true},
		{"registration to coordinator", coordPol, register, "postgres", true},
		{"worker to coordinator", coordPol, worker, "postgres", true},
		{"test pod to coordinator", coordPol, test, "postgres", false},
		{"stranger to coordinator", coordPol, map[string]string{"app": "other"}, "postgres", false},
		{"coordinator to worker", workerPol, coordinator, "postgres", true},
		{"worker to worker", workerPol, worker, "postgres", true},
		{"registration to worker", workerPol, register, "postgres", true},
		{"server to worker", workerPol, server, "postgres", false},
		{"migration to worker", workerPol, migrate, "postgres", false},
		{"test pod to server", serverPol, test, "http", true},
		{"stranger to server", serverPol, map[string]string{"app": "other"}, "http", tc.netpolPeers == 0},
	} {
		if got := allowed(c.policy, c.from, c.port); got != c.want {
			t.Errorf("%s: allowed = %v, want %v", c.name, got, c.want)
		}
	}
	if tc.netpolPeers > 0 {
		from := serverPol.Spec.Ingress[0].From
		if len(from) != tc.netpolPeers+1 || from[0].NamespaceSelector == nil {
			t.Errorf("server ingress peers %+v, want the %d configured ones and the test pod", from, tc.netpolPeers)
		}
	}
}

func checkServiceMonitor(t *testing.T, r *rendering, tc chartCase) {
	var sms []*serviceMonitor
	for _, m := range r.manifests {
		if m.sm != nil {
			sms = append(sms, m.sm)
		}
	}
	if !tc.monitor {
		if len(sms) != 0 {
			t.Errorf("serviceMonitor.enabled is false but %d are rendered", len(sms))
		}
		return
	}
	if len(sms) != 1 {
		t.Fatalf("%d ServiceMonitors, want 1", len(sms))
	}
	sm := sms[0]
	if sm.APIVersion != "monitoring.coreos.com/v1" || sm.Kind != "ServiceMonitor" {
		t.Errorf("ServiceMonitor is %s %s", sm.APIVersion, sm.Kind)
	}
	svc := one[*corev1.Service](t, r, "demo-hce")
	if !selects(t, &metav1.LabelSelector{MatchLabels: sm.Spec.Selector.MatchLabels}, svc.Labels) {
		t.Errorf("ServiceMonitor selector %v does not select the server Service", sm.Spec.Selector.MatchLabels)
	}
	for _, other := range objects[*corev1.Service](r) {
		if other != svc && selects(t, &metav1.LabelSelector{MatchLabels: sm.Spec.Selector.MatchLabels}, other.Labels) {
			t.Errorf("ServiceMonitor also selects Service %s", other.Name)
		}
	}
	if len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != svc.Spec.Ports[0].Name || sm.Spec.Endpoints[0].Path != "/metrics" {
		t.Errorf("ServiceMonitor endpoints %+v, want /metrics on port %s", sm.Spec.Endpoints, svc.Spec.Ports[0].Name)
	}
	if sm.Metadata.Labels["release"] != tc.monitorLabel {
		t.Errorf("serviceMonitor.labels not applied: %v", sm.Metadata.Labels)
	}
}

func checkNotes(t *testing.T, r *rendering, tc chartCase) {
	notes := r.release.Info.Notes
	for _, want := range []string{
		"kubectl -n hce port-forward svc/demo-hce 8080:8080",
		"http://demo-hce.hce.svc.cluster.local:8080/fhir",
		"helm test demo -n hce",
		"Secret " + tc.secretName,
	} {
		if !strings.Contains(notes, want) {
			t.Errorf("NOTES.txt lacks %q:\n%s", want, notes)
		}
	}
}

func ptrString(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
