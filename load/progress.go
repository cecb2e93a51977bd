package load

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// barInterval is how often the progress bar is redrawn: often enough to look
// live, rarely enough to cost nothing.
const barInterval = 200 * time.Millisecond

// progress reports what Load has done: a one-line bar redrawn in place on a
// terminal, or one plain line per file otherwise.
type progress struct {
	w          io.Writer // nil: silent
	bar        bool
	width      int
	start      time.Time
	filesTotal int
	bytesTotal int64

	filesDone atomic.Int64
	resources atomic.Int64
	failed    atomic.Int64
	bytesDone atomic.Int64

	mu   sync.Mutex // serialises writes to w
	stop chan struct{}
	done chan struct{}
}

func newProgress(w io.Writer, bar bool, width int, inputs []Input) *progress {
	p := &progress{w: w, bar: bar && w != nil, width: width, start: time.Now(), filesTotal: len(inputs)}
	for _, in := range inputs {
		p.bytesTotal += in.Size
	}
	if p.bar {
		p.stop, p.done = make(chan struct{}), make(chan struct{})
		go p.loop()
	}
	return p
}

// loop redraws the bar until close.
func (p *progress) loop() {
	defer close(p.done)
	t := time.NewTicker(barInterval)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.mu.Lock()
			p.draw()
			p.mu.Unlock()
		}
	}
}

// draw writes the bar over the previous one; p.mu is held.
func (p *progress) draw() {
	line := renderBar(p.snapshot(), p.width)
	fmt.Fprint(p.w, "\r"+line+"\x1b[K")
}

// snapshot is the state the bar shows.
type snapshot struct {
	filesDone, filesTotal int
	resources, failed     int64
	bytesDone, bytesTotal int64
	elapsed               time.Duration
}

func (p *progress) snapshot() snapshot {
	return snapshot{
		filesDone: int(p.filesDone.Load()), filesTotal: p.filesTotal,
		resources: p.resources.Load(), failed: p.failed.Load(),
		bytesDone: p.bytesDone.Load(), bytesTotal: p.bytesTotal,
		elapsed: time.Since(p.start),
	}
}

// renderBar draws one line: a bar of the bytes read, files done of total,
// resources done, the rate, failures if any, and an ETA extrapolated from the bytes read so
// far (resources vary too much in size to predict from counts). The line is
// cut to width when width is positive.
func renderBar(s snapshot, width int) string {
	const cells = 20
	frac := 0.0
	if s.bytesTotal > 0 {
		frac = min(1, float64(s.bytesDone)/float64(s.bytesTotal))
	}
	full := int(frac * cells)
	bar := strings.Repeat("=", full)
	if full < cells {
		bar += ">" + strings.Repeat(" ", cells-full-1)
	}
	eta := "--"
	if s.bytesDone > 0 && s.bytesDone < s.bytesTotal && s.elapsed > 0 {
		left := time.Duration(float64(s.elapsed) * float64(s.bytesTotal-s.bytesDone) / float64(s.bytesDone))
		eta = left.Round(time.Second).String()
	} else if s.bytesTotal > 0 && s.bytesDone >= s.bytesTotal {
		eta = "0s"
	}
	line := fmt.Sprintf("[%s] %3.0f%%  %d/%d files  %d resources  %s/s  ETA %s",
		bar, frac*100, s.filesDone, s.filesTotal, s.resources, rate(s.resources, s.elapsed), eta)
	if s.failed > 0 {
		line += fmt.Sprintf("  %d failed", s.failed)
	}
	if width > 0 && len(line) >= width {
		line = line[:width-1]
	}
	return line
}

// rate formats resources per second.
func rate(n int64, d time.Duration) string {
	if d <= 0 {
		return "0"
	}
	return fmt.Sprintf("%.0f", float64(n)/d.Seconds())
}

// fileDone counts a finished file and, without a bar, prints its line.
func (p *progress) fileDone(in Input, resources, failed int64, took time.Duration) {
	p.filesDone.Add(1)
	if p.w == nil || p.bar {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d resources", in.Path, resources)
	if failed > 0 {
		fmt.Fprintf(&b, ", %d failed", failed)
	}
	fmt.Fprintf(&b, " (%s, %.1fs)\n", in.Kind, took.Seconds())
	p.mu.Lock()
	io.WriteString(p.w, b.String())
	p.mu.Unlock()
}

// partDone prints, without a bar, the line of one part of a batch Bundle
// posted in parts.
func (p *progress) partDone(in Input, first, count int, resources, failed int64) {
	if p.w == nil || p.bar {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: entries %d-%d: %d resources", in.Path, first, first+count-1, resources)
	if failed > 0 {
		fmt.Fprintf(&b, ", %d failed", failed)
	}
	b.WriteString("\n")
	p.mu.Lock()
	io.WriteString(p.w, b.String())
	p.mu.Unlock()
}

// finish stops the bar and prints the failures (when listed) and the
// summary line.
func (p *progress) finish(s *Summary, listFailures bool) {
	if p.bar {
		close(p.stop)
		<-p.done
	}
	if p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar {
		p.draw() // the final state, left on screen
		fmt.Fprintln(p.w)
	}
	if listFailures && len(s.Failures) > 0 {
		fmt.Fprintf(p.w, "%d failed:\n", len(s.Failures))
		for i := range s.Failures {
			fmt.Fprintf(p.w, "  %s\n", s.Failures[i].Error())
		}
	}
	fmt.Fprintln(p.w, s.String())
}
