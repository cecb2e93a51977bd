package embedpg

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestStartStopRestart(t *testing.T) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "embedpg-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	t.Cleanup(func() { os.RemoveAll(dir) })

	srv, err := Start(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	exec := func(url, sql string) {
		t.Helper()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	exec(srv.URL(), `CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)`)

	// Only a Unix socket in a private directory: no TCP listener at all.
	if fi, err := os.Stat(srv.socket); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("socket dir %s: %v, %v; want mode 0700", srv.socket, fi, err)
	}
	if strings.Contains(srv.URL(), "127.0.0.1") || strings.Contains(srv.URL(), "localhost") {
		t.Fatalf("URL %s reaches the server over TCP", srv.URL())
	}
	var listen string
	conn, err := pgx.Connect(ctx, srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(ctx, `SHOW listen_addresses`).Scan(&listen); err != nil || listen != "" {
		t.Fatalf("listen_addresses %q, %v; want none", listen, err)
	}
	conn.Close(ctx)

	if _, err := Start(ctx, dir, nil); !errors.Is(err, ErrInUse) {
		t.Errorf("second Start on a locked dir: %v, want ErrInUse", err)
	}
	if err := srv.Stop(ctx); err != nil {
		t.Fatal(err)
	}

	srv, err = Start(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop(ctx)
	conn, err = pgx.Connect(ctx, srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var v int
	if err := conn.QueryRow(ctx, `SELECT v FROM kept`).Scan(&v); err != nil || v != 42 {
		t.Fatalf("data after restart: %d, %v", v, err)
	}
}

// TestUnreachableDataDir starts the embedded server, as root, in a data dir
// below a directory the postgres user cannot enter (a checkout under /root):
// the cluster goes to a directory under /var/lib/hce linked from dir/pg, and
// a restart finds the same data.
func TestUnreachableDataDir(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only as root is PostgreSQL run as another user")
	}
	ctx := context.Background()
	parent, err := os.MkdirTemp("", "embedpg-private-") // mode 0700
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(parent) })
	dir := filepath.Join(parent, "data")
	srv, err := Start(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	target, err := os.Readlink(filepath.Join(dir, "pg"))
	if err != nil || !strings.HasPrefix(target, sharedClusters+"/") {
		srv.Stop(ctx)
		t.Fatalf("dir/pg links to %q (%v), want a cluster under %s", target, err, sharedClusters)
	}
	t.Cleanup(func() { os.RemoveAll(target) })
	conn, err := pgx.Connect(ctx, srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE kept (x int); INSERT INTO kept VALUES (7)`); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	if err := srv.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	srv, err = Start(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop(ctx)
	conn, err = pgx.Connect(ctx, srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var x int
	if err := conn.QueryRow(ctx, `SELECT x FROM kept`).Scan(&x); err != nil || x != 7 {
		t.Fatalf("after a restart: %d, %v", x, err)
	}
}
