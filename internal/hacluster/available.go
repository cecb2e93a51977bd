package hacluster

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
)

// binaries are the programs the cluster runs, found on PATH.
type binaries struct {
	patroni, etcd string
	pgBin         string // directory of postgres, initdb, pg_ctl, pg_basebackup
}

// Available reports why a cluster cannot be started here, or nil when it
// can: patroni and etcd must be on PATH, and the newest PostgreSQL under
// /usr/lib/postgresql must have the citus extension.
func Available() error {
	_, err := findBinaries()
	return err
}

func findBinaries() (binaries, error) {
	var b binaries
	var err error
	if b.patroni, err = exec.LookPath("patroni"); err != nil {
		return b, errors.New("hacluster: patroni not found on PATH (Debian package patroni)")
	}
	if b.etcd, err = exec.LookPath("etcd"); err != nil {
		return b, errors.New("hacluster: etcd not found on PATH (Debian package etcd-server)")
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "postgres")); err != nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(d), "lib", "citus.so")); err != nil {
			return b, fmt.Errorf("hacluster: PostgreSQL in %s has no citus extension", filepath.Dir(d))
		}
		b.pgBin = d
		return b, nil
	}
	return b, errors.New("hacluster: no PostgreSQL server in /usr/lib/postgresql/*/bin")
}

// version is the major version of a /usr/lib/postgresql/N/bin directory.
func version(bin string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(bin)))
	return v
}
