package bench

import (
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/hce-fhir/hce/load"
)

// ManifestName is the file in which Generate describes the data set it
// wrote, last, so that a complete data set can be told from a partial one.
// It holds JSON but has no .json suffix: the loader must not send it.
const ManifestName = "manifest"

// GenerateOptions say what data set to write.
type GenerateOptions struct {
	// Source is the directory of the Synthea sample.
	Source string
	// Out is the directory the Bundles are written to; it is created, and
	// must hold nothing but an earlier data set.
	Out string
	// Resources is the least number of resources to write; the data set
	// ends with the first copy that reaches it. The batch Bundles count.
	Resources int
	// Seed decides everything that varies between copies.
	Seed int64
	// Workers is the number of Bundles written at once; zero means one per
	// CPU, at most 4.
	Workers int
}

// DataSet describes a generated data set: it is what the manifest holds.
type DataSet struct {
	// Seed and Target are the options it was made with.
	Seed   int64 `json:"seed"`
	Target int   `json:"target"`
	// Sources fingerprints the sample it was made from.
	Sources string `json:"sources"`
	// Resources counts every entry of every Bundle.
	Resources int `json:"resources"`
	// Files are the Bundles, in the order written: the batches, then the
	// copies.
	Files []File `json:"files"`
	// Complete is set once every file is written; until then the manifest
	// only lists what is to be written.
	Complete bool `json:"complete"`
	// Dir is where the files are, and Reused tells that Generate found
	// them there; neither is stored.
	Dir    string `json:"-"`
	Reused bool   `json:"-"`
}

// File is one Bundle of a data set.
type File struct {
	// Name is the file's name in the data set's directory.
	Name string `json:"name"`
	// Source is the name of the Synthea Bundle it was made from.
	Source string `json:"source"`
	// Copy is the copy's number k, or -1 for a batch Bundle copied as it is.
	Copy int `json:"copy"`
	// Resources counts its entries; Types counts them by resource type.
	Resources int            `json:"resources"`
	Types     map[string]int `json:"types,omitempty"`
	// Patient is the copy's Patient identifier, system|value.
	Patient string `json:"patient,omitempty"`
	// Days is how far the copy's dates moved.
	Days int `json:"days,omitempty"`
}

// Patients counts the data set's patient Bundles.
func (d *DataSet) Patients() int {
	n := 0
	for _, f := range d.Files {
		if f.Copy >= 0 {
			n++
		}
	}
	return n
}

// Types counts the data set's resources by type, batches included.
func (d *DataSet) Types() map[string]int {
	out := map[string]int{}
	for _, f := range d.Files {
		for t, n := range f.Types {
			out[t] += n
		}
	}
	return out
}

// Generate writes the data set of opt: the batch Bundles of the sample as
// they are, then copies of its patient Bundles until opt.Resources is
// reached. Round r of copies takes every patient Bundle once, in an order
// drawn from the seed; copy k is the k-th Bundle written, and its content
// depends on the seed and k alone.
//
// When opt.Out already holds the complete data set of the same seed, target
// and sample (its manifest says so), it is reused as it is.
func Generate(ctx context.Context, opt GenerateOptions) (*DataSet, error) {
	sources, err := ReadSources(ctx, opt.Source)
	if err != nil {
		return nil, err
	}
	fp := fingerprint(sources)
	if ds, err := readManifest(opt.Out); err == nil && ds.Seed == opt.Seed && ds.Target == opt.Resources && ds.Sources == fp && ds.complete() {
		ds.Reused = true
		return ds, nil
	}
	if err := prepareOut(opt.Out); err != nil {
		return nil, err
	}
	ds := &DataSet{Seed: opt.Seed, Target: opt.Resources, Sources: fp, Dir: opt.Out}
	var patients []*Source
	for i := range sources {
		s := &sources[i]
		if s.Kind != load.Batch {
			patients = append(patients, s)
			continue
		}
		ds.Files = append(ds.Files, File{Name: filepath.Base(s.Path), Source: filepath.Base(s.Path), Copy: -1, Resources: s.Entries})
		ds.Resources += s.Entries
	}
	plan := planCopies(patients, opt.Seed, opt.Resources-ds.Resources)
	// A manifest of what is to be written comes first, so that the files of
	// an interrupted run are known and removed by the next one.
	pending := *ds
	for _, p := range plan {
		pending.Files = append(pending.Files, File{Name: p.name(), Source: filepath.Base(p.src.Path), Copy: p.k})
	}
	if err := writeManifest(opt.Out, &pending); err != nil {
		return nil, err
	}
	for _, f := range ds.Files {
		if err := copyFile(filepath.Join(opt.Source, f.Source), filepath.Join(opt.Out, f.Name)); err != nil {
			return nil, err
		}
	}
	files, err := writeCopies(ctx, plan, opt)
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		ds.Resources += f.Resources
	}
	ds.Files = append(ds.Files, files...)
	ds.Complete = true
	if err := writeManifest(opt.Out, ds); err != nil {
		return nil, err
	}
	return ds, nil
}

// planned is one copy to write.
type planned struct {
	k   int
	src *Source
}

// name is the copy's file name: its number, which orders the files, and
// the start of its source's name.
func (p planned) name() string {
	stem := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(p.src.Path), ".gz"), ".json")
	if len(stem) > 8 {
		stem = stem[:8]
	}
	return fmt.Sprintf("%06d-%s.json.gz", p.k, stem)
}

// planCopies lists the copies that reach want resources (at least one).
func planCopies(patients []*Source, seed int64, want int) []planned {
	var plan []planned
	var order []int
	for k, n := 0, 0; n < want || k == 0; k++ {
		if k%len(patients) == 0 {
			round := uint64(k / len(patients))
			order = rand.New(rand.NewPCG(uint64(seed), 1<<63|round)).Perm(len(patients))
		}
		src := patients[order[k%len(patients)]]
		plan = append(plan, planned{k: k, src: src})
		n += src.Entries
	}
	return plan
}

// writeCopies writes the planned copies on opt.Workers goroutines and
// returns their files in plan order.
func writeCopies(ctx context.Context, plan []planned, opt GenerateOptions) ([]File, error) {
	workers := opt.Workers
	if workers < 1 {
		workers = min(runtime.GOMAXPROCS(0), 4)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	files := make([]File, len(plan))
	next := make(chan int)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for range workers {
		wg.Go(func() {
			for i := range next {
				f, err := writeCopy(plan[i], opt)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					cancel()
					continue
				}
				files[i] = f
			}
		})
	}
feed:
	for i := range plan {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return files, nil
}

// writeCopy writes one copy, gzip-compressed, under a temporary name that
// it renames when the file is complete.
func writeCopy(p planned, opt GenerateOptions) (File, error) {
	base, name := filepath.Base(p.src.Path), p.name()
	path := filepath.Join(opt.Out, name)
	out, err := os.Create(path + ".tmp")
	if err != nil {
		return File{}, fmt.Errorf("bench: %w", err)
	}
	defer os.Remove(path + ".tmp")
	zw, _ := gzip.NewWriterLevel(out, gzip.BestSpeed)
	c := newCopier(p.src, opt.Seed, p.k)
	err = c.write(zw)
	if err == nil {
		err = zw.Close()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(path+".tmp", path)
	}
	if err != nil {
		return File{}, fmt.Errorf("bench: write %s: %w", name, err)
	}
	return File{Name: name, Source: base, Copy: p.k, Resources: c.entries, Types: c.types, Patient: c.patient, Days: c.days}, nil
}

// fingerprint names the sample by its files' names and sizes.
func fingerprint(sources []Source) string {
	h := sha256.New()
	for _, s := range sources {
		fmt.Fprintf(h, "%s %d\n", filepath.Base(s.Path), s.Size)
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// complete reports whether the data set was written to its end and every
// file of it is still in its directory.
func (d *DataSet) complete() bool {
	if !d.Complete {
		return false
	}
	for _, f := range d.Files {
		if _, err := os.Stat(filepath.Join(d.Dir, f.Name)); err != nil {
			return false
		}
	}
	return len(d.Files) > 0
}

func readManifest(dir string) (*DataSet, error) {
	raw, err := os.ReadFile(filepath.Join(dir, ManifestName))
	if err != nil {
		return nil, err
	}
	var ds DataSet
	if err := json.Unmarshal(raw, &ds); err != nil {
		return nil, fmt.Errorf("bench: %s: %w", ManifestName, err)
	}
	ds.Dir = dir
	return &ds, nil
}

func writeManifest(dir string, ds *DataSet) error {
	raw, err := json.MarshalIndent(ds, "", " ")
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, ManifestName), append(raw, '\n'), 0o644); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	return nil
}

// prepareOut makes dir ready for a new data set: it creates it, and removes
// the files of an earlier data set (those its manifest lists). Any other
// Bundle or NDJSON file in it is an error: the loader would send it too.
func prepareOut(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	old := map[string]bool{ManifestName: true}
	if ds, err := readManifest(dir); err == nil {
		for _, f := range ds.Files {
			old[f.Name] = true
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	var foreign []string
	for _, e := range entries {
		n := e.Name()
		switch {
		case old[n] || strings.HasSuffix(n, ".tmp"):
			if err := os.Remove(filepath.Join(dir, n)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("bench: %w", err)
			}
		case strings.Contains(n, ".json") || strings.Contains(n, ".ndjson"):
			foreign = append(foreign, n)
		}
	}
	if len(foreign) > 0 {
		sort.Strings(foreign)
		return fmt.Errorf("bench: %s holds files that are not part of a data set (%s): choose an empty directory", dir, strings.Join(foreign, ", "))
	}
	return nil
}

// copyFile copies a file byte for byte.
func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("bench: copy %s: %w", from, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	return nil
}
