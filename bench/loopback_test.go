package bench

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestCheckURL(t *testing.T) {
	for _, tc := range []struct {
		url    string
		remote bool
		want   string // "" for an error
		remErr bool   // the error is ErrRemote
	}{
		{"http://127.0.0.1:8080/fhir", false, "http://127.0.0.1:8080/fhir", false},
		{"http://127.0.0.1:8080/fhir/", false, "http://127.0.0.1:8080/fhir", false},
		{"http://127.9.9.9/fhir", false, "http://127.9.9.9/fhir", false},
		{"http://localhost:8080/fhir", false, "http://localhost:8080/fhir", false},
		{"http://LOCALHOST./fhir", false, "http://LOCALHOST./fhir", false},
		{"http://hce.localhost/fhir", false, "http://hce.localhost/fhir", false},
		{"https://[::1]:8443/fhir", false, "https://[::1]:8443/fhir", false},
		{"http://10.0.0.5:8080/fhir", false, "", true},
		{"http://example.org/fhir", false, "", true},
		{"http://localhost.example.org/fhir", false, "", true},
		{"http://127.0.0.1.example.org/fhir", false, "", true},
		{"http://[::ffff:10.0.0.1]/fhir", false, "", true},
		{"http://0.0.0.0:8080/fhir", false, "", true},
		{"http://example.org/fhir", true, "http://example.org/fhir", false},
		{"ftp://127.0.0.1/fhir", false, "", false},
		{"127.0.0.1:8080/fhir", false, "", false},
		{"http://user:pw@127.0.0.1/fhir", false, "", false},
		{"http://127.0.0.1/fhir?x=1", false, "", false},
		{"http:///fhir", false, "", false},
	} {
		t.Run(tc.url, func(t *testing.T) {
			got, err := CheckURL(tc.url, tc.remote)
			if got != tc.want || (err == nil) != (tc.want != "") || errors.Is(err, ErrRemote) != tc.remErr {
				t.Errorf("CheckURL(%q, %v) = %q, %v", tc.url, tc.remote, got, err)
			}
		})
	}
}

func TestCheckDatabaseURL(t *testing.T) {
	for _, tc := range []struct {
		dsn string
		ok  bool
	}{
		{"postgres://postgres@127.0.0.1:5432/hce?sslmode=disable", true},
		{"postgres://postgres@localhost/hce", true},
		{"host=/var/run/postgresql dbname=hce", true},
		{"postgres://postgres@db.example.org/hce", false},
		{"postgres://postgres@127.0.0.1,db.example.org/hce", false},
		{"host=10.1.1.1 dbname=hce", false},
	} {
		t.Run(tc.dsn, func(t *testing.T) {
			_, err := CheckDatabaseURL(tc.dsn, false)
			if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrRemote)) {
				t.Errorf("CheckDatabaseURL(%q) = %v", tc.dsn, err)
			}
			if _, err := CheckDatabaseURL(tc.dsn, true); err != nil {
				t.Errorf("with allowRemote: %v", err)
			}
		})
	}
}

// TestDialerRefusesRemote: whatever a name resolves to, the connection is
// checked when it is made.
func TestDialerRefusesRemote(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := dialer(false).DialContext(ctx, "tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("loopback refused: %v", err)
	}
	c.Close()
	// 192.0.2.1 is TEST-NET-1: never routed, so nothing leaves the machine
	// even if the check failed to stop it.
	if _, err := dialer(false).DialContext(ctx, "tcp", "192.0.2.1:80"); !errors.Is(err, ErrRemote) {
		t.Errorf("a remote address: %v, want ErrRemote", err)
	}
}

// FuzzCheckURL: CheckURL never accepts a host that is not loopback, and
// what it accepts parses back to the same host.
func FuzzCheckURL(f *testing.F) {
	for _, s := range []string{
		"http://127.0.0.1:8080/fhir", "http://localhost/fhir", "https://[::1]/fhir", "http://10.0.0.1/",
		"http://example.org", "http://127.0.0.1@example.org/", "http://[::ffff:127.0.0.1]/", "http://0x7f.1/",
		"http://%31%32%37.0.0.1/", "http://localhost%2eexample.org/", "http://127.0.0.1:80:80/", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, err := CheckURL(raw, false)
		if err != nil {
			return
		}
		u, perr := url.Parse(got)
		if perr != nil {
			t.Fatalf("CheckURL(%q) = %q, which does not parse: %v", raw, got, perr)
		}
		if !loopbackHost(u.Hostname()) {
			t.Fatalf("CheckURL(%q) accepted host %q", raw, u.Hostname())
		}
		if strings.HasSuffix(got, "/") {
			t.Fatalf("CheckURL(%q) = %q ends with /", raw, got)
		}
	})
}
