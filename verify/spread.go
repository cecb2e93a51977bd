package verify

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"

	"github.com/hce-fhir/hce/fhir"
	"github.com/jackc/pgx/v5/pgxpool"
)

// placement says where the test set lives on a Citus cluster.
type placement struct {
	// nodes[id] are the nodes (HOST:PORT) holding the shard of patient id:
	// one, unless shards are replicated.
	nodes map[string][]string
	// rows[id] is how many live rows of the patient's compartment its route
	// has in resources: the patient and its observations.
	rows map[string]int
}

const (
	// testSetRows counts, per patient, the live rows of its compartment on
	// its route: the Patient and the Observations whose subject it is (a
	// route holds other patients too).
	testSetRows = `SELECT p, count(*)::int FROM unnest($1::text[]) p, resources r
WHERE r.route = hce_route(p) AND NOT r.deleted AND (r.type = 'Patient' AND r.id = p OR EXISTS (
  SELECT 1 FROM idx_reference x WHERE x.route = r.route AND x.type = r.type AND x.id = r.id
    AND x.param = 'subject' AND x.target_type = 'Patient' AND x.target_id = p))
GROUP BY p`

	// shardNodes maps routes to the primary nodes holding their shard group
	// (resources and every table co-located with it), from the
	// coordinator's catalog alone.
	shardNodes = `SELECT k.key, n.nodename, n.nodeport
FROM unnest($1::int[]) AS k(key)
JOIN pg_dist_placement p ON p.shardid = get_shard_id_for_distribution_column('resources', k.key)
JOIN pg_dist_node n ON n.groupid = p.groupid AND n.noderole = 'primary'
ORDER BY 1, 2, 3`
)

// locate finds where the patients (by id) and their resources live.
func locate(ctx context.Context, db *pgxpool.Pool, patients []string) (*placement, error) {
	pl := &placement{rows: map[string]int{}}
	byRoute := map[int32][]string{}
	routes := make([]int32, 0, len(patients))
	for _, id := range patients {
		r := fhir.RouteOf(id)
		if byRoute[r] == nil {
			routes = append(routes, r)
		}
		byRoute[r] = append(byRoute[r], id)
	}
	rows, err := db.Query(ctx, testSetRows, patients)
	if err != nil {
		return nil, fmt.Errorf("count the test set by patient: %w", err)
	}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			rows.Close()
			return nil, err
		}
		pl.rows[id] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count the test set by patient: %w", err)
	}
	if pl.nodes, err = nodesOf(ctx, db, routes, byRoute); err != nil {
		return nil, err
	}
	return pl, nil
}

func nodesOf(ctx context.Context, db *pgxpool.Pool, routes []int32, byRoute map[int32][]string) (map[string][]string, error) {
	rows, err := db.Query(ctx, shardNodes, routes)
	if err != nil {
		return nil, fmt.Errorf("shard placement: %w", err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var route int32
		var host string
		var port int
		if err := rows.Scan(&route, &host, &port); err != nil {
			return nil, err
		}
		for _, id := range byRoute[route] {
			out[id] = append(out[id], net.JoinHostPort(host, strconv.Itoa(port)))
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("shard placement: %w", err)
	}
	return out, nil
}

// spreadCount is the share of the test set one node holds.
type spreadCount struct {
	node      string
	patients  int
	resources int
}

// byNode sums the placement per node, in node order.
func (pl *placement) byNode() []spreadCount {
	m := map[string]*spreadCount{}
	for id, nodes := range pl.nodes {
		for _, n := range nodes {
			c := m[n]
			if c == nil {
				c = &spreadCount{node: n}
				m[n] = c
			}
			c.patients++
			c.resources += pl.rows[id]
		}
	}
	out := make([]spreadCount, 0, len(m))
	for _, c := range m {
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].node < out[j].node })
	return out
}

// spread checks that the test set is spread over the workers: with two or
// more active workers, every one of them must hold some test patients.
func (v *runner) spread(ctx context.Context) (bool, string) {
	switch {
	case v.cluster == nil:
		v.rep.metric("spread", "not measured (cluster layout unknown)")
		return false, "cluster layout unknown: /admin/cluster did not answer"
	case v.cluster.Mode != "citus":
		v.rep.metric("spread", "not applicable (plain PostgreSQL)")
		return true, "plain PostgreSQL: one node holds everything, nothing to spread"
	}
	active := v.cluster.active()
	if len(active) == 0 {
		v.rep.metric("spread", "not measured (no active worker)")
		return false, "no active worker"
	}
	if v.db == nil {
		v.rep.metric("spread", "not measured (no --database-url)")
		var parts, empty []string
		for _, w := range active {
			parts = append(parts, fmt.Sprintf("%s %d", w.addr(), w.Shards))
			if w.Shards == 0 {
				empty = append(empty, w.addr())
			}
		}
		detail := "per patient not measured (no --database-url); shards per active worker: " + strings.Join(parts, ", ")
		if len(active) >= 2 && len(empty) > 0 {
			return false, detail + "; holding no shards: " + strings.Join(empty, ", ") + " (run hce cluster rebalance)"
		}
		return true, detail
	}
	var ids []string
	for _, id := range v.set.patientIDs {
		if id != "" {
			ids = append(ids, id)
		}
	}
	pl, err := locate(ctx, v.db, ids)
	if err != nil {
		v.rep.metric("spread", "not measured (%v)", err)
		return false, err.Error()
	}
	v.set.placement = pl
	counts := pl.byNode()
	held := map[string]spreadCount{}
	var parts []string
	for _, c := range counts {
		held[c.node] = c
		v.rep.metric("spread "+c.node, "%d patients, %d resources", c.patients, c.resources)
		parts = append(parts, fmt.Sprintf("%s %d", c.node, c.patients))
	}
	detail := fmt.Sprintf("test patients per node: %s", strings.Join(parts, ", "))
	var problems []string
	if len(pl.nodes) != len(ids) {
		problems = append(problems, fmt.Sprintf("%d of %d test patients have no shard placement", len(ids)-len(pl.nodes), len(ids)))
	}
	rows := 0
	for _, n := range pl.rows {
		rows += n
	}
	p, o := v.set.created()
	if rows != p+o {
		problems = append(problems, fmt.Sprintf("resources has %d rows of the test set, want %d", rows, p+o))
	}
	if len(active) >= 2 {
		var empty []string
		for _, w := range active {
			if held[w.addr()].patients == 0 {
				empty = append(empty, w.addr())
			}
		}
		if len(empty) > 0 {
			problems = append(problems, "active workers holding no test patient: "+strings.Join(empty, ", ")+" (run hce cluster rebalance)")
		}
	}
	if len(problems) > 0 {
		return false, detail + "; " + strings.Join(problems, "; ")
	}
	return true, detail
}
