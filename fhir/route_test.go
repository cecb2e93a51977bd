package fhir

import (
	"testing"
)

func TestRouteOf(t *testing.T) {
	tests := []struct {
		id   string
		want int32
	}{
		{"00ff1c2e-0000-4000-8000-000000000000", 0x00ff},
		{"ffff1c2e-0000-4000-8000-000000000000", 0xffff},
		// Not a lowercase UUID: the first 16 bits of md5(id).
		{"FFFF1C2E-0000-4000-8000-000000000000", 0x2fac},
		{"example", 0x1a79},
		{"a", 0x0cc1},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			if got := RouteOf(tt.id); got != tt.want {
				t.Errorf("RouteOf(%q) = %#04x, want %#04x", tt.id, got, tt.want)
			}
		})
	}
}

func TestNewID(t *testing.T) {
	seen := map[string]bool{}
	for _, route := range []int32{0, 1, 0x1234, Routes - 1} {
		for i := 0; i < 100; i++ {
			id := NewID(route)
			if got := RouteOf(id); got != route {
				t.Fatalf("RouteOf(NewID(%d)) = %d (%s)", route, got, id)
			}
			if !ValidID(id) || id[14] != '4' {
				t.Fatalf("NewID(%d) = %q: not a valid version 4 UUID id", route, id)
			}
			if seen[id] {
				t.Fatalf("NewID repeated %s", id)
			}
			seen[id] = true
		}
	}
}
