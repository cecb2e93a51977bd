package deploy

import (
	"bufio"
	"context"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"helm.sh/helm/v3/pkg/chartutil"
)

const composeFile = "../compose.yaml"

// testPassword stands for the operator's password in .env.
const testPassword = "s3cret+/with:chars@"

// loadCompose loads compose.yaml with compose-go, the loader of Docker
// Compose, with env as the only environment: neither the process
// environment nor a developer's .env leaks in.
func loadCompose(t *testing.T, env map[string]string, opts ...cli.ProjectOptionsFn) (*types.Project, error) {
	t.Helper()
	var kv []string
	for k, v := range env {
		kv = append(kv, k+"="+v)
	}
	opts = append([]cli.ProjectOptionsFn{cli.WithWorkingDirectory(".."), cli.WithEnv(kv)}, opts...)
	o, err := cli.NewProjectOptions([]string{composeFile}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return o.LoadProject(context.Background())
}

var (
	dbServices  = []string{"coordinator", "worker1", "worker2"}
	allServices = []string{"cluster-register", "coordinator", "hce", "worker1", "worker2"}
)

// TestComposeProject checks the stack compose.yaml describes.
func TestComposeProject(t *testing.T) {
	p, err := loadCompose(t, map[string]string{"POSTGRES_PASSWORD": testPassword})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if got := p.ServiceNames(); !slices.Equal(sorted(got), allServices) {
		t.Fatalf("services %v, want %v", got, allServices)
	}
	if p.Name != "hce" {
		t.Errorf("project name %q, want hce", p.Name)
	}

	t.Run("citus nodes", func(t *testing.T) {
		for _, name := range dbServices {
			s := p.Services[name]
			if !regexp.MustCompile(`^citusdata/citus:13\.\d+\.\d+-pg1[5-7]$`).MatchString(s.Image) {
				t.Errorf("%s: image %q, want a pinned citusdata/citus 13.x -pgNN tag", name, s.Image)
			}
			hc := s.HealthCheck
			if hc == nil || hc.Disable || len(hc.Test) < 2 || !strings.Contains(strings.Join(hc.Test, " "), "pg_isready") ||
				!strings.Contains(strings.Join(hc.Test, " "), "-h 127.0.0.1") {
				t.Errorf("%s: health check %v, want pg_isready over TCP", name, hc)
			} else if hc.Interval == nil || hc.Retries == nil || hc.StartPeriod == nil {
				t.Errorf("%s: health check without interval, retries or start period", name)
			}
			if len(s.Volumes) != 1 || s.Volumes[0].Type != types.VolumeTypeVolume || s.Volumes[0].Target != "/var/lib/postgresql/data" {
				t.Errorf("%s: volumes %+v, want one named volume at /var/lib/postgresql/data", name, s.Volumes)
			} else if _, ok := p.Volumes[s.Volumes[0].Source]; !ok {
				t.Errorf("%s: volume %q is not declared at the top level", name, s.Volumes[0].Source)
			}
			for _, k := range []string{"POSTGRES_PASSWORD", "PGPASSWORD"} {
				if v := s.Environment[k]; v == nil || *v != testPassword {
					t.Errorf("%s: %s does not come from .env", name, k)
				}
			}
			if m := s.Environment["POSTGRES_HOST_AUTH_METHOD"]; m == nil || *m == "trust" {
				t.Errorf("%s: nodes must authenticate with the password, not trust", name)
			}
			if len(s.Ports) != 0 {
				t.Errorf("%s: PostgreSQL is published on the host: %+v", name, s.Ports)
			}
		}
		// Every node keeps its own volume.
		seen := map[string]bool{}
		for _, name := range dbServices {
			src := p.Services[name].Volumes[0].Source
			if seen[src] {
				t.Errorf("volume %s is shared by two nodes", src)
			}
			seen[src] = true
		}
	})

	t.Run("registration", func(t *testing.T) {
		s := p.Services["cluster-register"]
		cmd := []string(s.Command)
		if len(cmd) < 2 || cmd[0] != "cluster" || cmd[1] != "register" {
			t.Fatalf("cluster-register runs %q, want hce cluster register", cmd)
		}
		var workers []string
		for i, a := range cmd {
			if a == "--worker" && i+1 < len(cmd) {
				workers = append(workers, cmd[i+1])
			}
		}
		if want := []string{"worker1:5432", "worker2:5432"}; !slices.Equal(workers, want) {
			t.Errorf("registers %v, want %v", workers, want)
		}
		for _, name := range dbServices {
			if d, ok := s.DependsOn[name]; !ok || d.Condition != types.ServiceConditionHealthy {
				t.Errorf("cluster-register does not wait for %s to be healthy: %+v", name, d)
			}
		}
		if s.Restart != "no" {
			t.Errorf("cluster-register restart %q, want no (a one-shot job)", s.Restart)
		}
		checkComposeDatabaseURL(t, "cluster-register", s)
	})

	t.Run("server", func(t *testing.T) {
		s := p.Services["hce"]
		root, err := filepath.Abs("..")
		if err != nil {
			t.Fatal(err)
		}
		if s.Build == nil || s.Build.Dockerfile != "Dockerfile" || filepath.Clean(s.Build.Context) != root {
			t.Errorf("hce is not built from the repository's Dockerfile: %+v", s.Build)
		}
		if s.Image != p.Services["cluster-register"].Image {
			t.Errorf("hce image %q and cluster-register image %q differ", s.Image, p.Services["cluster-register"].Image)
		}
		if !slices.Equal([]string(s.Command), []string{"serve"}) {
			t.Errorf("hce runs %q, want serve", s.Command)
		}
		for k, want := range map[string]string{"HCE_ADDR": "0.0.0.0:8080", "HCE_MIGRATE": "true"} {
			if v := s.Environment[k]; v == nil || *v != want {
				t.Errorf("hce %s = %v, want %q", k, v, want)
			}
		}
		checkComposeDatabaseURL(t, "hce", s)
		for name, cond := range map[string]string{
			"coordinator":      types.ServiceConditionHealthy,
			"cluster-register": types.ServiceConditionCompletedSuccessfully,
		} {
			if d, ok := s.DependsOn[name]; !ok || d.Condition != cond {
				t.Errorf("hce depends on %s with %+v, want %s", name, d, cond)
			}
		}
		if hc := s.HealthCheck; hc == nil || !slices.Equal([]string(hc.Test), []string{"CMD", "/hce", "healthcheck"}) {
			t.Errorf("hce health check %v, want [CMD /hce healthcheck] (the image has no shell)", hc)
		}
		if len(s.Ports) != 1 || s.Ports[0].Target != 8080 || s.Ports[0].Published != "8080" || s.Ports[0].HostIP != "127.0.0.1" {
			t.Errorf("hce ports %+v, want 127.0.0.1:8080->8080", s.Ports)
		}
		if !s.ReadOnly || !slices.Contains(s.CapDrop, "ALL") {
			t.Errorf("hce runs with a writable root filesystem or capabilities")
		}
	})

	t.Run("same citus image as the chart", func(t *testing.T) {
		vals, err := chartutil.ReadValuesFile(chartDir + "/values.yaml")
		if err != nil {
			t.Fatal(err)
		}
		img, err := vals.Table("database.image")
		if err != nil {
			t.Fatal(err)
		}
		want := img["repository"].(string) + ":" + img["tag"].(string)
		for _, name := range dbServices {
			if got := p.Services[name].Image; got != want {
				t.Errorf("%s runs %s, the chart %s", name, got, want)
			}
		}
	})
}

func checkComposeDatabaseURL(t *testing.T, name string, s types.ServiceConfig) {
	t.Helper()
	v := s.Environment["HCE_DATABASE_URL"]
	if v == nil {
		t.Fatalf("%s: no HCE_DATABASE_URL", name)
	}
	u, err := url.Parse(*v)
	if err != nil {
		t.Fatalf("%s: HCE_DATABASE_URL: %v", name, err)
	}
	if u.Hostname() != "coordinator" || u.Port() != "5432" {
		t.Errorf("%s: database at %s, want coordinator:5432", name, u.Host)
	}
	if _, has := u.User.Password(); has || strings.Contains(*v, testPassword) {
		t.Errorf("%s: the password is in HCE_DATABASE_URL", name)
	}
	if pw := s.Environment["PGPASSWORD"]; pw == nil || *pw != testPassword {
		t.Errorf("%s: PGPASSWORD does not come from .env", name)
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// TestComposeNeedsPassword checks that compose refuses to start, and says
// why, when .env has no password.
func TestComposeNeedsPassword(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
	}{
		{"unset", map[string]string{}},
		{"empty", map[string]string{"POSTGRES_PASSWORD": ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadCompose(t, tc.env)
			if err == nil {
				t.Fatal("compose.yaml loads without POSTGRES_PASSWORD")
			}
			for _, want := range []string{"POSTGRES_PASSWORD", ".env.example"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
		})
	}
}

// passwordRef is the only form a password may take in compose.yaml: a
// reference to .env that fails when unset.
var passwordRef = regexp.MustCompile(`^\$\{POSTGRES_PASSWORD:\?[^}]+\}$`)

// TestComposeNoLiteralPassword reads compose.yaml's model before
// interpolation (anchors and merge keys resolved): every password-like
// variable must be a reference to POSTGRES_PASSWORD.
func TestComposeNoLiteralPassword(t *testing.T) {
	o, err := cli.NewProjectOptions([]string{composeFile}, cli.WithWorkingDirectory(".."),
		cli.WithInterpolation(false), cli.WithNormalization(false), cli.WithConsistency(false),
		cli.WithLoadOptions(func(o *loader.Options) { o.SkipValidation = true }))
	if err != nil {
		t.Fatal(err)
	}
	model, err := o.LoadModel(context.Background())
	if err != nil {
		t.Fatalf("load without interpolation: %v", err)
	}
	services, _ := model["services"].(map[string]any)
	if len(services) != len(allServices)+len(haServices) {
		t.Fatalf("model has %d services, want %d", len(services), len(allServices)+len(haServices))
	}
	n := 0
	for name, svc := range services {
		env, _ := svc.(map[string]any)["environment"].(map[string]any)
		for k, v := range env {
			if !strings.Contains(strings.ToUpper(k), "PASSWORD") {
				continue
			}
			n++
			if s, ok := v.(string); !ok || !passwordRef.MatchString(s) {
				t.Errorf("%s: %s = %v, want ${POSTGRES_PASSWORD:?...}", name, k, v)
			}
		}
	}
	if n < 2*len(dbServices)+2 {
		t.Errorf("found %d password variables, want POSTGRES_PASSWORD and PGPASSWORD on every node and PGPASSWORD on hce and cluster-register", n)
	}
}

// TestEnvExample checks the committed .env.example: it names every variable
// compose.yaml reads and holds no password.
func TestEnvExample(t *testing.T) {
	f, err := os.Open("../.env.example")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	vars := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Errorf(".env.example: line %q is not KEY=VALUE", line)
			continue
		}
		vars[k] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if v, ok := vars["POSTGRES_PASSWORD"]; !ok || v != "" {
		t.Errorf(".env.example: POSTGRES_PASSWORD = %q, want present and empty", v)
	}
	compose, err := os.ReadFile(composeFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`\$\{([A-Z_][A-Z0-9_]*)`).FindAllStringSubmatch(string(compose), -1) {
		if _, ok := vars[m[1]]; !ok {
			t.Errorf("compose.yaml reads %s, which .env.example does not document", m[1])
		}
	}
	// The example's own values must load.
	vars["POSTGRES_PASSWORD"] = testPassword
	if _, err := loadCompose(t, vars); err != nil {
		t.Errorf("compose.yaml does not load with .env.example's values: %v", err)
	}
}
