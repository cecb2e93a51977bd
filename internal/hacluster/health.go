package hacluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Member is one entry of Patroni's view of a group (its /cluster endpoint).
type Member struct {
	Name  string `json:"name"`
	Role  string `json:"role"`  // leader, sync_standby or replica
	State string `json:"state"` // running, starting, stopped, creating replica …
	Port  int    `json:"port"`
}

var httpClient = &http.Client{Timeout: 2 * time.Second}

// getJSON fetches url and decodes its JSON body into v (when not nil); ok
// is whether it answered 200.
func getJSON(ctx context.Context, url string, v any) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false, err
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	if v != nil {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			return false, err
		}
	}
	return resp.StatusCode == http.StatusOK, nil
}

// Members is a group's membership as the first Patroni of the group that
// answers sees it.
func (c *Cluster) Members(ctx context.Context, group int) ([]Member, error) {
	var last error = errors.New("no member")
	for _, n := range c.Group(group) {
		var body struct {
			Members []Member `json:"members"`
		}
		if _, err := getJSON(ctx, fmt.Sprintf("http://127.0.0.1:%d/cluster", n.RESTPort), &body); err != nil {
			last = err
			continue
		}
		return body.Members, nil
	}
	return nil, fmt.Errorf("hacluster: group %d: %w", group, last)
}

// Leader is the running primary of a group.
func (c *Cluster) Leader(ctx context.Context, group int) (*Node, error) {
	ms, err := c.Members(ctx, group)
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		if m.Role == "leader" && m.State == "running" {
			if n := c.node(m.Name); n != nil {
				return n, nil
			}
		}
	}
	return nil, fmt.Errorf("hacluster: group %d has no running leader: %s", group, describe(ms))
}

func (c *Cluster) node(name string) *Node {
	for _, n := range c.Nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// WaitHealthy waits until every group has a running leader and a running
// synchronous standby, and the coordinator's pg_dist_node names every
// group's leader, or ctx ends.
func (c *Cluster) WaitHealthy(ctx context.Context) error {
	var why error
	for {
		if why = c.healthy(ctx); why == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("hacluster: not healthy: %w", why)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// healthy says what keeps the cluster from being healthy, or nil.
func (c *Cluster) healthy(ctx context.Context) error {
	leaders := map[int]*Node{}
	for g := range c.Groups() {
		ms, err := c.Members(ctx, g)
		if err != nil {
			return err
		}
		var leader, sync bool
		for _, m := range ms {
			leader = leader || (m.Role == "leader" && m.State == "running")
			sync = sync || (m.Role == "sync_standby" && m.State == "running")
		}
		if !leader || !sync {
			return fmt.Errorf("group %d: %s", g, describe(ms))
		}
		if leaders[g], err = c.Leader(ctx, g); err != nil {
			return err
		}
	}
	conn, err := pgx.Connect(ctx, c.NodeURL(leaders[0]))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT groupid, nodeport FROM pg_dist_node WHERE noderole = 'primary' AND isactive`)
	if err != nil {
		return err
	}
	registered := map[int]int{}
	for rows.Next() {
		var g, port int
		if err := rows.Scan(&g, &port); err != nil {
			return err
		}
		registered[g] = port
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for g, n := range leaders {
		if registered[g] != n.PGPort {
			return fmt.Errorf("pg_dist_node has port %d for group %d, whose leader is %s", registered[g], g, n.Addr())
		}
	}
	return nil
}

func describe(ms []Member) string {
	var parts []string
	for _, m := range ms {
		parts = append(parts, fmt.Sprintf("%s %s %s", m.Name, m.Role, m.State))
	}
	if len(parts) == 0 {
		return "no members"
	}
	return strings.Join(parts, ", ")
}
