package store

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/hce-fhir/hce/fhir"
	"github.com/hce-fhir/hce/internal/testdb"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// TestDroppedConnection cuts the TCP connection to the server under a
// running statement (through a loopback proxy), as a server or network
// failure does: the error must read as the database being unavailable (a
// 503), never as an internal error.
func TestDroppedConnection(t *testing.T) {
	target, err := url.Parse(testdb.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target.Host)
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, up)
			mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
	if target.Host == "" || target.Hostname() == "" {
		t.Skip("the test database is not reached over TCP")
	}
	proxied := *target
	proxied.Host = ln.Addr().String()
	pool, err := pgxpool.New(context.Background(), proxied.String())
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := pool.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	direct := testdb.Pool(t, MigrateUp)
	done := make(chan error, 1)
	go func() {
		_, err := pool.Exec(context.Background(), `SELECT pg_sleep(5) /* dropped-connection test */`)
		done <- err
	}()
	// Cut the connection once the statement runs on the server.
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		var n int
		direct.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%dropped-connection test%' AND pid <> pg_backend_pid()`).Scan(&n)
		if n > 0 {
			break
		}
	}
	mu.Lock()
	for _, c := range conns {
		c.Close()
	}
	mu.Unlock()
	err = <-done
	if err == nil {
		t.Fatal("the statement survived its connection")
	}
	if got := translate("sleep", err); !errors.Is(got, fhir.ErrUnavailable) {
		t.Errorf("dropped connection: %v, want fhir.ErrUnavailable", got)
	}
}

// TestTranslateNodeFailure maps the errors PostgreSQL and Citus raise while
// a primary fails over to the database being unavailable (503), and leaves
// other internal errors alone (500).
func TestTranslateNodeFailure(t *testing.T) {
	for _, tc := range []struct {
		code, msg   string
		unavailable bool
	}{
		{"XX000", "could not commit transaction for shard 102057 on at least one active node", true},
		{"XX000", "could not commit transaction on any active node", true},
		{"XX000", "failed to commit transaction on 127.0.0.1:5433", true},
		{"XX000", "postmaster was shut down, exiting", true},
		{"XX000", "connection to the remote node 127.0.0.1:5433 failed with the following error: Connection refused", true},
		{"25006", "cannot execute INSERT in a read-only transaction", true},
		{"08006", "connection failure", true},
		{"XX000", "cache lookup failed for relation 1234", false},
		{"XX000", "unexpected error: could not commit transaction", false},
	} {
		t.Run(tc.code+" "+tc.msg, func(t *testing.T) {
			got := translate("create Patient", &pgconn.PgError{Code: tc.code, Message: tc.msg})
			if errors.Is(got, fhir.ErrUnavailable) != tc.unavailable {
				t.Errorf("translate: %v; unavailable want %v", got, tc.unavailable)
			}
		})
	}
}
