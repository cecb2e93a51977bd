package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction with its continuation lines
// joined.
type instruction struct {
	cmd  string // upper case: FROM, RUN, ...
	args string
}

// stage is one FROM and the instructions under it.
type stage struct {
	from string
	ins  []instruction
}

// parseDockerfile splits a Dockerfile into stages; instructions before the
// first FROM (global ARGs) form stage 0 with an empty from.
func parseDockerfile(t *testing.T, path string) []stage {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	stages := []stage{{}}
	var cur strings.Builder
	for line := range strings.Lines(string(b)) {
		line = strings.TrimRight(line, "\r\n")
		trim := strings.TrimSpace(line)
		if strings.HasPrefix(trim, "#") || (trim == "" && cur.Len() == 0) {
			continue
		}
		if strings.HasSuffix(trim, "\\") {
			cur.WriteString(strings.TrimSuffix(trim, "\\") + " ")
			continue
		}
		cur.WriteString(trim)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		cur.Reset()
		in := instruction{cmd: strings.ToUpper(cmd), args: strings.Join(strings.Fields(args), " ")}
		if in.cmd == "FROM" {
			stages = append(stages, stage{from: in.args})
			continue
		}
		stages[len(stages)-1].ins = append(stages[len(stages)-1].ins, in)
	}
	return stages
}

func (s stage) all(cmd string) []string {
	var out []string
	for _, in := range s.ins {
		if in.cmd == cmd {
			out = append(out, in.args)
		}
	}
	return out
}

// TestDockerfile checks the image contract: a multi-stage build of a static
// binary, a distroless non-root runtime, hce serve by default and a health
// check that needs no shell.
func TestDockerfile(t *testing.T) {
	stages := parseDockerfile(t, "../Dockerfile")
	if len(stages) < 3 {
		t.Fatalf("%d build stages, want a build stage and a runtime stage", len(stages)-1)
	}
	global, build, final := stages[0], stages[1], stages[len(stages)-1]

	gomod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	goVersion := regexp.MustCompile(`(?m)^go (\S+)`).FindSubmatch(gomod)
	if goVersion == nil {
		t.Fatal("go.mod has no go directive")
	}
	if want := "GO_VERSION=" + string(goVersion[1]); !slices.Contains(global.all("ARG"), want) {
		t.Errorf("global ARGs %q lack %s (the go directive of go.mod)", global.all("ARG"), want)
	}
	if !strings.Contains(build.from, "golang:${GO_VERSION}") || !strings.HasSuffix(build.from, " AS build") {
		t.Errorf("build stage FROM %q, want golang:${GO_VERSION} AS build", build.from)
	}
	run := strings.Join(build.all("RUN"), "\n")
	for _, want := range []string{"CGO_ENABLED=0", "go build", "-trimpath", `-ldflags "-s -w -X main.version=${VERSION}"`, "-o /hce", "./cmd/hce"} {
		if !strings.Contains(run, want) {
			t.Errorf("build stage RUN lacks %q:\n%s", want, run)
		}
	}

	if !regexp.MustCompile(`^gcr\.io/distroless/static-debian\d+:nonroot$`).MatchString(final.from) {
		t.Errorf("runtime stage FROM %q, want gcr.io/distroless/static-debianNN:nonroot", final.from)
	}
	for _, c := range []struct {
		cmd, want string
	}{
		{"COPY", "--from=build /hce /hce"},
		{"ENV", "HCE_ADDR=0.0.0.0:8080"},
		{"EXPOSE", "8080"},
		{"ENTRYPOINT", `["/hce"]`},
		{"CMD", `["serve"]`},
	} {
		if !slices.Contains(final.all(c.cmd), c.want) {
			t.Errorf("runtime stage: no %s %s (has %q)", c.cmd, c.want, final.all(c.cmd))
		}
	}
	users := final.all("USER")
	if len(users) != 1 || !regexp.MustCompile(`^[1-9][0-9]*(:[1-9][0-9]*)?$`).MatchString(users[0]) {
		t.Errorf("runtime USER %q, want one numeric non-root uid (so runAsNonRoot can verify it)", users)
	}
	hc := final.all("HEALTHCHECK")
	if len(hc) != 1 || !strings.HasSuffix(hc[0], `CMD ["/hce", "healthcheck"]`) {
		t.Errorf("HEALTHCHECK %q, want exec form of /hce healthcheck (distroless has no shell)", hc)
	}
	if len(final.all("RUN")) != 0 {
		t.Errorf("runtime stage has RUN instructions, but distroless has no shell")
	}
}

// dockerignored reports whether a .dockerignore pattern list excludes path
// (forward slashes, relative to the context). It follows Docker's rules for
// the patterns used here: filepath.Match on the path or any parent, with a
// leading **/ matching in any directory, and ! re-including.
func dockerignored(patterns []string, path string) bool {
	ignored := false
	for _, p := range patterns {
		neg := strings.HasPrefix(p, "!")
		p = strings.TrimPrefix(p, "!")
		if matchesIgnore(p, path) {
			ignored = !neg
		}
	}
	return ignored
}

func matchesIgnore(pattern, path string) bool {
	parts := strings.Split(path, "/")
	for i := 1; i <= len(parts); i++ {
		prefix := strings.Join(parts[:i], "/")
		if rest, ok := strings.CutPrefix(pattern, "**/"); ok {
			for j := 0; j < i; j++ {
				if m, _ := filepath.Match(rest, strings.Join(parts[j:i], "/")); m {
					return true
				}
			}
			continue
		}
		if m, _ := filepath.Match(pattern, prefix); m {
			return true
		}
	}
	return false
}

// TestDockerignore checks that the build context keeps what `go build
// ./cmd/hce` needs and leaves out secrets and bulk.
func TestDockerignore(t *testing.T) {
	b, err := os.ReadFile("../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for line := range strings.Lines(string(b)) {
		if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "#") {
			patterns = append(patterns, l)
		}
	}
	for _, c := range []struct {
		path    string
		ignored bool
	}{
		{"go.mod", false},
		{"go.sum", false},
		{"cmd/hce/main.go", false},
		{"migrations/00001_init.sql", false},
		{"fhir/spec/search-parameters.json", false},
		{"store/store.go", false},
		{".env", true},
		{".git/config", true},
		{"bin/hce", true},
		{"postman/node_modules/newman/package.json", true},
		{"store/testdata/big.json", true},
		{"fhir/resource_test.go", true},
		{"helm/values.yaml", true},
	} {
		if got := dockerignored(patterns, c.path); got != c.ignored {
			t.Errorf("%s: ignored = %v, want %v", c.path, got, c.ignored)
		}
	}
}
