package deploy

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chartutil"
	appsv1 "k8s.io/api/apps/v1"
)

// TestImageName checks that `make image` builds the image the chart and
// compose run: the Makefile's IMAGE is the chart's image.repository, its
// tag the chart's appVersion (image.tag is empty), and compose's and
// .env.example's HCE_IMAGE are the same name.
func TestImageName(t *testing.T) {
	mk, err := os.ReadFile("../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^IMAGE \?= (\S+)$`).FindSubmatch(mk)
	if m == nil {
		t.Fatal("the Makefile sets no IMAGE ?= default")
	}
	if !regexp.MustCompile(`(?m)^image:\n\tdocker build -t \$\(IMAGE\):\$\(IMAGE_TAG\) `).Match(mk) ||
		!regexp.MustCompile(`(?m)^image-push: image\n\tdocker push \$\(IMAGE\):\$\(IMAGE_TAG\)$`).Match(mk) {
		t.Error("make image must build, and make image-push push, $(IMAGE):$(IMAGE_TAG)")
	}
	if !strings.Contains(string(mk), `IMAGE_TAG ?= $(shell sed -n 's/^appVersion:`) {
		t.Error("IMAGE_TAG does not default to the chart's appVersion")
	}
	vals, err := chartutil.ReadValuesFile(chartDir + "/values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	img, err := vals.Table("image")
	if err != nil {
		t.Fatal(err)
	}
	if img["repository"] != string(m[1]) || img["tag"] != "" {
		t.Errorf("chart image %v:%v, Makefile %s", img["repository"], img["tag"], m[1])
	}
	c := loadChart(t)
	want := string(m[1]) + ":" + c.Metadata.AppVersion
	p, err := loadCompose(t, map[string]string{"POSTGRES_PASSWORD": testPassword})
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Services["hce"].Image; got != want {
		t.Errorf("compose runs %s, want %s", got, want)
	}
	env, err := os.ReadFile("../.env.example")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(env), "\nHCE_IMAGE="+want+"\n") {
		t.Errorf(".env.example does not set HCE_IMAGE=%s", want)
	}
	r := render(t, nil)
	if got := one[*appsv1.Deployment](t, r, "demo-hce").Spec.Template.Spec.Containers[0].Image; got != want {
		t.Errorf("the chart's server runs %s, want %s", got, want)
	}
}
