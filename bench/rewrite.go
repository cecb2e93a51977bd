package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/hce-fhir/hce/fhir"
)

// SyntheaSystem is the identifier system under which Synthea gives every
// Patient its UUID; a copy's Patient keeps the system with its new UUID.
const SyntheaSystem = "https://github.com/synthetichealth/synthea"

// maxShiftDays bounds how far back a copy's dates move: up to ten years.
const maxShiftDays = 3650

// copier writes copy k of one patient Bundle.
type copier struct {
	src    *Source
	seed   int64
	k      int
	days   int    // every date moves by this many days (negative: back)
	suffix string // makes a Patient identifier that is not a UUID fresh
	rng    *rand.Rand
	uuids  map[string]string

	// What the copy holds, for the manifest.
	types   map[string]int
	patient string // system|value of the Patient's identifier
	entries int
}

func newCopier(src *Source, seed int64, k int) *copier {
	rng := rand.New(rand.NewPCG(uint64(seed), uint64(k)))
	return &copier{
		src: src, seed: seed, k: k, rng: rng,
		days:   -1 - rng.IntN(maxShiftDays),
		suffix: "-" + strconv.FormatInt(seed, 10) + "-" + strconv.Itoa(k),
		uuids:  map[string]string{},
		types:  map[string]int{},
	}
}

// write reads the source Bundle and writes its copy to w. The copy is a
// transaction Bundle with resourceType and type first, so that a reader
// that sniffs the kind (load.Sniff) stops early.
func (c *copier) write(w io.Writer) error {
	rc, err := openBundle(c.src.Path)
	if err != nil {
		return err
	}
	defer rc.Close()
	bw := bufio.NewWriterSize(w, 256<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	if _, err := bw.WriteString(`{"resourceType":"Bundle","type":"transaction","entry":[`); err != nil {
		return err
	}
	var tail []string // other top-level members, written after the entries
	err = eachEntry(rc, func(dec *json.Decoder) error {
		var e map[string]any
		if err := dec.Decode(&e); err != nil {
			return err
		}
		c.entry(e)
		if c.entries > 1 {
			if err := bw.WriteByte(','); err != nil {
				return err
			}
		}
		return enc.Encode(e)
	}, func(key string, v json.RawMessage) error {
		if key != "resourceType" && key != "type" {
			k, _ := json.Marshal(key)
			tail = append(tail, string(k)+":"+string(v))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("bench: %s: %w", c.src.Path, err)
	}
	if _, err := bw.WriteString("]"); err != nil {
		return err
	}
	for _, m := range tail {
		if _, err := bw.WriteString("," + m); err != nil {
			return err
		}
	}
	if _, err := bw.WriteString("}\n"); err != nil {
		return err
	}
	return bw.Flush()
}

// entry rewrites one Bundle entry in place.
func (c *copier) entry(e map[string]any) {
	c.entries++
	res, _ := e["resource"].(map[string]any)
	typ, _ := res["resourceType"].(string)
	if typ != "" {
		c.types[typ]++
	}
	if typ == "Patient" {
		c.renamePatient(res)
	}
	c.walk(e)
	if typ == "Patient" && c.patient == "" {
		c.patient = patientIdentifier(res)
	}
}

// walk rewrites every string under v: internal references and ids, dates.
func (c *copier) walk(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = c.walk(e)
		}
	case []any:
		for i, e := range x {
			x[i] = c.walk(e)
		}
	case string:
		return c.str(x)
	}
	return v
}

// str rewrites one string: a urn:uuid reference, or a whole string that is
// the UUID of one of the Bundle's entries (its resource id, the identifier
// that repeats it), gets the copy's UUID; a date moves by c.days. Anything
// else, notably the conditional references to Practitioner, Organization
// and Location, stays as it is.
func (c *copier) str(s string) string {
	if id, ok := strings.CutPrefix(s, uuidPrefix); ok {
		return uuidPrefix + c.uuid(id)
	}
	if fhir.IsUUID(s) && c.src.fullURLs[s] {
		return c.uuid(s)
	}
	if t, ok := shiftDate(s, c.days); ok {
		return t
	}
	return s
}

func (c *copier) uuid(old string) string {
	if n, ok := c.uuids[old]; ok {
		return n
	}
	n := copyUUID(c.seed, c.k, old)
	c.uuids[old] = n
	return n
}

// renamePatient gives the Patient new names and fresh identifiers. An
// identifier whose value is one of the Bundle's UUIDs gets the copy's UUID
// from walk; any other value gets the copy's suffix, which makes it unique
// across copies and seeds.
func (c *copier) renamePatient(p map[string]any) {
	if ids, ok := p["identifier"].([]any); ok {
		for _, x := range ids {
			id, _ := x.(map[string]any)
			if v, ok := id["value"].(string); ok && !(fhir.IsUUID(v) && c.src.fullURLs[v]) {
				id["value"] = v + c.suffix
			}
		}
	}
	gender, _ := p["gender"].(string)
	names, _ := p["name"].([]any)
	family := pickFamily(c.rng)
	firstFamily := ""
	given := map[string]string{} // the same given name in two entries stays the same
	for i, x := range names {
		n, _ := x.(map[string]any)
		if f, ok := n["family"].(string); ok {
			switch {
			case i == 0 || firstFamily == "":
				firstFamily = f
				n["family"] = family
			case f == firstFamily:
				n["family"] = family
			default: // a maiden name
				n["family"] = pickFamily(c.rng)
			}
		}
		gs, _ := n["given"].([]any)
		for j, g := range gs {
			old, _ := g.(string)
			if _, ok := given[old]; !ok {
				given[old] = pickGiven(c.rng, gender)
			}
			gs[j] = given[old]
		}
	}
}

// patientIdentifier returns the Patient's Synthea identifier, or its first
// one, as system|value.
func patientIdentifier(p map[string]any) string {
	ids, _ := p["identifier"].([]any)
	first := ""
	for _, x := range ids {
		id, _ := x.(map[string]any)
		sys, _ := id["system"].(string)
		v, _ := id["value"].(string)
		if v == "" {
			continue
		}
		if sys == SyntheaSystem {
			return sys + "|" + v
		}
		if first == "" {
			first = sys + "|" + v
		}
	}
	return first
}
