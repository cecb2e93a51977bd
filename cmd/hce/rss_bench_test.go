package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hce-fhir/hce/internal/testdb"
	"github.com/hce-fhir/hce/store"
)

// BenchmarkRequestPeakRSS measures the peak resident memory of a real
// `hce serve` process (built for the benchmark, on the test database, auth
// off, default flags) while it answers one large request, and reports it as
// peak-MB, with the RSS of the idle process before it (idle-MB) and the time
// (s/request). Each request gets a fresh process whose peak is reset
// (/proc/PID/clear_refs) just before it, so each figure is that request's
// own. Run with
//
//	go test ./cmd/hce -run '^$' -bench RequestPeakRSS -benchtime 1x
//
// The requests: a 5 MB Patient whose one array holds 1M strings (rejected
// by the array limit before it is decoded); 5 MB with 1M strings over 20
// arrays, to $validate (found too-costly by the value limit before it is
// decoded); the same strings in 20 Patients of a Bundle, each within the
// limits, to $validate and as a transaction of 20 POSTs; the Synthea
// transaction Bundle nearest 5 MB; and one transaction of about 60 MB made
// of the entries of several Synthea Bundles.
func BenchmarkRequestPeakRSS(b *testing.B) {
	if runtime.GOOS != "linux" {
		b.Skip("reads /proc")
	}
	files, _ := filepath.Glob("../../../shared/data/synthea/*.json.gz")
	if len(files) == 0 {
		b.Skip("no Synthea data beside the repository")
	}
	bin := filepath.Join(b.TempDir(), "hce")
	if out, err := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	testdb.Pool(b, store.MigrateUp)
	for _, f := range files {
		if strings.Contains(f, "Information") {
			base, stop := serveForRSS(b, bin)
			postBody(b, base, gunzip(b, f), 200)
			stop()
		}
	}
	sort.Slice(files, func(i, j int) bool { return fileSize(files[i]) < fileSize(files[j]) })

	oneArray := `{"resourceType":"Patient","name":[{"given":[` + strings.TrimSuffix(strings.Repeat(`"abc",`, 1_000_000), ",") + `]}]}`
	names := make([]string, 20)
	for i := range names {
		names[i] = `{"given":[` + strings.TrimSuffix(strings.Repeat(`"abc",`, 50_000), ",") + `]}`
	}
	spread := `{"resourceType":"Patient","name":[` + strings.Join(names, ",") + `]}`
	patients := make([]string, len(names))
	for i, n := range names {
		patients[i] = `{"resource":{"resourceType":"Patient","name":[` + n + `]}}`
	}
	inEntries := `{"resourceType":"Bundle","type":"collection","entry":[` + strings.Join(patients, ",") + `]}`
	posts := make([]string, len(names))
	for i, n := range names {
		posts[i] = `{"resource":{"resourceType":"Patient","name":[` + n + `]},"request":{"method":"POST","url":"Patient"}}`
	}
	inTransaction := `{"resourceType":"Bundle","type":"transaction","entry":[` + strings.Join(posts, ",") + `]}`
	var five []byte
	for _, f := range files {
		if body := gunzip(b, f); !strings.Contains(f, "Information") && (five == nil || absDiff(len(body), 5<<20) < absDiff(len(five), 5<<20)) {
			five = body
		}
	}
	big := combined(b, files, 60<<20)
	cases := []struct {
		name, path string
		body       []byte
		want       int
	}{
		{"5MB-one-array-of-1M-strings", "/Patient", []byte(oneArray), 400},
		{"5MB-1M-strings-in-20-arrays-validate", "/Patient/$validate", []byte(spread), 200},
		{"5MB-1M-strings-in-20-entries-validate", "/Bundle/$validate", []byte(inEntries), 200},
		{"5MB-1M-strings-in-20-entries-transaction", "", []byte(inTransaction), 200},
		{"synthea-transaction-" + strconv.Itoa(len(five)>>20) + "MB", "", five, 200},
		{"transaction-" + strconv.Itoa(len(big)>>20) + "MB", "", big, 200},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				// A fresh process per request, so that memory an earlier
				// request left to the runtime does not count.
				b.StopTimer()
				base, stop := serveForRSS(b, bin)
				pid := lastPID
				idle := vmLine(b, pid, "VmRSS:")
				if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0); err != nil {
					b.Skipf("cannot reset the peak RSS: %v", err)
				}
				b.StartTimer()
				start := time.Now()
				postBody(b, base+tc.path, tc.body, tc.want)
				b.ReportMetric(time.Since(start).Seconds(), "s/request")
				b.ReportMetric(float64(vmLine(b, pid, "VmHWM:"))/(1<<20), "peak-MB")
				b.ReportMetric(float64(idle)/(1<<20), "idle-MB")
				b.ReportMetric(float64(len(tc.body))/(1<<20), "body-MB")
				stop()
			}
		})
	}
}

// lastPID is the process id of the server serveForRSS started last.
var lastPID int

// serveForRSS starts `hce serve` from bin on the test database with its
// defaults (auth and audit off), waits until it is ready and returns its
// FHIR base and a function that stops it.
func serveForRSS(b *testing.B, bin string) (string, func()) {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "serve", "--addr", addr, "--auth=off", "--audit=false", "--database-url", testdb.URL(b))
	cmd.Env = append(os.Environ(), "HCE_DATA_DIR="+b.TempDir())
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	stop := func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
	for i := 0; ; i++ {
		if r, err := http.Get("http://" + addr + "/readyz"); err == nil && r.StatusCode == 200 {
			r.Body.Close()
			break
		}
		if i > 100 {
			stop()
			b.Fatal("hce serve did not become ready")
		}
		time.Sleep(100 * time.Millisecond)
	}
	lastPID = cmd.Process.Pid
	return "http://" + addr + "/fhir", stop
}

// vmLine reads a "Vm…: N kB" line of /proc/PID/status in bytes.
func vmLine(b *testing.B, pid int, prefix string) int64 {
	b.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for line := range bytes.Lines(status) {
		if rest, ok := bytes.CutPrefix(line, []byte(prefix)); ok {
			if n, ok := parseVmHWM(append([]byte("VmHWM:"), rest...)); ok {
				return n
			}
		}
	}
	b.Fatalf("no %s in /proc/%d/status", prefix, pid)
	return 0
}
func postBody(b *testing.B, url string, body []byte, want int) {
	b.Helper()
	resp, err := http.Post(url, "application/fhir+json", bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		b.Fatalf("POST %s: %d, want %d: %.500s", url, resp.StatusCode, want, out)
	}
}

func gunzip(b *testing.B, path string) []byte {
	b.Helper()
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		b.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		b.Fatal(err)
	}
	return out
}

// combined joins the entries of patient transaction Bundles into one
// transaction of about size bytes. Bundles used a second time get other
// urn:uuid fullUrls (the first hex digit shifted), so that no two entries
// share one.
func combined(b *testing.B, files []string, size int) []byte {
	var entries []json.RawMessage
	total := 0
	uuidStart := regexp.MustCompile(`urn:uuid:[0-9a-f]`)
	for i := 0; total < size && i < 10*len(files); i++ {
		f := files[len(files)-1-i%len(files)]
		if strings.Contains(f, "Information") {
			continue
		}
		var bundle struct {
			Entry []json.RawMessage `json:"entry"`
		}
		body := gunzip(b, f)
		if round := i / len(files); round > 0 {
			body = uuidStart.ReplaceAllFunc(body, func(m []byte) []byte {
				d, _ := strconv.ParseUint(string(m[len(m)-1:]), 16, 8)
				return append(m[:len(m)-1:len(m)-1], strconv.FormatUint((d+uint64(round))%16, 16)...)
			})
		}
		if err := json.Unmarshal(body, &bundle); err != nil {
			b.Fatal(err)
		}
		for _, e := range bundle.Entry {
			var buf bytes.Buffer
			if err := json.Compact(&buf, e); err != nil {
				b.Fatal(err)
			}
			entries = append(entries, buf.Bytes())
			total += buf.Len() + 1
		}
	}
	out, err := json.Marshal(map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": entries})
	if err != nil {
		b.Fatal(err)
	}
	return out
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

func absDiff(a, b int) int {
	if a > b {
		return a - b
	}
	return b - a
}
