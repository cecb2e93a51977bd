package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hce-fhir/hce/internal/testdb"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

// TestRunSmall runs the whole benchmark at a small size against a real
// `hce serve` on the test database: the data set loads completely, each
// copy's patient is found with all of its resources, and every pattern of
// the mix runs at 1 and 16 clients without errors and finds what it should.
// Times are printed, never asserted.
func TestRunSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts a server; skipped with -short")
	}
	source := syntheaDir(t)
	dbURL := testdb.URL(t)
	base, token := startServer(t, dbURL)
	seed := int64(1)
	if os.Getenv("HCE_TEST_DATABASE_URL") != "" {
		seed = time.Now().UnixNano() % 1e9 // fresh identifiers on a shared database
	}
	out := t.TempDir()
	var progress strings.Builder
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	rep, err := Run(ctx, Config{
		URL: base, Token: token, DatabaseURL: dbURL, Load: true, Source: source, Out: out,
		Resources: 3000, Seed: seed, Clients: []int{1, 16}, Requests: 10, Duration: 20 * time.Second,
		Progress: &progress,
	})
	if rep != nil {
		t.Log("\n" + rep.Markdown())
	}
	if err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}

	ds, err := readManifest(out)
	if err != nil {
		t.Fatal(err)
	}
	if rep.DataSet == nil || rep.Load == nil || rep.DataSet.Resources != ds.Resources || ds.Resources < 3000 {
		t.Fatalf("data set %+v, load %+v, manifest %d resources", rep.DataSet, rep.Load, ds.Resources)
	}
	if rep.Load.Resources != int64(ds.Resources) || rep.Load.Failed != 0 {
		t.Errorf("loaded %d of %d resources, %d failed", rep.Load.Resources, ds.Resources, rep.Load.Failed)
	}
	if rep.Counts["Patient"] < ds.Patients() || rep.Counts["Observation"] < ds.Types()["Observation"] {
		t.Errorf("the server counts %v, the data set has %d patients and %v", rep.Counts, ds.Patients(), ds.Types())
	}
	checkCopiesLoaded(t, base, token, ds)

	if rep.DatabaseBytes <= 0 || rep.DatabaseNote != "" {
		t.Errorf("database size %d (%s)", rep.DatabaseBytes, rep.DatabaseNote)
	}
	if rep.PeakRSSBytes <= 0 {
		t.Errorf("server peak RSS %d (%s)", rep.PeakRSSBytes, rep.PeakRSSNote)
	}
	ran := map[int]int{}
	for _, res := range rep.Results {
		name := fmt.Sprintf("%s at %d clients", res.Pattern, res.Clients)
		switch {
		case res.Skipped != "":
			t.Errorf("%s skipped: %s", name, res.Skipped)
			continue
		case res.Requests != 10:
			t.Errorf("%s: %d requests, want 10", name, res.Requests)
		case res.Errors > 0:
			t.Errorf("%s: %d errors: %v", name, res.Errors, res.ErrorSamples)
		case res.Expect == "always" && res.Empty > 0:
			t.Errorf("%s (%s): %d of %d answers found nothing", name, res.Example, res.Empty, res.Requests)
		case res.Expect == "some" && res.Empty == res.Requests:
			t.Errorf("%s (%s): no answer found anything", name, res.Example)
		}
		ran[res.Clients]++
	}
	if ran[1] < 30 || ran[16] != ran[1] {
		t.Errorf("patterns run: %v, want at least 30 at each concurrency", ran)
	}

	// The JSON form holds the same results.
	raw, err := rep.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(raw, &back); err != nil || len(back.Results) != len(rep.Results) || back.Load.Resources != rep.Load.Resources {
		t.Errorf("JSON round trip: %v, %d results", err, len(back.Results))
	}
}

// compartmentTypes are the types of the Synthea Bundles whose resources are
// all in their patient's compartment.
var compartmentTypes = []string{"Observation", "Encounter", "Condition", "Procedure", "Immunization",
	"MedicationRequest", "DiagnosticReport", "Claim", "ExplanationOfBenefit", "CarePlan", "CareTeam"}

// checkCopiesLoaded finds each copy's Patient by its fresh identifier and
// counts its resources by type in its compartment.
func checkCopiesLoaded(t *testing.T, base, token string, ds *DataSet) {
	t.Helper()
	for _, f := range ds.Files {
		if f.Copy < 0 {
			continue
		}
		var found searchset[struct {
			ID string `json:"id"`
		}]
		getJSON(t, base+"/Patient?identifier="+url.QueryEscape(f.Patient), token, &found)
		if len(found.Entry) != 1 {
			t.Errorf("%s: %d Patients with identifier %s, want 1", f.Name, len(found.Entry), f.Patient)
			continue
		}
		id := found.Entry[0].Resource.ID
		for _, typ := range compartmentTypes {
			var count searchset[struct{}]
			getJSON(t, base+"/Patient/"+id+"/"+typ+"?_summary=count", token, &count)
			if count.Total == nil || *count.Total != f.Types[typ] {
				t.Errorf("%s: Patient/%s has %v %s, the copy %d", f.Name, id, count.Total, typ, f.Types[typ])
			}
		}
	}
}

func getJSON(t *testing.T, u, token string, v any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", u, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
}

// startServer builds cmd/hce and runs `hce serve` on a free loopback port
// against dbURL, with authentication on, until the test ends; it returns the
// FHIR base URL and a system/*.cruds token of the server's own key.
func startServer(t *testing.T, dbURL string) (base, token string) {
	t.Helper()
	root := moduleRoot(t)
	bin := filepath.Join(t.TempDir(), "hce")
	build := exec.Command("go", "build", "-o", bin, "./cmd/hce")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/hce: %v\n%s", err, out)
	}
	logPath := filepath.Join(t.TempDir(), "serve.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	dataDir := t.TempDir() // holds the server's token key
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--database-url", dbURL, "--data-dir", dataDir, "--auth", "on")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		logFile.Close()
	})
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if u := servingURL(logPath); u != "" {
			mint := exec.Command(bin, "token", "--scope", "system/*.cruds", "--ttl", "2h", "--data-dir", dataDir)
			out, err := mint.Output()
			if err != nil {
				t.Fatalf("hce token: %v", err)
			}
			return u, strings.TrimSpace(string(out))
		}
		select {
		case err := <-exited:
			exited <- err // for the cleanup, which waits for the exit too
			raw, _ := os.ReadFile(logPath)
			t.Fatalf("hce serve exited: %v\n%s", err, raw)
		case <-time.After(100 * time.Millisecond):
		}
	}
	raw, _ := os.ReadFile(logPath)
	t.Fatalf("hce serve did not start in time:\n%s", raw)
	return "", ""
}

// servingURL finds the URL in the server's "serving FHIR R4" log line.
func servingURL(logPath string) string {
	f, err := os.Open(logPath)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var line struct {
			Msg string `json:"msg"`
			URL string `json:"url"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "serving FHIR R4" && line.URL != "" {
			return line.URL
		}
	}
	return ""
}
