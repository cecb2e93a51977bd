package bench

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrRemote is wrapped when the benchmark is pointed at, or would connect
// to, an address that is not loopback and Config.AllowRemote is not set.
var ErrRemote = errors.New("not a loopback address (allow it explicitly to benchmark a remote server)")

// CheckURL checks the FHIR base URL the benchmark is to use: an http or
// https URL whose host is a loopback address or localhost, unless
// allowRemote. It returns the URL without a trailing slash.
func CheckURL(raw string, allowRemote bool) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("bench: url %q: %w", raw, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("bench: url %q: want http(s)://host[:port]/path", raw)
	}
	if !allowRemote && !loopbackHost(u.Hostname()) {
		return "", fmt.Errorf("bench: url %q: %w", raw, ErrRemote)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// CheckDatabaseURL checks a PostgreSQL connection string the same way:
// every host it names is a loopback address, localhost or a Unix socket
// directory, unless allowRemote.
func CheckDatabaseURL(dsn string, allowRemote bool) (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("bench: database url: %w", err)
	}
	hosts := []string{cfg.Host}
	for _, f := range cfg.Fallbacks {
		hosts = append(hosts, f.Host)
	}
	for _, h := range hosts {
		if !allowRemote && !strings.HasPrefix(h, "/") && !loopbackHost(h) {
			return nil, fmt.Errorf("bench: database host %q: %w", h, ErrRemote)
		}
	}
	cfg.DialFunc = dialer(allowRemote).DialContext
	return cfg, nil
}

// loopbackHost reports whether a host name or IP literal is loopback:
// localhost (and names under .localhost, RFC 6761), 127.0.0.0/8 or ::1.
func loopbackHost(h string) bool {
	h = strings.TrimSuffix(strings.ToLower(h), ".")
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(h, "[]"))
	return ip != nil && ip.IsLoopback()
}

// dialer connects only to loopback addresses, unless allowRemote: the
// address is checked after name resolution, when the socket connects, so a
// name that resolves elsewhere is refused too.
func dialer(allowRemote bool) *net.Dialer {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if allowRemote {
		return d
	}
	d.Control = func(network, address string, _ syscall.RawConn) error {
		if strings.HasPrefix(network, "unix") {
			return nil
		}
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return fmt.Errorf("bench: dial %s: %w", address, err)
		}
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			return fmt.Errorf("bench: dial %s: %w", address, ErrRemote)
		}
		return nil
	}
	return d
}
