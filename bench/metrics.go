package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
)

// PeakRSSMetric is the gauge of the server's /metrics that holds its peak
// resident set size in bytes (VmHWM).
const PeakRSSMetric = "hce_process_peak_rss_bytes"

// peakRSS reads the server's peak resident set size from its /metrics.
func peakRSS(ctx context.Context, c *client) (int64, error) {
	r, err := c.get(ctx, "/metrics")
	if err != nil {
		return 0, fmt.Errorf("bench: GET /metrics: %w", err)
	}
	if !r.ok() {
		return 0, fmt.Errorf("bench: GET /metrics: status %d", r.status)
	}
	return metricValue(r.body, PeakRSSMetric)
}

// metricValue finds an unlabelled sample in the Prometheus text format.
func metricValue(text []byte, name string) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), name)
		if !ok || !strings.HasPrefix(rest, " ") {
			continue
		}
		f := strings.Fields(rest)
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			return 0, fmt.Errorf("bench: %s: %w", name, err)
		}
		return int64(v), nil
	}
	return 0, fmt.Errorf("bench: the server's /metrics has no %s", name)
}
