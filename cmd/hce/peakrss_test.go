package main

import "testing"

func TestParseVmHWM(t *testing.T) {
	for _, tc := range []struct {
		name, status string
		want         int64
		ok           bool
	}{
		{"linux", "Name:\thce\nVmPeak:\t  812344 kB\nVmHWM:\t   48152 kB\nVmRSS:\t   40000 kB\n", 48152 << 10, true},
		{"last line without newline", "VmHWM:\t1 kB", 1024, true},
		{"missing", "Name:\thce\nVmRSS:\t40000 kB\n", 0, false},
		{"other unit", "VmHWM:\t48 MB\n", 0, false},
		{"not a number", "VmHWM:\tlots kB\n", 0, false},
		{"empty", "", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := parseVmHWM([]byte(tc.status))
			if got != tc.want || ok != tc.ok {
				t.Errorf("parseVmHWM = %d, %v; want %d, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
	if n, ok := readPeakRSS(); ok && n <= 0 {
		t.Errorf("this process's peak RSS is %d", n)
	}
}
