package main

import (
	"bytes"
	"os"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// peakRSSGauge is hce_process_peak_rss_bytes, the process's peak resident
// set size (VmHWM in /proc/self/status), which `hce bench` reports. It is
// nil where /proc/self/status has no VmHWM (not Linux).
func peakRSSGauge() prometheus.Collector {
	if _, ok := readPeakRSS(); !ok {
		return nil
	}
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "hce_process_peak_rss_bytes",
		Help: "Peak resident set size of the process in bytes (VmHWM).",
	}, func() float64 {
		n, _ := readPeakRSS()
		return float64(n)
	})
}

func readPeakRSS() (int64, bool) {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	return parseVmHWM(status)
}

// parseVmHWM reads the VmHWM line of a /proc/PID/status ("VmHWM:  1234 kB").
func parseVmHWM(status []byte) (int64, bool) {
	for line := range bytes.Lines(status) {
		rest, ok := bytes.CutPrefix(line, []byte("VmHWM:"))
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) != 2 || string(f[1]) != "kB" {
			return 0, false
		}
		kb, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil || kb < 0 {
			return 0, false
		}
		return kb << 10, true
	}
	return 0, false
}
