package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/hce-fhir/hce/auth"
)

// tokenCmd mints a token with the server's own key: `hce token`.
func tokenCmd(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("token", stderr)
	var (
		req              auth.TokenRequest
		dataDir, keyFile string
		audience, out    string
	)
	fs.StringVar(&req.Scope, "scope", "", "space-separated SMART scopes, e.g. 'system/*.cruds' or 'patient/*.rs' (required)")
	fs.StringVar(&req.Patient, "patient", "", "patient claim: the Patient id that patient/ scopes are bound to")
	fs.StringVar(&req.Subject, "sub", "hce-token", "sub claim")
	fs.StringVar(&req.FHIRUser, "fhir-user", "", "fhirUser claim, e.g. Practitioner/123")
	fs.DurationVar(&req.TTL, "ttl", time.Hour, "how long the token is valid")
	fs.StringVar(&dataDir, "data-dir", "./.hce", "data directory of the server, which holds its key (env HCE_DATA_DIR)")
	fs.StringVar(&keyFile, "auth-key-file", "", "the server's signing key; default DATA_DIR/"+auth.KeyFile+" (env HCE_AUTH_KEY_FILE)")
	fs.StringVar(&audience, "auth-audience", "", "aud claim; must match the server's --auth-audience, default \"hce\" (env HCE_AUTH_AUDIENCE)")
	fs.StringVar(&out, "o", "", "write the token to this file (mode 0600) instead of standard output")
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: hce token --scope SCOPES [--patient ID] [--ttl 1h]

Prints a bearer token signed with the server's own key (generated on first
use, mode 0600). The server accepts it when no external issuer is
configured. Use it as: curl -H "Authorization: Bearer $(hce token --scope 'system/*.cruds')" ...

`)
		fs.PrintDefaults()
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if req.Scope == "" {
		fs.Usage()
		return errUsage
	}
	if keyFile == "" {
		keyFile = filepath.Join(dataDir, auth.KeyFile)
	}
	key, err := auth.LoadOrCreateKey(keyFile)
	if err != nil {
		return err
	}
	iss, err := auth.NewIssuer(key, audience)
	if err != nil {
		return err
	}
	tok, err := iss.Mint(req)
	if err != nil {
		return err
	}
	if out != "" {
		if err := os.WriteFile(out, []byte(tok+"\n"), 0o600); err != nil {
			return fmt.Errorf("write token: %w", err)
		}
		return nil
	}
	_, err = fmt.Fprintln(stdout, tok)
	return err
}
