package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hce-fhir/hce/fhir"
	"github.com/hce-fhir/hce/load"
)

// generate writes a data set of at least resources resources into a new
// directory.
func generate(t *testing.T, resources int, seed int64) *DataSet {
	t.Helper()
	ds, err := Generate(context.Background(), GenerateOptions{Source: syntheaDir(t), Out: t.TempDir(), Resources: resources, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// content is a data set's Bundles, decompressed, by file name.
func content(t *testing.T, ds *DataSet) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, f := range ds.Files {
		rc, err := openBundle(filepath.Join(ds.Dir, f.Name))
		if err != nil {
			t.Fatal(err)
		}
		raw, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		out[f.Name] = raw
	}
	return out
}

func TestGenerateIsDeterministic(t *testing.T) {
	a, b, other := generate(t, 8000, 7), generate(t, 8000, 7), generate(t, 8000, 8)
	ca, cb, co := content(t, a), content(t, b), content(t, other)
	if len(ca) != len(cb) || len(ca) < 4 {
		t.Fatalf("%d and %d files", len(ca), len(cb))
	}
	for name, raw := range ca {
		if !bytes.Equal(raw, cb[name]) {
			t.Errorf("%s differs between two runs with the same seed", name)
		}
	}
	differ := 0
	for _, f := range a.Files {
		if f.Copy >= 0 {
			for _, g := range other.Files {
				if g.Copy == f.Copy && !bytes.Equal(ca[f.Name], co[g.Name]) {
					differ++
				}
			}
		}
	}
	if differ == 0 {
		t.Error("another seed wrote the same copies")
	}
}

func TestGenerateReachesTheTarget(t *testing.T) {
	sources, err := ReadSources(context.Background(), syntheaDir(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range []int{1, 3000, 30000} {
		ds := generate(t, target, 1)
		last := ds.Files[len(ds.Files)-1]
		if ds.Resources < target || ds.Resources-last.Resources >= max(target, 779) {
			t.Errorf("target %d: %d resources, the last copy adding %d", target, ds.Resources, last.Resources)
		}
		batches := 0
		for i, f := range ds.Files {
			if f.Copy < 0 {
				batches++
				if i >= 2 {
					t.Errorf("batch %s is not among the first files", f.Name)
				}
			}
		}
		if batches != 2 || ds.Patients() < 1 {
			t.Errorf("target %d: %d batches, %d patients", target, batches, ds.Patients())
		}
		// The loader sees the batches once and every copy as a transaction.
		plan, err := load.Plan(context.Background(), []string{ds.Dir}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(plan) != len(ds.Files) {
			t.Errorf("the loader plans %d files, the data set has %d", len(plan), len(ds.Files))
		}
		for i, in := range plan {
			if want := map[bool]load.Kind{true: load.Batch, false: load.Transaction}[i < 2]; in.Kind != want || in.Err != nil {
				t.Errorf("%s: %v (%v), want %v", in.Path, in.Kind, in.Err, want)
			}
		}
		if target == 30000 && ds.Patients() <= len(sources)-2 {
			t.Errorf("30,000 resources took only %d patient copies: no second round", ds.Patients())
		}
	}
}

func TestGenerateReusesACompleteDataSet(t *testing.T) {
	dir := t.TempDir()
	opt := GenerateOptions{Source: syntheaDir(t), Out: dir, Resources: 3000, Seed: 3}
	first, err := Generate(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Generate(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	if first.Reused || !again.Reused || again.Resources != first.Resources {
		t.Errorf("reused %v then %v, %d then %d resources", first.Reused, again.Reused, first.Resources, again.Resources)
	}
	// An interrupted run leaves a manifest of what it meant to write, and
	// some of it: the next run starts over.
	first.Complete = false
	if err := writeManifest(dir, first); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, first.Files[len(first.Files)-1].Name)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, first.Files[2].Name+".tmp"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	redone, err := Generate(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	if redone.Reused || !redone.complete() || redone.Resources != first.Resources {
		t.Errorf("after an interrupted run: reused %v, complete %v, %d resources", redone.Reused, redone.complete(), redone.Resources)
	}
	if _, err := os.Stat(filepath.Join(dir, first.Files[2].Name+".tmp")); err == nil {
		t.Error("a temporary file was left")
	}

	opt.Seed = 4
	other, err := Generate(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	if other.Reused {
		t.Error("a data set of another seed was reused")
	}
	foreign := t.TempDir()
	if err := os.WriteFile(filepath.Join(foreign, "mine.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	opt.Out = foreign
	if _, err := Generate(context.Background(), opt); err == nil || !strings.Contains(err.Error(), "mine.json") {
		t.Errorf("a directory with other Bundles: %v", err)
	}
}

// TestCopyRewrites walks every copy of a data set beside its source, value
// by value: every urn:uuid and every entry UUID maps to one new UUID,
// consistently across the Bundle and never to the same one twice; every
// date moves by the copy's days; the Patient's names and identifiers change;
// everything else, the conditional references included, is as it was.
func TestCopyRewrites(t *testing.T) {
	ds := generate(t, 30000, 11)
	sources, err := ReadSources(context.Background(), syntheaDir(t))
	if err != nil {
		t.Fatal(err)
	}
	bySource := map[string]*Source{}
	for i := range sources {
		bySource[filepath.Base(sources[i].Path)] = &sources[i]
	}
	identifiers := map[string]string{} // identifier value → file
	allUUIDs := map[string]string{}
	conditional := 0
	for _, f := range ds.Files {
		if f.Copy < 0 {
			continue
		}
		src := bySource[f.Source]
		if f.Days >= 0 || f.Days < -maxShiftDays {
			t.Errorf("%s: dates moved by %d days", f.Name, f.Days)
		}
		w := &pairWalk{t: t, file: f.Name, days: f.Days, full: src.fullURLs, fwd: map[string]string{}, back: map[string]string{}}
		orig, cp := decodeBundle(t, src.Path), decodeBundle(t, filepath.Join(ds.Dir, f.Name))
		oe, ce := orig["entry"].([]any), cp["entry"].([]any)
		if len(oe) != len(ce) || len(ce) != f.Resources {
			t.Fatalf("%s: %d entries, source %d, manifest %d", f.Name, len(ce), len(oe), f.Resources)
		}
		for i := range oe {
			w.walk(oe[i], ce[i], "")
		}
		conditional += w.conditional
		// Every reference of the copy points at an entry of the copy.
		full := map[string]bool{}
		for _, e := range ce {
			full[e.(map[string]any)["fullUrl"].(string)] = true
		}
		for ref := range w.refs {
			if !full[ref] {
				t.Errorf("%s: reference %s is to no entry", f.Name, ref)
			}
		}
		for old, n := range w.fwd {
			if prev, ok := allUUIDs[n]; ok {
				t.Errorf("%s: UUID %s (for %s) also in %s", f.Name, n, old, prev)
			}
			allUUIDs[n] = f.Name
		}
		for _, v := range w.identifiers {
			if prev, ok := identifiers[v]; ok && prev != f.Name {
				t.Errorf("Patient identifier %s in %s and %s", v, prev, f.Name)
			}
			identifiers[v] = f.Name
		}
		if len(w.identifiers) == 0 || f.Patient == "" || !strings.HasPrefix(f.Patient, SyntheaSystem+"|") {
			t.Errorf("%s: identifiers %v, manifest patient %q", f.Name, w.identifiers, f.Patient)
		}
	}
	if conditional == 0 {
		t.Error("no conditional reference met")
	}
}

func decodeBundle(t *testing.T, path string) map[string]any {
	t.Helper()
	rc, err := openBundle(path)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	dec := json.NewDecoder(rc)
	dec.UseNumber()
	var b map[string]any
	if err := dec.Decode(&b); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return b
}

// pairWalk compares a source entry with its copy.
type pairWalk struct {
	t           *testing.T
	file        string
	days        int
	full        map[string]bool
	fwd, back   map[string]string // old UUID → new, new → old
	refs        map[string]bool
	identifiers []string
	conditional int
}

func (w *pairWalk) walk(o, c any, path string) {
	t := w.t
	switch ov := o.(type) {
	case map[string]any:
		cv, ok := c.(map[string]any)
		if !ok || len(cv) != len(ov) {
			t.Fatalf("%s %s: object %v became %v", w.file, path, o, c)
		}
		sub := path
		if rt, _ := ov["resourceType"].(string); rt != "" {
			sub = rt
		}
		for k, x := range ov {
			w.walk(x, cv[k], sub+"."+k)
		}
	case []any:
		cv, ok := c.([]any)
		if !ok || len(cv) != len(ov) {
			t.Fatalf("%s %s: array of %d became %v", w.file, path, len(ov), c)
		}
		for i := range ov {
			w.walk(ov[i], cv[i], path)
		}
	case string:
		cs, ok := c.(string)
		if !ok {
			t.Fatalf("%s %s: %q became %v", w.file, path, ov, c)
		}
		w.str(ov, cs, path)
	default:
		if o != c {
			t.Errorf("%s %s: %v became %v", w.file, path, o, c)
		}
	}
}

func (w *pairWalk) str(o, c, path string) {
	t := w.t
	if id, ok := strings.CutPrefix(o, uuidPrefix); ok {
		n, ok := strings.CutPrefix(c, uuidPrefix)
		if !ok {
			t.Errorf("%s %s: %s became %s", w.file, path, o, c)
			return
		}
		w.mapped(id, n, path)
		if w.refs == nil {
			w.refs = map[string]bool{}
		}
		if !strings.HasSuffix(path, ".fullUrl") {
			w.refs[c] = true
		}
		return
	}
	if fhir.IsUUID(o) && w.full[o] {
		w.mapped(o, c, path)
		if path == "Patient.identifier.value" {
			w.identifiers = append(w.identifiers, c)
		}
		return
	}
	if len(o) >= 10 && o[4] == '-' && o[7] == '-' && isDigits(o[:4]) {
		od, e1 := time.Parse(time.DateOnly, o[:10])
		cd, e2 := time.Parse(time.DateOnly, c[:min(10, len(c))])
		if e1 == nil {
			if e2 != nil || int(cd.Sub(od).Hours()/24) != w.days || o[10:] != c[10:] {
				t.Errorf("%s %s: %s became %s, want it %d days earlier", w.file, path, o, c, -w.days)
			}
			return
		}
	}
	switch path {
	case "Patient.name.family", "Patient.name.given":
		if o == c {
			t.Errorf("%s %s: name %s unchanged", w.file, path, o)
		}
		return
	case "Patient.identifier.value":
		if o == c {
			t.Errorf("%s: identifier %s unchanged", w.file, o)
		}
		w.identifiers = append(w.identifiers, c)
		return
	}
	if o != c {
		t.Errorf("%s %s: %q became %q", w.file, path, o, c)
	}
	if strings.Contains(o, "?identifier=") {
		w.conditional++
	}
}

// mapped checks that old always becomes the same new UUID, and that no two
// old UUIDs become the same.
func (w *pairWalk) mapped(old, n, path string) {
	if !fhir.IsUUID(n) || n == old {
		w.t.Errorf("%s %s: UUID %s became %s", w.file, path, old, n)
	}
	if prev, ok := w.fwd[old]; ok && prev != n {
		w.t.Errorf("%s %s: %s became %s here and %s elsewhere", w.file, path, old, n, prev)
	}
	if prev, ok := w.back[n]; ok && prev != old {
		w.t.Errorf("%s %s: %s and %s both became %s", w.file, path, old, prev, n)
	}
	w.fwd[old], w.back[n] = n, old
}

func isDigits(s string) bool {
	_, ok := digits(s)
	return ok
}

func TestShiftDate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		days int
		want string
		ok   bool
	}{
		{"2020-03-01", -1, "2020-02-29", true},
		{"2021-01-01T00:52:32+01:00", -367, "2019-12-31T00:52:32+01:00", true},
		{"2019-05-05T10:00:00.123-05:00", -3650, "2009-05-07T10:00:00.123-05:00", true},
		{"2019-05-05T10:00Z", 10, "2019-05-15T10:00Z", true},
		{"2019-02-30", -1, "2019-02-30", false},
		{"2019-05", -1, "2019-05", false},
		{"1887", -1, "1887", false},
		{"2019-05-05 10:00", -1, "2019-05-05 10:00", false},
		{"2019-05-05T10", -1, "2019-05-05T10", false},
		{"999-11-7826", -1, "999-11-7826", false},
		{"8302-2", -1, "8302-2", false},
		{"0001-01-01", -1, "0001-01-01", false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := shiftDate(tc.in, tc.days)
			if got != tc.want || ok != tc.ok {
				t.Errorf("shiftDate(%q, %d) = %q, %v; want %q, %v", tc.in, tc.days, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestCopyUUID(t *testing.T) {
	a := copyUUID(1, 2, "5875d3aa-192c-6d05-221a-88a9cee35ff9")
	if !fhir.IsUUID(a) || a[14] != '4' || !strings.ContainsRune("89ab", rune(a[19])) {
		t.Errorf("%s is not a version 4 UUID", a)
	}
	for _, other := range []string{
		copyUUID(1, 3, "5875d3aa-192c-6d05-221a-88a9cee35ff9"),
		copyUUID(2, 2, "5875d3aa-192c-6d05-221a-88a9cee35ff9"),
		copyUUID(1, 2, "5875d3aa-192c-6d05-221a-88a9cee35ffa"),
	} {
		if other == a {
			t.Errorf("two inputs give %s", a)
		}
	}
	if copyUUID(1, 2, "5875d3aa-192c-6d05-221a-88a9cee35ff9") != a {
		t.Error("not deterministic")
	}
}
