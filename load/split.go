package load

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// DefaultBatchEntries bounds the entries of one batch request: a larger
// batch Bundle is posted in parts of this many entries, so that its progress
// advances as the server stores them. (Batch entries succeed or fail alone,
// so the parts mean the same as the whole; a transaction is all or nothing
// and is always posted whole.)
const DefaultBatchEntries = 500

// batchPart is a batch Bundle of some consecutive entries of a larger one.
type batchPart struct {
	body  []byte
	first int // index of its first entry in the whole Bundle
	count int
}

// splitBatch reads a batch Bundle from r and calls fn with parts of at most
// n entries, in order, holding one part in memory at a time. Each part
// repeats the members of the Bundle (id, meta …) that come before its
// entries in the file.
func splitBatch(r io.Reader, n int, fn func(batchPart) error) error {
	dec := json.NewDecoder(r)
	if err := expectDelim(dec, '{'); err != nil {
		return err
	}
	var entries []json.RawMessage
	var head bytes.Buffer // ,"id":"…" and the other members seen so far
	first := 0
	flush := func() error {
		if len(entries) == 0 {
			return nil
		}
		var b bytes.Buffer
		b.WriteString(`{"resourceType":"Bundle","type":"batch"`)
		b.Write(head.Bytes())
		b.WriteString(`,"entry":[`)
		for i, e := range entries {
			if i > 0 {
				b.WriteByte(',')
			}
			b.Write(e)
		}
		b.WriteString("]}")
		p := batchPart{body: b.Bytes(), first: first, count: len(entries)}
		first += len(entries)
		entries = entries[:0]
		return fn(p)
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("malformed Bundle: %w", err)
		}
		if key, _ := tok.(string); key != "entry" {
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				return fmt.Errorf("malformed Bundle: %w", err)
			}
			if key != "resourceType" && key != "type" {
				k, _ := json.Marshal(key)
				head.WriteByte(',')
				head.Write(k)
				head.WriteByte(':')
				head.Write(v)
			}
			continue
		}
		if err := expectDelim(dec, '['); err != nil {
			return err
		}
		for dec.More() {
			var e json.RawMessage
			if err := dec.Decode(&e); err != nil {
				return fmt.Errorf("malformed Bundle.entry[%d]: %w", first+len(entries), err)
			}
			if entries = append(entries, e); len(entries) == n {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		if err := expectDelim(dec, ']'); err != nil {
			return err
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return err
	}
	return flush()
}

// expectDelim reads the next token, which must be the delimiter d.
func expectDelim(dec *json.Decoder, d json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("malformed Bundle: %w", err)
	}
	if tok != d {
		return fmt.Errorf("malformed Bundle: %v where %v was expected", tok, d)
	}
	return nil
}
