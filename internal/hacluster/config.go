package hacluster

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"time"
)

// Timing of the Patroni loop. A primary whose PostgreSQL dies is failed over
// at once (primary_start_timeout 0) rather than restarted in place; a
// Patroni that dies with its primary loses the leader key after ttl.
// loop_wait + 2 × retry_timeout must not exceed ttl.
const (
	loopWait     = 1
	retryTimeout = 4
	ttl          = 10
)

// superuser, replication and rewind are the roles Patroni creates; the
// passwords are made for each cluster.
const (
	superuser   = "postgres"
	replication = "replicator"
	rewind      = "rewinder"
)

// patroniConfig is the configuration of one Patroni member as JSON, which
// Patroni reads as YAML.
func (c *Cluster) patroniConfig(n *Node) ([]byte, error) {
	pgHBA := []string{
		"local all all trust",
		"host all all 127.0.0.1/32 scram-sha-256",
		"host replication " + replication + " 127.0.0.1/32 scram-sha-256",
	}
	cfg := map[string]any{
		"scope":     "hce",
		"namespace": c.namespace,
		"name":      n.Name,
		"citus":     map[string]any{"group": n.Group, "database": Database},
		"restapi": map[string]any{
			"listen":          fmt.Sprintf("127.0.0.1:%d", n.RESTPort),
			"connect_address": fmt.Sprintf("127.0.0.1:%d", n.RESTPort),
		},
		"etcd3": map[string]any{"hosts": []string{fmt.Sprintf("127.0.0.1:%d", c.etcdPort)}},
		"bootstrap": map[string]any{
			"dcs": map[string]any{
				"ttl":                     ttl,
				"loop_wait":               loopWait,
				"retry_timeout":           retryTimeout,
				"maximum_lag_on_failover": 1 << 20,
				// An acknowledged commit is on the standby too, and only a
				// synchronous standby is promoted.
				"synchronous_mode": true,
				// A primary whose PostgreSQL crashed hands over to the
				// standby instead of restarting in place.
				"primary_start_timeout": 0,
				"postgresql": map[string]any{
					"use_pg_rewind": true,
					"use_slots":     true,
					"parameters": map[string]any{
						"shared_buffers":      "16MB",
						"max_connections":     100,
						"max_wal_senders":     10,
						"wal_keep_size":       "64MB",
						"password_encryption": "scram-sha-256",
					},
				},
			},
			"initdb": []any{map[string]any{"encoding": "UTF8"}, "no-locale", "data-checksums"},
		},
		"postgresql": map[string]any{
			"listen":          fmt.Sprintf("127.0.0.1:%d", n.PGPort),
			"connect_address": fmt.Sprintf("127.0.0.1:%d", n.PGPort),
			"data_dir":        n.DataDir(),
			"bin_dir":         c.bin.pgBin,
			"pgpass":          filepath.Join(n.dir, "pgpass"),
			"authentication": map[string]any{
				"superuser":   map[string]any{"username": superuser, "password": c.password},
				"replication": map[string]any{"username": replication, "password": c.password},
				"rewind":      map[string]any{"username": rewind, "password": c.password},
			},
			"basebackup": []any{map[string]any{"checkpoint": "fast"}},
			"pg_hba":     pgHBA,
			"parameters": map[string]any{"unix_socket_directories": n.dir},
		},
		"log": map[string]any{"dir": n.dir, "level": "INFO"},
	}
	return json.MarshalIndent(cfg, "", "  ")
}

// readyTimeout bounds the start of the whole cluster: initdb of every
// primary, then a base backup for every standby.
const readyTimeout = 3 * time.Minute
