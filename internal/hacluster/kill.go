package hacluster

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// postmaster is the pid and the process group of a node's running
// PostgreSQL, read from its postmaster.pid and checked against /proc, so
// that a stale file never names another process.
func (n *Node) postmaster() (pid, pgid int, err error) {
	raw, err := os.ReadFile(filepath.Join(n.DataDir(), "postmaster.pid"))
	if err != nil {
		return 0, 0, fmt.Errorf("hacluster: %s: %w", n.Name, err)
	}
	first, _, _ := strings.Cut(string(raw), "\n")
	if pid, err = strconv.Atoi(strings.TrimSpace(first)); err != nil || pid <= 1 {
		return 0, 0, fmt.Errorf("hacluster: %s: bad postmaster.pid", n.Name)
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !bytes.Contains(cmdline, []byte(n.DataDir())) {
		return 0, 0, fmt.Errorf("hacluster: %s: PostgreSQL is not running", n.Name)
	}
	if pgid, err = syscall.Getpgid(pid); err != nil {
		return 0, 0, fmt.Errorf("hacluster: %s: %w", n.Name, err)
	}
	return pid, pgid, nil
}

// KillPostgres kills a node's PostgreSQL with SIGKILL: the postmaster and
// every backend at once (its whole process group), as a crash would. Its
// Patroni keeps running. It returns when the signal was sent.
func (c *Cluster) KillPostgres(n *Node) (time.Time, error) {
	_, pgid, err := n.postmaster()
	if err != nil {
		return time.Time{}, err
	}
	at := time.Now()
	if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil {
		return at, fmt.Errorf("hacluster: kill %s: %w", n.Name, err)
	}
	return at, nil
}

// KillCommand is a shell command line that does what KillPostgres does to
// n, for tools that take a command (hce verify --failover-cmd).
func (c *Cluster) KillCommand(n *Node) string {
	pidFile := filepath.Join(n.DataDir(), "postmaster.pid")
	return fmt.Sprintf(`kill -KILL -$(ps -o pgid= -p "$(head -n 1 '%s')" | tr -d ' ')`, pidFile)
}

// Close kills everything the cluster started, by process group: each
// Patroni first (so that none starts PostgreSQL again), then each
// PostgreSQL, then etcd; it waits until they are gone and removes the
// directory. It is safe to call more than once.
func (c *Cluster) Close() {
	c.closeOnce.Do(func() {
		for _, n := range c.Nodes {
			if n.patroni != nil && n.patroni.Process != nil {
				_ = syscall.Kill(-n.patroni.Process.Pid, syscall.SIGKILL)
				_ = n.patroni.Wait()
			}
		}
		// A postmaster Patroni was starting when it died may take a moment
		// to write its pid file: look a few times.
		for range 3 {
			for _, n := range c.Nodes {
				if _, pgid, err := n.postmaster(); err == nil {
					_ = syscall.Kill(-pgid, syscall.SIGKILL)
				}
			}
			time.Sleep(200 * time.Millisecond)
		}
		if c.etcd != nil && c.etcd.Process != nil {
			_ = syscall.Kill(-c.etcd.Process.Pid, syscall.SIGKILL)
			_ = c.etcd.Wait()
		}
		c.sweep()
		for _, n := range c.Nodes {
			if n.log != nil {
				n.log.Close()
			}
		}
		if c.etcdLog != nil {
			c.etcdLog.Close()
		}
		if c.dir != "" && os.Getenv("HCE_HACLUSTER_KEEP") == "" {
			_ = os.RemoveAll(c.dir)
		}
	})
}

// sweep kills any process left whose command line names the cluster's
// directory (a base backup, a postmaster between two pid files) and waits
// up to five seconds for them to go.
func (c *Cluster) sweep() {
	if c.dir == "" {
		return
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		left := c.leftovers()
		if len(left) == 0 || time.Now().After(deadline) {
			return
		}
		for _, pid := range left {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// leftovers are the live processes whose command line names c.dir.
func (c *Cluster) leftovers() []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	self := os.Getpid()
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(cmdline, []byte(c.dir+"/")) {
			continue
		}
		if stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil && isZombie(stat) {
			continue
		}
		pids = append(pids, pid)
	}
	return pids
}

// isZombie reads the state field of /proc/PID/stat.
func isZombie(stat []byte) bool {
	i := bytes.LastIndexByte(stat, ')')
	return i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z'
}

// Log returns the end of a node's Patroni log, for a failing test to show.
func (c *Cluster) Log(n *Node, maxBytes int) string {
	raw, err := os.ReadFile(filepath.Join(n.dir, "patroni.log"))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			raw, err = os.ReadFile(filepath.Join(n.dir, "patroni.out"))
		}
		if err != nil {
			return err.Error()
		}
	}
	if len(raw) > maxBytes {
		raw = raw[len(raw)-maxBytes:]
	}
	return string(raw)
}
