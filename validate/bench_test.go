package validate

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/hce-fhir/hce/fhir"
)

// BenchmarkSynthea validates one mid-sized Synthea transaction Bundle per
// iteration and reports the time per resource in it: ns/resource for the
// whole of Parse (bytes, models and definitions) and of ParseEntries (the
// same, entry by entry), then for the models, the definitions walk alone
// (Resource) and the byte scan.
func BenchmarkSynthea(b *testing.B) {
	files := syntheaBundles(b)
	// The median-sized bundle, so that the figure is typical.
	sort.Slice(files, func(i, j int) bool { return size(files[i]) < size(files[j]) })
	body := readGzip(b, files[len(files)/2])
	var bundle struct {
		Entry []json.RawMessage `json:"entry"`
	}
	if err := json.Unmarshal(body, &bundle); err != nil {
		b.Fatal(err)
	}
	n := float64(len(bundle.Entry) + 1)
	v := New(Options{})
	b.Logf("%s: %d bytes, %d entries", filepath.Base(files[len(files)/2]), len(body), len(bundle.Entry))
	b.Run("Parse", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if _, err := v.Parse(body); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/resource")
	})
	b.Run("ParseEntries", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if _, _, err := v.ParseEntries(body); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/resource")
	})
	b.Run("fhir.Parse", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if _, err := fhir.Parse(body); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/resource")
	})
	r, err := fhir.Parse(body)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("Resource", func(b *testing.B) {
		for b.Loop() {
			if err := v.Resource(r.Content); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/resource")
	})
	b.Run("scan", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if err := v.scan(body); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/resource")
	})
}

func size(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}
