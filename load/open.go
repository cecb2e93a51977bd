package load

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"sync/atomic"
)

// gzipMagic starts every gzip stream (RFC 1952, section 2.3.1).
var gzipMagic = []byte{0x1f, 0x8b}

// open returns the decompressed content of in. Every byte read from the
// underlying file (compressed or not) is added to counted, which tells how
// far into the file a chunk of NDJSON ends; counted may be nil.
func (in *Input) open(counted *atomic.Int64) (*readCloser, error) {
	var raw io.Reader
	var closeRaw func() error
	if in.Path == StdinPath {
		raw, closeRaw = bytes.NewReader(in.data), func() error { return nil }
	} else {
		f, err := os.Open(in.Path)
		if err != nil {
			return nil, err
		}
		raw, closeRaw = f, f.Close
	}
	if counted != nil {
		raw = &countingReader{r: raw, n: counted}
	}
	rc, gzipped, err := decompress(raw)
	if err != nil {
		closeRaw()
		return nil, fmt.Errorf("%s: %w", in.Path, err)
	}
	size := in.Size
	if gzipped {
		size = -1
	}
	return &readCloser{Reader: rc, size: size, close: closeRaw}, nil
}

// decompress wraps r in a gzip reader when it starts with the gzip magic
// bytes, whatever the file is called.
func decompress(r io.Reader) (_ io.Reader, gzipped bool, _ error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(len(gzipMagic))
	if !bytes.Equal(head, gzipMagic) {
		return br, false, nil
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		return nil, true, fmt.Errorf("gzip: %w", err)
	}
	return zr, true, nil
}

// readCloser closes the file under a decompressing reader.
type readCloser struct {
	io.Reader
	size  int64 // bytes the reader yields; -1 when unknown (gzip)
	close func() error
}

func (r *readCloser) Close() error { return r.close() }

// countingReader adds the bytes it reads to n.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}
