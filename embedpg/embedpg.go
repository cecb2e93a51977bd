// Package embedpg runs a private PostgreSQL server inside a data directory:
// it initialises the cluster once, starts it listening only on a Unix socket
// in a directory of mode 0700 (no TCP), and stops it again. It is what `hce serve` uses when no database URL is given,
// and what the tests use when HCE_TEST_DATABASE_URL is unset.
//
// PostgreSQL refuses to run as root, so when the process is root the server
// binaries run as the `postgres` user and the cluster directory belongs to it.
package embedpg

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Database is the name of the database HCE uses inside the embedded cluster.
const Database = "hce"

// ErrInUse means another process holds the data directory.
var ErrInUse = errors.New("embedpg: data directory in use")

// Server is a running embedded PostgreSQL.
type Server struct {
	dir     string // the HCE data dir
	cluster string // the PostgreSQL cluster: dir/pg, or where the link dir/pg points
	bin     string // directory of initdb, pg_ctl, postgres
	port    int
	socket  string // directory of the Unix socket
	cred    *syscall.Credential
	lock    *os.File
	stderr  func(string)
}

// Start locks dir, initialises a cluster in dir/pg when there is none, starts
// it on its private Unix socket and makes sure the hce database exists. logf,
// when not nil, receives progress lines.
func Start(ctx context.Context, dir string, logf func(string)) (*Server, error) {
	if logf == nil {
		logf = func(string) {}
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("embedpg: %w", err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("embedpg: create data dir: %w", err)
	}
	s := &Server{dir: abs, stderr: logf}
	if s.lock, err = lockDir(abs); err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			s.unlock()
		}
	}()
	if s.bin, err = findBin(); err != nil {
		return nil, err
	}
	s.cluster = filepath.Join(abs, "pg")
	if os.Geteuid() == 0 {
		if s.cred, err = PostgresCredential(); err != nil {
			return nil, err
		}
		if s.cluster, err = reachableCluster(abs); err != nil {
			return nil, err
		}
	}
	if err := s.initdb(ctx); err != nil {
		return nil, err
	}
	// A postmaster left behind by an hce that was killed holds the cluster;
	// nobody else can (we hold the lock), so stop it before starting afresh.
	if s.run(ctx, "pg_ctl", "status", "-D", s.pgdata()) == nil {
		logf("stopping a PostgreSQL left running by an earlier hce")
		_ = s.run(ctx, "pg_ctl", "stop", "-D", s.pgdata(), "-m", "fast", "-w")
	}
	// No TCP at all: the server listens on a Unix socket in a directory of
	// mode 0700 that only its owner (and root) can enter, so no other local
	// user can reach it, trust authentication notwithstanding.
	s.port = socketPort
	if s.socket, err = s.socketDir(); err != nil {
		return nil, err
	}
	opts := fmt.Sprintf("-c listen_addresses='' -c port=%d -c unix_socket_directories='%s' -c unix_socket_permissions=0700 -c max_connections=200 -c shared_buffers=256MB", s.port, s.socket)
	logf(fmt.Sprintf("starting PostgreSQL in %s on the Unix socket in %s", s.pgdata(), s.socket))
	if err := s.run(ctx, "pg_ctl", "start", "-D", s.pgdata(), "-w", "-t", "60", "-l", filepath.Join(s.pgdata(), "postgresql.log"), "-o", opts); err != nil {
		return nil, fmt.Errorf("embedpg: start (see %s): %w", filepath.Join(s.pgdata(), "postgresql.log"), err)
	}
	if err := s.ensureDatabase(ctx); err != nil {
		_ = s.Stop(context.Background())
		return nil, err
	}
	ok = true
	return s, nil
}

// URL is the connection string of the hce database.
func (s *Server) URL() string { return s.urlFor(Database) }

// AdminURL is the connection string of the postgres maintenance database.
func (s *Server) AdminURL() string { return s.urlFor("postgres") }

func (s *Server) urlFor(db string) string {
	return fmt.Sprintf("postgres://postgres@/%s?host=%s&port=%d&sslmode=disable", db, url.QueryEscape(s.socket), s.port)
}

// socketPort names the socket file (.s.PGSQL.5432); as the directory is
// private, every embedded server can use the same number.
const socketPort = 5432

// maxSocketPath is the longest Unix socket path PostgreSQL accepts.
const maxSocketPath = 107

// socketDir is where the server's socket lives: the cluster directory
// (mode 0700, the server's own), or, when that path is too long for a
// socket, a private directory of mode 0700 under the temporary directory
// named after the cluster.
func (s *Server) socketDir() (string, error) {
	name := fmt.Sprintf("/.s.PGSQL.%d", socketPort)
	if len(s.pgdata())+len(name) <= maxSocketPath {
		return s.pgdata(), nil
	}
	sum := sha256.Sum256([]byte(s.pgdata()))
	dir := filepath.Join(os.TempDir(), "hce-pg-"+hex.EncodeToString(sum[:8]))
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return "", fmt.Errorf("embedpg: socket dir: %w", err)
	}
	if fi, err := os.Lstat(dir); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		return "", fmt.Errorf("embedpg: socket dir %s is not a private directory", dir)
	}
	if s.cred != nil {
		if err := os.Lchown(dir, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
			return "", fmt.Errorf("embedpg: socket dir: %w", err)
		}
	}
	return dir, nil
}

// Stop shuts PostgreSQL down (fast mode: open transactions roll back, data
// is flushed) and releases the data directory.
func (s *Server) Stop(ctx context.Context) error {
	defer s.unlock()
	if err := s.run(ctx, "pg_ctl", "stop", "-D", s.pgdata(), "-m", "fast", "-w", "-t", "60"); err != nil {
		return fmt.Errorf("embedpg: stop: %w", err)
	}
	return nil
}

func (s *Server) pgdata() string { return s.cluster }

// sharedClusters holds the clusters of data dirs that the postgres user
// cannot reach (a checkout under /root, a mode-0700 temporary directory).
const sharedClusters = "/var/lib/hce"

// reachableCluster returns where the cluster of data dir dir lives when
// PostgreSQL runs as the postgres user: dir/pg when that user can enter
// every directory above it; otherwise a directory under sharedClusters named
// after dir, linked from dir/pg so that the data dir still finds it (and a
// restart finds the same data).
func reachableCluster(dir string) (string, error) {
	link := filepath.Join(dir, "pg")
	if target, err := os.Readlink(link); err == nil {
		return target, nil
	}
	if unreachable(dir) == "" {
		return link, nil
	}
	if _, err := os.Lstat(link); err == nil {
		return link, nil // an existing cluster: chown reports why it cannot be used
	}
	sum := sha256.Sum256([]byte(dir))
	target := filepath.Join(sharedClusters, hex.EncodeToString(sum[:8]))
	if err := os.MkdirAll(sharedClusters, 0o755); err != nil {
		return "", fmt.Errorf("embedpg: %w", err)
	}
	if err := os.Symlink(target, link); err != nil {
		return "", fmt.Errorf("embedpg: %w", err)
	}
	return target, nil
}

// unreachable returns the first directory from dir up that others cannot
// enter, or "" when there is none.
func unreachable(dir string) string {
	for d := dir; ; d = filepath.Dir(d) {
		if fi, err := os.Stat(d); err != nil || fi.Mode().Perm()&0o001 == 0 {
			return d
		}
		if d == "/" {
			return ""
		}
	}
}

func (s *Server) initdb(ctx context.Context) error {
	if _, err := os.Stat(filepath.Join(s.pgdata(), "PG_VERSION")); err == nil {
		return s.chown()
	}
	// A half-made cluster from an interrupted initdb is useless: start over.
	if err := os.RemoveAll(s.pgdata()); err != nil {
		return fmt.Errorf("embedpg: %w", err)
	}
	if err := os.Mkdir(s.pgdata(), 0o700); err != nil {
		return fmt.Errorf("embedpg: %w", err)
	}
	if err := s.chown(); err != nil {
		return err
	}
	s.stderr("initialising PostgreSQL cluster in " + s.pgdata())
	if err := s.run(ctx, "initdb", "-D", s.pgdata(), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale"); err != nil {
		_ = os.RemoveAll(s.pgdata())
		return fmt.Errorf("embedpg: initdb: %w", err)
	}
	return nil
}

// chown hands the cluster directory to the postgres user when running as root
// and makes sure that user can reach it.
func (s *Server) chown() error {
	if s.cred == nil {
		return nil
	}
	if err := filepath.Walk(s.pgdata(), func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, int(s.cred.Uid), int(s.cred.Gid))
	}); err != nil {
		return fmt.Errorf("embedpg: chown cluster: %w", err)
	}
	if d := unreachable(filepath.Dir(s.pgdata())); d != "" {
		return fmt.Errorf("embedpg: the postgres user cannot enter %s; choose a data dir it can reach or chmod o+x it", d)
	}
	return nil
}

func (s *Server) ensureDatabase(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, s.AdminURL())
	if err != nil {
		return fmt.Errorf("embedpg: connect: %w", err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, Database).Scan(&exists); err != nil {
		return fmt.Errorf("embedpg: %w", err)
	}
	if !exists {
		if _, err := conn.Exec(ctx, `CREATE DATABASE `+Database); err != nil {
			return fmt.Errorf("embedpg: create database: %w", err)
		}
	}
	return nil
}

// run executes one of the PostgreSQL binaries, as the postgres user when root.
func (s *Server) run(ctx context.Context, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, filepath.Join(s.bin, name), args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	if s.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
		cmd.Dir = "/"
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", name, err, strings.TrimSpace(string(out)))
	}
	return nil
}

func (s *Server) unlock() {
	if s.lock != nil {
		_ = syscall.Flock(int(s.lock.Fd()), syscall.LOCK_UN)
		_ = s.lock.Close()
		s.lock = nil
	}
}

// lockDir takes an exclusive, non-blocking lock on dir/hce.lock. The kernel
// drops it when the process dies, so a crash never leaves the dir locked.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "hce.lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("embedpg: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		pid, _ := os.ReadFile(f.Name())
		f.Close()
		return nil, fmt.Errorf("%w: %s is used by another hce process (pid %s)", ErrInUse, dir, strings.TrimSpace(string(pid)))
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return f, nil
}

// findBin finds the directory holding initdb and pg_ctl: PATH first, then
// the newest /usr/lib/postgresql/*/bin.
func findBin() (string, error) {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(p), "initdb")); err == nil {
			return filepath.Dir(p), nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	best, bestV := "", -1
	for _, d := range dirs {
		v, err := strconv.Atoi(filepath.Base(filepath.Dir(d)))
		if err == nil && v > bestV {
			if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err == nil {
				best, bestV = d, v
			}
		}
	}
	if best == "" {
		return "", errors.New("embedpg: PostgreSQL server binaries (initdb, pg_ctl) not found on PATH or in /usr/lib/postgresql/*/bin; install PostgreSQL or pass --database-url")
	}
	return best, nil
}

// PostgresCredential is the postgres user's, under which PostgreSQL runs
// when the caller is root (it refuses to run as root).
func PostgresCredential() (*syscall.Credential, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("embedpg: running as root needs a postgres user to run PostgreSQL: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// WaitReady polls the server until it accepts connections or ctx ends.
func WaitReady(ctx context.Context, url string) error {
	for {
		conn, err := pgx.Connect(ctx, url)
		if err == nil {
			return conn.Close(ctx)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("embedpg: not ready: %w", err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
