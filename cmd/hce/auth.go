package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/hce-fhir/hce/auth"
	"github.com/hce-fhir/hce/rest"
)

// authFlags configure authentication of hce serve.
type authFlags struct {
	mode     string // on, off, or "" (on unless the address is loopback)
	issuer   string
	jwksURL  string
	audience string
	keyFile  string
}

func (a *authFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&a.mode, "auth", "", "on or off; default on unless --addr is a loopback address (env HCE_AUTH)")
	fs.StringVar(&a.issuer, "auth-issuer", "", "OpenID Connect issuer whose tokens are accepted; its keys are found by discovery (env HCE_AUTH_ISSUER)")
	fs.StringVar(&a.jwksURL, "auth-jwks-url", "", "JWKS URL of the issuer's keys, used instead of discovery (env HCE_AUTH_JWKS_URL)")
	fs.StringVar(&a.audience, "auth-audience", "", "aud that tokens must carry; required with an external issuer, default \"hce\" for the server's own tokens (env HCE_AUTH_AUDIENCE)")
	fs.StringVar(&a.keyFile, "auth-key-file", "", "PEM private key of the server's own token issuer; default DATA_DIR/token-key.pem, generated on first use (env HCE_AUTH_KEY_FILE)")
}

// keyPath is the server's own signing key.
func (a *authFlags) keyPath(dataDir string) string {
	if a.keyFile != "" {
		return a.keyFile
	}
	return filepath.Join(dataDir, auth.KeyFile)
}

// enabled decides whether authentication is on for listen address addr.
func (a *authFlags) enabled(addr string) (bool, error) {
	switch strings.ToLower(a.mode) {
	case "on", "true", "1":
		return true, nil
	case "off", "false", "0":
		return false, nil
	case "":
		return !isLoopback(addr), nil
	}
	return false, fmt.Errorf("--auth must be on or off, not %q", a.mode)
}

// isLoopback reports whether addr (host:port) listens on loopback only.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// setup configures rest.Options for authentication: an external issuer
// (discovery or JWKS URL) when one is given, the server's own key otherwise.
func (a *authFlags) setup(ctx context.Context, addr, dataDir string, opt *rest.Options, log *slog.Logger) error {
	on, err := a.enabled(addr)
	if err != nil {
		return err
	}
	if !on {
		if !isLoopback(addr) {
			log.Warn("authentication is OFF on a non-loopback address: anyone who can reach " + addr + " can read and change every record")
		} else if a.mode != "" {
			log.Warn("authentication is off (--auth=off)")
		}
		return nil
	}
	if a.issuer == "" && a.jwksURL == "" {
		key, err := auth.LoadOrCreateKey(a.keyPath(dataDir))
		if err != nil {
			return err
		}
		iss, err := auth.NewIssuer(key, a.audience)
		if err != nil {
			return err
		}
		opt.Auth = iss.Verifier()
		log.Info("authentication on: accepting tokens of the server's own key; mint one with: hce token --scope 'system/*.cruds'",
			"key", a.keyPath(dataDir), "issuer", auth.LocalIssuer, "audience", iss.Audience())
		return nil
	}
	if a.audience == "" {
		return errors.New("--auth-audience is required with an external issuer: tokens meant for another service must not be accepted")
	}
	client := &http.Client{Timeout: 10 * time.Second}
	md := &auth.Metadata{Issuer: a.issuer, JWKSURI: a.jwksURL}
	if a.issuer != "" && a.jwksURL == "" {
		if md, err = auth.Discover(ctx, client, a.issuer); err != nil {
			return err
		}
	}
	if md.Issuer == "" {
		return errors.New("--auth-jwks-url needs --auth-issuer too: the iss claim is checked")
	}
	opt.Auth = auth.NewVerifier(md.Issuer, a.audience, auth.NewKeySet(md.JWKSURI, client))
	opt.SMART = md
	log.Info("authentication on", "issuer", md.Issuer, "jwks", md.JWKSURI, "audience", a.audience)
	return nil
}
