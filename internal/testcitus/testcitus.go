// Package testcitus starts a throwaway Citus cluster for tests: a
// coordinator and workers, each its own PostgreSQL with the citus library
// preloaded, listening on a free loopback port, in a temporary directory
// removed when the test ends. Tests skip, saying why, when PostgreSQL or
// the citus extension is not installed.
package testcitus

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hce-fhir/hce/embedpg"
	"github.com/jackc/pgx/v5"
)

// Database is the database created, with the citus extension, on every node.
const Database = "hce"

// Node is one PostgreSQL server of the cluster.
type Node struct {
	Host string
	Port int
	dir  string
}

// URL is the node's connection URL for Database.
func (n Node) URL() string {
	return fmt.Sprintf("postgres://postgres@%s:%d/%s?sslmode=disable", n.Host, n.Port, Database)
}

// Addr is the node's HOST:PORT, as Citus registers it.
func (n Node) Addr() string { return net.JoinHostPort(n.Host, strconv.Itoa(n.Port)) }

// Cluster is a coordinator and its (not yet registered) workers.
type Cluster struct {
	Coordinator Node
	Workers     []Node
}

// Start starts a coordinator and n workers and stops them when t ends. The
// workers are not registered: that is the caller's to do.
func Start(t *testing.T, workers int) *Cluster {
	t.Helper()
	bin := binDir(t)
	cred := credential(t)
	root, err := os.MkdirTemp("", "hce-citus-")
	if err != nil {
		t.Fatal(err)
	}
	// The servers may run as the postgres user, which must reach the dir.
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	c := &Cluster{}
	for i := range workers + 1 {
		n := startNode(t, bin, cred, filepath.Join(root, "node"+strconv.Itoa(i)))
		if i == 0 {
			c.Coordinator = n
		} else {
			c.Workers = append(c.Workers, n)
		}
	}
	return c
}

// binDir returns the PostgreSQL binaries whose lib holds citus, or skips.
func binDir(t *testing.T) string {
	t.Helper()
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	for i := len(dirs) - 1; i >= 0; i-- {
		d := dirs[i]
		out, err := exec.Command(filepath.Join(d, "pg_config"), "--pkglibdir").Output()
		lib := filepath.Join(filepath.Dir(d), "lib")
		if err == nil {
			lib = strings.TrimSpace(string(out))
		}
		if _, err := os.Stat(filepath.Join(lib, "citus.so")); err == nil {
			return d
		}
	}
	t.Skip("the citus extension is not installed for any PostgreSQL in /usr/lib/postgresql/*/bin: Citus tests skipped")
	return ""
}

// credential is the postgres user's when the test runs as root (PostgreSQL
// refuses to run as root), nil otherwise.
func credential(t *testing.T) *syscall.Credential {
	t.Helper()
	if os.Geteuid() != 0 {
		return nil
	}
	cred, err := embedpg.PostgresCredential()
	if err != nil {
		t.Skipf("%v", err)
	}
	return cred
}

func run(t *testing.T, cred *syscall.Credential, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	cmd.Dir = "/"
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
}

// freePort returns a loopback port nothing listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func startNode(t *testing.T, bin string, cred *syscall.Credential, dir string) Node {
	t.Helper()
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			t.Fatal(err)
		}
	}
	run(t, cred, filepath.Join(bin, "initdb"), "-D", dir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale")
	n := Node{Host: "127.0.0.1", Port: freePort(t), dir: dir}
	conf := strings.Join([]string{
		"listen_addresses = '127.0.0.1'",
		"port = " + strconv.Itoa(n.Port),
		"unix_socket_directories = '" + dir + "'",
		"shared_preload_libraries = 'citus'",
		"wal_level = logical", // shard moves use logical replication
		"max_connections = 100",
		"shared_buffers = 32MB",
		"fsync = off",
		"citus.node_conninfo = 'sslmode=disable'",
		"citus.local_hostname = '127.0.0.1'", // background rebalance tasks connect to the coordinator itself
	}, "\n") + "\n"
	f, err := os.OpenFile(filepath.Join(dir, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(conf); err != nil {
		t.Fatal(err)
	}
	f.Close()
	run(t, cred, filepath.Join(bin, "pg_ctl"), "-D", dir, "-l", filepath.Join(dir, "log"), "-w", "-t", "60", "start")
	t.Cleanup(func() {
		cmd := exec.Command(filepath.Join(bin, "pg_ctl"), "-D", dir, "-m", "immediate", "-w", "stop")
		cmd.Dir = "/"
		if cred != nil {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		}
		_ = cmd.Run()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin := fmt.Sprintf("postgres://postgres@%s:%d/postgres?sslmode=disable", n.Host, n.Port)
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("node %s: %v", n.Addr(), err)
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+Database); err != nil {
		t.Fatalf("node %s: %v", n.Addr(), err)
	}
	conn.Close(ctx)
	conn, err = pgx.Connect(ctx, n.URL())
	if err != nil {
		t.Fatalf("node %s: %v", n.Addr(), err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE EXTENSION citus"); err != nil {
		t.Fatalf("node %s: %v", n.Addr(), err)
	}
	return n
}
