package main

import "testing"

func TestAuthDefault(t *testing.T) {
	tests := []struct {
		mode, addr string
		want       bool
		wantErr    bool
	}{
		{"", "127.0.0.1:8080", false, false},
		{"", "[::1]:8080", false, false},
		{"", "localhost:8080", false, false},
		{"", "0.0.0.0:8080", true, false},
		{"", ":8080", true, false},
		{"", "10.1.2.3:8080", true, false},
		{"on", "127.0.0.1:8080", true, false},
		{"off", "0.0.0.0:8080", false, false},
		{"maybe", "127.0.0.1:8080", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.mode+" "+tt.addr, func(t *testing.T) {
			got, err := (&authFlags{mode: tt.mode}).enabled(tt.addr)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("enabled = %v, %v; want %v (error %v)", got, err, tt.want, tt.wantErr)
			}
		})
	}
}
