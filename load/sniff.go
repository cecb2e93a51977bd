package load

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Kind is what an input holds, and so how it is posted.
type Kind int

// The kinds of input Load understands.
const (
	// Batch is a Bundle of type batch: each entry succeeds or fails alone.
	Batch Kind = iota + 1
	// Transaction is a Bundle of type transaction: all entries or none.
	Transaction
	// NDJSON is one resource per line, as FHIR Bulk Data export writes it.
	NDJSON
)

// String names the kind as the FHIR specification does.
func (k Kind) String() string {
	switch k {
	case Batch:
		return "batch"
	case Transaction:
		return "transaction"
	case NDJSON:
		return "ndjson"
	}
	return "unknown"
}

// ErrFormat is wrapped when an input is neither a batch or transaction Bundle
// nor NDJSON.
var ErrFormat = errors.New("not a batch or transaction Bundle, nor NDJSON")

// Sniff tells what the (already decompressed) content of r is. It reads the
// first JSON object only, and stops early once the answer is known: a Bundle
// is recognised by its resourceType and type wherever they appear among the
// top-level members; anything else is NDJSON when that first object is a
// resource that ends on the line it starts on. Leading white space and a
// UTF-8 byte order mark are skipped.
func Sniff(r io.Reader) (Kind, error) {
	br := bufio.NewReader(r)
	if err := skipSpace(br); err != nil {
		if err == io.EOF {
			return 0, fmt.Errorf("%w: the input is empty", ErrFormat)
		}
		return 0, err
	}
	nl := &newlineTracker{r: br, first: -1}
	dec := json.NewDecoder(nl)
	dec.UseNumber() // numbers are skipped, never converted: 1e999 must not fail
	tok, err := dec.Token()
	if err != nil {
		return 0, syntaxError(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return 0, fmt.Errorf("%w: it does not start with a JSON object", ErrFormat)
	}
	var resourceType, bundleType string
	var haveType bool
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return 0, syntaxError(err)
		}
		key, _ := tok.(string)
		switch key {
		case "resourceType", "type":
			tok, err := dec.Token()
			if err != nil {
				return 0, syntaxError(err)
			}
			s, isString := tok.(string)
			if d, ok := tok.(json.Delim); ok {
				if err := skipRest(dec, d); err != nil {
					return 0, err
				}
			}
			if key == "resourceType" {
				if !isString {
					return 0, fmt.Errorf("%w: resourceType is not a string", ErrFormat)
				}
				resourceType = s
			} else {
				bundleType, haveType = s, isString
			}
		default:
			if err := skipValue(dec); err != nil {
				return 0, err
			}
		}
		if resourceType == "Bundle" && haveType {
			return bundleKind(bundleType)
		}
		if resourceType != "" && resourceType != "Bundle" && nl.before(dec.InputOffset()) {
			return 0, fmt.Errorf("%w: a single %s resource spread over several lines", ErrFormat, resourceType)
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return 0, syntaxError(err)
	}
	switch {
	case resourceType == "":
		return 0, fmt.Errorf("%w: the first JSON object has no resourceType", ErrFormat)
	case resourceType == "Bundle":
		return 0, fmt.Errorf("%w: a Bundle without a type", ErrFormat)
	case nl.before(dec.InputOffset()):
		return 0, fmt.Errorf("%w: a single %s resource spread over several lines", ErrFormat, resourceType)
	}
	return NDJSON, nil
}

// bundleKind maps Bundle.type to a Kind; only batch and transaction can be
// posted to the base.
func bundleKind(t string) (Kind, error) {
	switch t {
	case "batch":
		return Batch, nil
	case "transaction":
		return Transaction, nil
	}
	return 0, fmt.Errorf("%w: a Bundle of type %q", ErrFormat, t)
}

// skipSpace consumes white space and a byte order mark, leaving the first
// significant byte unread.
func skipSpace(br *bufio.Reader) error {
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, []byte("\xef\xbb\xbf")) {
		br.Discard(3)
	}
	for {
		c, err := br.ReadByte()
		if err != nil {
			return err
		}
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return br.UnreadByte()
	}
}

// skipValue consumes one JSON value.
func skipValue(dec *json.Decoder) error {
	tok, err := dec.Token()
	if err != nil {
		return syntaxError(err)
	}
	if d, ok := tok.(json.Delim); ok {
		return skipRest(dec, d)
	}
	return nil
}

// skipRest consumes the rest of the array or object that opened with d,
// token by token, so that a large value is never held in memory.
func skipRest(dec *json.Decoder, d json.Delim) error {
	if d != '{' && d != '[' {
		return nil
	}
	depth := 1
	for depth > 0 {
		tok, err := dec.Token()
		if err != nil {
			return syntaxError(err)
		}
		if d, ok := tok.(json.Delim); ok {
			if d == '{' || d == '[' {
				depth++
			} else {
				depth--
			}
		}
	}
	return nil
}

// syntaxError explains a JSON error in terms of the formats Load accepts.
func syntaxError(err error) error {
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: the JSON ends early", ErrFormat)
	}
	return fmt.Errorf("%w: %v", ErrFormat, err)
}

// newlineTracker remembers the offset of the first newline it passes on, so
// Sniff can tell a one-line resource (NDJSON) from a pretty-printed one.
type newlineTracker struct {
	r     io.Reader
	n     int64 // bytes passed on so far
	first int64 // offset of the first '\n', -1 while none seen
}

func (t *newlineTracker) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if t.first < 0 {
		if i := bytes.IndexByte(p[:n], '\n'); i >= 0 {
			t.first = t.n + int64(i)
		}
	}
	t.n += int64(n)
	return n, err
}

// before reports whether a newline occurs before offset.
func (t *newlineTracker) before(offset int64) bool {
	return t.first >= 0 && t.first < offset
}
