package hacluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hce-fhir/hce/embedpg"
)

// Database is the database Patroni creates in every group, with the citus
// extension in it.
const Database = "hce"

// Options shape a cluster.
type Options struct {
	// Workers is the number of worker groups; 0 means 2.
	Workers int
	// Logf receives progress lines; nil discards them.
	Logf func(format string, args ...any)
}

// Node is one Patroni member: a PostgreSQL instance and the Patroni that
// manages it.
type Node struct {
	// Name is the member name, e.g. g1a: group 1, first member.
	Name string
	// Group is the Citus group: 0 for the coordinator, 1… for workers.
	Group int
	// PGPort and RESTPort are the loopback ports of PostgreSQL and of
	// Patroni's REST API.
	PGPort, RESTPort int

	dir     string
	patroni *exec.Cmd
	log     *os.File
}

// DataDir is the node's PostgreSQL data directory.
func (n *Node) DataDir() string { return filepath.Join(n.dir, "data") }

// Addr is host:port of the node's PostgreSQL.
func (n *Node) Addr() string { return fmt.Sprintf("127.0.0.1:%d", n.PGPort) }

// Cluster is a running etcd with Patroni members for every Citus group.
type Cluster struct {
	// Nodes are all members, two per group, coordinator group first.
	Nodes []*Node

	dir       string
	namespace string
	password  string
	bin       binaries
	cred      *syscall.Credential // the postgres user's, when running as root
	etcdPort  int
	etcdPeer  int
	etcd      *exec.Cmd
	etcdLog   *os.File
	logf      func(format string, args ...any)

	closeOnce sync.Once
}

// membersPerGroup is a primary and one streaming standby.
const membersPerGroup = 2

// Start builds and starts a cluster in a new temporary directory and waits
// until every group has a running primary, a synchronous standby and its
// primary registered in the coordinator. On error nothing is left running.
func Start(ctx context.Context, opt Options) (c *Cluster, err error) {
	bin, err := findBinaries()
	if err != nil {
		return nil, err
	}
	if opt.Workers == 0 {
		opt.Workers = 2
	}
	logf := opt.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	c = &Cluster{bin: bin, logf: logf}
	if c.dir, err = os.MkdirTemp("", "hce-patroni-"); err != nil {
		return nil, fmt.Errorf("hacluster: %w", err)
	}
	defer func() {
		if err != nil {
			c.Close()
			c = nil
		}
	}()
	// The postgres user must reach the members' directories.
	if err := os.Chmod(c.dir, 0o755); err != nil {
		return nil, fmt.Errorf("hacluster: %w", err)
	}
	if os.Geteuid() == 0 {
		if c.cred, err = embedpg.PostgresCredential(); err != nil {
			return nil, err
		}
	}
	secret := make([]byte, 12)
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("hacluster: %w", err)
	}
	c.password = hex.EncodeToString(secret)
	c.namespace = "/hce-" + c.password[:8] + "/"

	groups := 1 + opt.Workers
	ports, err := freePorts(2 + 2*membersPerGroup*groups)
	if err != nil {
		return nil, err
	}
	c.etcdPort, c.etcdPeer, ports = ports[0], ports[1], ports[2:]
	for g := range groups {
		for m := range membersPerGroup {
			n := &Node{Name: fmt.Sprintf("g%d%c", g, 'a'+m), Group: g, PGPort: ports[0], RESTPort: ports[1]}
			ports = ports[2:]
			n.dir = filepath.Join(c.dir, n.Name)
			c.Nodes = append(c.Nodes, n)
		}
	}
	if err := c.startEtcd(ctx); err != nil {
		return nil, err
	}
	for _, n := range c.Nodes {
		if err := c.startPatroni(n); err != nil {
			return nil, err
		}
	}
	logf("hacluster: etcd on 127.0.0.1:%d, %d Patroni members in %s", c.etcdPort, len(c.Nodes), c.dir)
	wctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	if err := c.WaitHealthy(wctx); err != nil {
		// The directory goes with the cluster: say what its logs said.
		var b strings.Builder
		for _, n := range c.Nodes {
			fmt.Fprintf(&b, "\n--- %s ---\n%s", n.Name, c.Log(n, 1500))
		}
		return nil, fmt.Errorf("%w\nend of each member's Patroni log:%s", err, b.String())
	}
	return c, nil
}

// Dir is the directory that holds the cluster's data and logs.
func (c *Cluster) Dir() string { return c.dir }

// Group returns the members of one Citus group.
func (c *Cluster) Group(g int) []*Node {
	var out []*Node
	for _, n := range c.Nodes {
		if n.Group == g {
			out = append(out, n)
		}
	}
	return out
}

// Groups is the number of Citus groups, the coordinator's included.
func (c *Cluster) Groups() int { return len(c.Nodes) / membersPerGroup }

// URL is the connection string HCE uses: every member of the coordinator
// group, of which libpq-style clients pick the one that accepts writes.
func (c *Cluster) URL() string {
	var hosts []string
	for _, n := range c.Group(0) {
		hosts = append(hosts, n.Addr())
	}
	return fmt.Sprintf("postgres://%s:%s@%s/%s?target_session_attrs=read-write&sslmode=disable",
		superuser, c.password, strings.Join(hosts, ","), Database)
}

// NodeURL is the connection string of one member.
func (c *Cluster) NodeURL(n *Node) string {
	return fmt.Sprintf("postgres://%s:%s@%s/%s?sslmode=disable", superuser, c.password, n.Addr(), Database)
}

func (c *Cluster) startEtcd(ctx context.Context) error {
	dir := filepath.Join(c.dir, "etcd")
	if err := os.Mkdir(dir, 0o700); err != nil {
		return fmt.Errorf("hacluster: %w", err)
	}
	client := fmt.Sprintf("http://127.0.0.1:%d", c.etcdPort)
	peer := fmt.Sprintf("http://127.0.0.1:%d", c.etcdPeer)
	var err error
	if c.etcdLog, err = os.Create(filepath.Join(dir, "etcd.log")); err != nil {
		return fmt.Errorf("hacluster: %w", err)
	}
	cmd := exec.Command(c.bin.etcd, "--name", "etcd", "--data-dir", filepath.Join(dir, "data"),
		"--listen-client-urls", client, "--advertise-client-urls", client,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
		"--initial-cluster", "etcd="+peer, "--log-level", "warn")
	cmd.Stdout, cmd.Stderr = c.etcdLog, c.etcdLog
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("hacluster: start etcd: %w", err)
	}
	c.etcd = cmd
	deadline := time.Now().Add(30 * time.Second)
	for {
		if ok, _ := getJSON(ctx, client+"/health", nil); ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("hacluster: etcd did not answer within 30s (see %s)", c.etcdLog.Name())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (c *Cluster) startPatroni(n *Node) error {
	if err := os.Mkdir(n.dir, 0o700); err != nil {
		return fmt.Errorf("hacluster: %w", err)
	}
	cfg, err := c.patroniConfig(n)
	if err != nil {
		return fmt.Errorf("hacluster: %w", err)
	}
	path := filepath.Join(n.dir, "patroni.yml")
	if err := os.WriteFile(path, cfg, 0o600); err != nil {
		return fmt.Errorf("hacluster: %w", err)
	}
	if n.log, err = os.Create(filepath.Join(n.dir, "patroni.out")); err != nil {
		return fmt.Errorf("hacluster: %w", err)
	}
	if c.cred != nil {
		for _, p := range []string{n.dir, path, n.log.Name()} {
			if err := os.Chown(p, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
				return fmt.Errorf("hacluster: %w", err)
			}
		}
	}
	cmd := exec.Command(c.bin.patroni, path)
	cmd.Dir = n.dir
	cmd.Env = append(os.Environ(), "HOME="+n.dir, "LC_ALL=C")
	cmd.Stdout, cmd.Stderr = n.log, n.log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: c.cred}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("hacluster: start patroni %s: %w", n.Name, err)
	}
	n.patroni = cmd
	return nil
}

// freePorts reserves n distinct free loopback ports and releases them.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("hacluster: free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
