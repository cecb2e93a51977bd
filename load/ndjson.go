package load

import (
	"bufio"
	"bytes"
	"io"
)

// chunk is a run of NDJSON lines posted in one request.
type chunk struct {
	body  []byte // the lines, trimmed, each ending in '\n'
	lines []int  // the 1-based line in the file of each line of body
	raw   int64  // bytes of the file (compressed, if it is) read for it
}

// span describes the chunk's lines for a message.
func (c *chunk) span() (first, last int) { return c.lines[0], c.lines[len(c.lines)-1] }

// chunker splits NDJSON into chunks of at most maxLines lines and, unless a
// single line is larger, maxBytes bytes, always at line boundaries. Blank
// lines are dropped; the line numbers still count them, so failures point at
// the right line of the file.
type chunker struct {
	r        *bufio.Reader
	maxLines int
	maxBytes int
	lineNo   int
	held     []byte // a line that did not fit in the previous chunk
	heldNo   int
	long     []byte // reused buffer for lines longer than r's buffer
}

func newChunker(r io.Reader, maxLines, maxBytes int) *chunker {
	return &chunker{r: bufio.NewReaderSize(r, 1<<20), maxLines: maxLines, maxBytes: maxBytes}
}

// next returns the next chunk, or io.EOF after the last.
func (c *chunker) next() (*chunk, error) {
	ch := &chunk{}
	if c.held != nil {
		ch.add(c.held, c.heldNo)
		c.held = nil
	}
	for len(ch.lines) < c.maxLines {
		line, err := c.readLine()
		if len(line) == 0 && err != nil {
			if err == io.EOF {
				break
			}
			return nil, err
		}
		c.lineNo++
		if c.lineNo == 1 {
			line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
		}
		line = bytes.TrimSpace(line)
		switch {
		case len(line) == 0:
		case len(ch.lines) > 0 && len(ch.body)+len(line)+1 > c.maxBytes:
			c.held, c.heldNo = append([]byte(nil), line...), c.lineNo
		default:
			ch.add(line, c.lineNo)
		}
		if c.held != nil || err == io.EOF {
			break
		}
	}
	if len(ch.lines) == 0 {
		return nil, io.EOF
	}
	return ch, nil
}

func (ch *chunk) add(line []byte, no int) {
	ch.body = append(append(ch.body, line...), '\n')
	ch.lines = append(ch.lines, no)
}

// readLine returns the next line, valid until the next call. The last line
// may lack its newline; the error is then io.EOF alongside the line.
func (c *chunker) readLine() ([]byte, error) {
	line, err := c.r.ReadSlice('\n')
	if err != bufio.ErrBufferFull {
		return line, err
	}
	c.long = append(c.long[:0], line...)
	for err == bufio.ErrBufferFull {
		line, err = c.r.ReadSlice('\n')
		c.long = append(c.long, line...)
	}
	return c.long, err
}
