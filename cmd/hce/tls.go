package main

import (
	"crypto/tls"
	"errors"
	"flag"
	"net"
	"net/http"
	"strings"
)

// tlsFlags make hce serve answer HTTPS.
type tlsFlags struct {
	cert, key string
}

func (t *tlsFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&t.cert, "tls-cert", "", "PEM certificate (chain) to serve HTTPS with; needs --tls-key (env HCE_TLS_CERT)")
	fs.StringVar(&t.key, "tls-key", "", "PEM private key of --tls-cert (env HCE_TLS_KEY)")
}

func (t *tlsFlags) scheme() string {
	if t.cert != "" {
		return "https"
	}
	return "http"
}

// serve serves srv on ln, over TLS 1.2 or later when a certificate is set.
func (t *tlsFlags) serve(srv *http.Server, ln net.Listener) error {
	if t.cert == "" && t.key == "" {
		return srv.Serve(ln)
	}
	if t.cert == "" || t.key == "" {
		return errors.New("--tls-cert and --tls-key go together")
	}
	srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	return srv.ServeTLS(ln, t.cert, t.key)
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
