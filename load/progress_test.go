package load

import (
	"testing"
	"time"
)

func TestRenderBar(t *testing.T) {
	tests := []struct {
		name  string
		s     snapshot
		width int
		want  string
	}{
		{"start", snapshot{filesTotal: 42, bytesTotal: 1000}, 0,
			"[>                   ]   0%  0/42 files  0 resources  0/s  ETA --"},
		{"a quarter", snapshot{filesDone: 10, filesTotal: 42, resources: 5000, bytesDone: 250, bytesTotal: 1000, elapsed: 10 * time.Second}, 0,
			"[=====>              ]  25%  10/42 files  5000 resources  500/s  ETA 30s"},
		{"done", snapshot{filesDone: 42, filesTotal: 42, resources: 90000, bytesDone: 1000, bytesTotal: 1000, elapsed: time.Minute}, 0,
			"[====================] 100%  42/42 files  90000 resources  1500/s  ETA 0s"},
		{"failures", snapshot{filesDone: 1, filesTotal: 2, resources: 10, failed: 3, bytesDone: 500, bytesTotal: 1000, elapsed: time.Second}, 0,
			"[==========>         ]  50%  1/2 files  10 resources  10/s  ETA 1s  3 failed"},
		{"cut to the terminal", snapshot{filesTotal: 1, bytesTotal: 10}, 30,
			"[>                   ]   0%  "}, // width-1: the last column would wrap
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := renderBar(tt.s, tt.width); got != tt.want {
				t.Errorf("renderBar =\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}
