package embedpg

import (
	"context"
	"errors"
	"os"
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
	conn, err := pgx.Connect(ctx, srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var v int
	if err := conn.QueryRow(ctx, `SELECT v FROM kept`).Scan(&v); err != nil || v != 42 {
		t.Fatalf("data after restart: %d, %v", v, err)
	}
}
