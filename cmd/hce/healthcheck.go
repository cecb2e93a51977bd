package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	neturl "net/url"
	"time"
)

// healthcheckCmd probes /healthz; container images without a shell use it as
// their health check.
func healthcheckCmd(ctx context.Context, args []string, stderr io.Writer) error {
	fs := newFlags("healthcheck", stderr)
	url := fs.String("url", "http://127.0.0.1:8080/healthz", "URL to probe, or the server's root to probe its /healthz (env HCE_URL is not used here)")
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	if u, err := neturl.Parse(*url); err == nil && (u.Path == "" || u.Path == "/") {
		u.Path = "/healthz"
		*url = u.String()
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s", *url, resp.Status)
	}
	return nil
}
