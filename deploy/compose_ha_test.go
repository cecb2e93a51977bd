package deploy

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// haServices are the services of compose.yaml's ha profile.
var haServices = []string{"etcd", "hce-ha", "pg-g0-a", "pg-g0-b", "pg-g1-a", "pg-g1-b", "pg-g2-a", "pg-g2-b"}

// TestComposeHA checks the ha profile: off by default; with it, etcd and
// three Citus groups of two Patroni nodes on the repository's image, and an
// HCE server whose multi-host URL reaches whichever coordinator node is the
// primary.
func TestComposeHA(t *testing.T) {
	env := map[string]string{"POSTGRES_PASSWORD": testPassword}
	plain, err := loadCompose(t, env)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range haServices {
		if _, on := plain.Services[name]; on {
			t.Errorf("%s runs without the ha profile", name)
		}
	}
	p, err := loadCompose(t, env, cli.WithProfiles([]string{"ha"}))
	if err != nil {
		t.Fatalf("load with the ha profile: %v", err)
	}
	groups := map[string][]string{}
	for _, name := range haServices {
		s, ok := p.Services[name]
		if !ok {
			t.Fatalf("the ha profile lacks %s", name)
		}
		if !strings.HasPrefix(name, "pg-") {
			continue
		}
		if s.Image != "ghcr.io/hce-fhir/hce-patroni:0.1.0" || s.Build == nil || !strings.HasSuffix(s.Build.Context, "deploy/patroni") {
			t.Errorf("%s: image %s built from %+v, want the repository's Patroni image", name, s.Image, s.Build)
		}
		g := s.Environment["PATRONI_CITUS_GROUP"]
		if g == nil {
			t.Fatalf("%s: no PATRONI_CITUS_GROUP", name)
		}
		groups[*g] = append(groups[*g], name)
		for k, want := range map[string]string{"PATRONI_NAME": name, "PATRONI_POSTGRESQL_CONNECT_ADDRESS": name + ":5432"} {
			if v := s.Environment[k]; v == nil || *v != want {
				t.Errorf("%s: %s = %v, want %s", name, k, v, want)
			}
		}
		if v := s.Environment["PATRONI_SUPERUSER_PASSWORD"]; v == nil || *v != testPassword {
			t.Errorf("%s: the superuser password is not POSTGRES_PASSWORD", name)
		}
		if d, ok := s.DependsOn["etcd"]; !ok || d.Condition != "service_healthy" {
			t.Errorf("%s does not wait for a healthy etcd", name)
		}
		mounted := slices.ContainsFunc(s.Volumes, func(v types.ServiceVolumeConfig) bool {
			return v.Target == "/etc/patroni/patroni.yml" && strings.HasSuffix(v.Source, "deploy/patroni/patroni-compose.yml")
		})
		if !mounted {
			t.Errorf("%s does not mount deploy/patroni/patroni-compose.yml", name)
		}
	}
	for _, g := range []string{"0", "1", "2"} {
		if len(groups[g]) != 2 {
			t.Errorf("Citus group %s has nodes %v, want a primary and a standby", g, groups[g])
		}
	}
	u := p.Services["hce-ha"].Environment["HCE_DATABASE_URL"]
	if u == nil {
		t.Fatal("hce-ha: no HCE_DATABASE_URL")
	}
	parsed, err := url.Parse(*u)
	if err != nil {
		t.Fatal(err)
	}
	if parsed.Host != "pg-g0-a:5432,pg-g0-b:5432" || parsed.Query().Get("target_session_attrs") != "read-write" {
		t.Errorf("hce-ha connects to %s, want both group-0 nodes with target_session_attrs=read-write", *u)
	}
	if _, has := parsed.User.Password(); has {
		t.Error("hce-ha: the password is in the URL")
	}
}
