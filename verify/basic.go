package verify

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// clusterInfo is the answer of GET /admin/cluster.
type clusterInfo struct {
	Mode            string   `json:"mode"`
	PostgresVersion string   `json:"postgresVersion"`
	CitusVersion    string   `json:"citusVersion"`
	Coordinator     string   `json:"coordinator"`
	Workers         []worker `json:"workers"`
}

// worker is a Citus worker as /admin/cluster lists it.
type worker struct {
	Host   string `json:"host"`
	Port   int    `json:"port"`
	Active bool   `json:"active"`
	Shards int    `json:"shards"`
	Bytes  int64  `json:"bytes"`
}

// addr is the worker's HOST:PORT, as pg_dist_node names it.
func (w worker) addr() string { return net.JoinHostPort(w.Host, strconv.Itoa(w.Port)) }

// active returns the active workers.
func (ci *clusterInfo) active() []worker {
	var out []worker
	for _, w := range ci.Workers {
		if w.Active {
			out = append(out, w)
		}
	}
	return out
}

// basic checks connectivity, the citus extension and the workers.
func (v *runner) basic(ctx context.Context) {
	v.step("server up (/healthz)", Basic, func() (bool, string) {
		return v.expectOK(ctx, "/healthz")
	})
	v.step("database ready (/readyz)", Basic, func() (bool, string) {
		return v.expectOK(ctx, "/readyz")
	})
	v.apiOK = v.step("FHIR API (/metadata)", Basic, func() (bool, string) {
		r, err := v.c.get(ctx, "metadata")
		if err != nil {
			return false, err.Error()
		}
		var cs struct {
			ResourceType string `json:"resourceType"`
			FHIRVersion  string `json:"fhirVersion"`
			Software     struct {
				Name    string `json:"name"`
				Version string `json:"version"`
			} `json:"software"`
		}
		if r.status != http.StatusOK {
			return false, r.String()
		}
		if err := r.decode(&cs); err != nil {
			return false, err.Error()
		}
		if cs.ResourceType != "CapabilityStatement" {
			return false, fmt.Sprintf("answered a %q, not a CapabilityStatement", cs.ResourceType)
		}
		return true, strings.TrimSpace(fmt.Sprintf("CapabilityStatement, FHIR %s, %s %s", cs.FHIRVersion, cs.Software.Name, cs.Software.Version))
	})
	v.step("cluster info (/admin/cluster)", Basic, func() (bool, string) {
		r, err := v.c.get(ctx, "/admin/cluster")
		if err != nil {
			return false, err.Error()
		}
		if r.status != http.StatusOK {
			return false, r.String()
		}
		var ci clusterInfo
		if err := r.decode(&ci); err != nil {
			return false, err.Error()
		}
		v.cluster = &ci
		return true, fmt.Sprintf("mode %s, PostgreSQL %s", ci.Mode, ci.PostgresVersion)
	})
	if v.cluster != nil && v.cluster.Mode == "plain" {
		pg := fmt.Sprintf("plain PostgreSQL %s: HCE runs unsharded and the Citus checks do not apply", v.cluster.PostgresVersion)
		v.notApplicable("Citus extension", Basic, "not installed: "+pg)
		v.notApplicable("workers registered and active", Basic, "none: "+pg)
	} else {
		v.citusChecks()
	}
	if v.cfg.DatabaseURL == "" {
		return
	}
	connected := v.step("coordinator connection (--database-url)", Basic, func() (bool, string) {
		db, detail, err := connect(ctx, v.cfg.DatabaseURL)
		if err != nil {
			return false, err.Error()
		}
		v.db = db
		return true, detail
	})
	if !connected || v.cluster == nil || v.cluster.Mode != "citus" {
		return
	}
	v.step("workers reachable from the coordinator", Basic, func() (bool, string) {
		return workersReachable(ctx, v.db)
	})
}

// citusChecks checks the Citus extension and its workers.
func (v *runner) citusChecks() {
	v.step("Citus extension", Basic, func() (bool, string) {
		switch {
		case v.cluster == nil:
			return false, "unknown: /admin/cluster did not answer"
		case v.cluster.Mode != "citus":
			return false, fmt.Sprintf("not installed: the database is plain PostgreSQL %s (/admin/cluster mode %q); HCE runs unsharded", v.cluster.PostgresVersion, v.cluster.Mode)
		}
		return true, fmt.Sprintf("Citus %s on PostgreSQL %s, coordinator %s", v.cluster.CitusVersion, v.cluster.PostgresVersion, v.cluster.Coordinator)
	})
	v.step("workers registered and active", Basic, func() (bool, string) {
		switch {
		case v.cluster == nil:
			return false, "unknown: /admin/cluster did not answer"
		case v.cluster.Mode != "citus":
			return false, "none: plain PostgreSQL has no workers"
		case len(v.cluster.Workers) == 0:
			return false, "no worker is registered: run hce cluster register --worker HOST:PORT"
		}
		act := v.cluster.active()
		v.rep.metric("workers", "%d registered, %d active", len(v.cluster.Workers), len(act))
		var parts []string
		for _, w := range v.cluster.Workers {
			state := ""
			if !w.Active {
				state = ", INACTIVE"
			}
			parts = append(parts, fmt.Sprintf("%s (%d shards, %s%s)", w.addr(), w.Shards, formatBytes(w.Bytes), state))
		}
		detail := fmt.Sprintf("%d registered, %d active: %s", len(v.cluster.Workers), len(act), strings.Join(parts, "; "))
		return len(act) == len(v.cluster.Workers), detail
	})
}

// expectOK checks that a GET answers 200.
func (v *runner) expectOK(ctx context.Context, path string) (bool, string) {
	r, err := v.c.get(ctx, path)
	if err != nil {
		return false, err.Error()
	}
	if r.status != http.StatusOK {
		return false, fmt.Sprintf("%d %s: %s", r.status, http.StatusText(r.status), truncate(string(r.body), 160))
	}
	return true, fmt.Sprintf("200 OK in %s", formatDuration(r.elapsed))
}

// connect opens a small pool on the coordinator and says what it is.
func connect(ctx context.Context, dsn string) (*pgxpool.Pool, string, error) {
	pc, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, "", fmt.Errorf("database URL: %w", err)
	}
	pc.MaxConns = 4
	if pc.ConnConfig.ConnectTimeout == 0 {
		pc.ConnConfig.ConnectTimeout = 10 * time.Second
	}
	db, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, "", err
	}
	var pgVersion, citus string
	err = db.QueryRow(ctx, `SELECT current_setting('server_version'),
  coalesce((SELECT extversion FROM pg_extension WHERE extname = 'citus'), '')`).Scan(&pgVersion, &citus)
	if err != nil {
		db.Close()
		return nil, "", fmt.Errorf("%s: %w", pc.ConnConfig.Host, err)
	}
	detail := fmt.Sprintf("%s:%d answers: PostgreSQL %s", pc.ConnConfig.Host, pc.ConnConfig.Port, pgVersion)
	if citus != "" {
		detail += ", Citus " + citus
	}
	return db, detail, nil
}

// workersReachable runs a trivial statement on every worker through the
// coordinator: pg_dist_node's active flag says a worker is registered, not
// that it answers.
func workersReachable(ctx context.Context, db *pgxpool.Pool) (bool, string) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	rows, err := db.Query(ctx, `SELECT nodename, nodeport, success, result FROM run_command_on_workers('SELECT 1') ORDER BY 1, 2`)
	if err != nil {
		return false, err.Error()
	}
	defer rows.Close()
	var ok, bad []string
	for rows.Next() {
		var host, result string
		var port int
		var success bool
		if err := rows.Scan(&host, &port, &success, &result); err != nil {
			return false, err.Error()
		}
		addr := net.JoinHostPort(host, strconv.Itoa(port))
		if success {
			ok = append(ok, addr)
		} else {
			bad = append(bad, addr+": "+truncate(result, 120))
		}
	}
	if err := rows.Err(); err != nil {
		return false, err.Error()
	}
	if len(ok)+len(bad) == 0 {
		return false, "the coordinator lists no active worker"
	}
	if len(bad) > 0 {
		return false, fmt.Sprintf("%d of %d workers do not answer: %s", len(bad), len(ok)+len(bad), strings.Join(bad, "; "))
	}
	return true, fmt.Sprintf("%d workers answer: %s", len(ok), strings.Join(ok, ", "))
}

// formatBytes writes a size for people: 512 B, 12.3 MB.
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
