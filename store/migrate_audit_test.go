package store

import (
	"context"
	"strings"
	"testing"

	"github.com/hce-fhir/hce/internal/testdb"
	"github.com/hce-fhir/hce/migrations"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
)

// TestMigrationMovesAuditEvents checks migration 7 on data written before
// it: AuditEvents stored as resources move to audit_events with their ids,
// readable and searchable there, and go back on the way down.
func TestMigrationMovesAuditEvents(t *testing.T) {
	ctx := context.Background()
	pool := testdb.EmptyPool(t)
	p, err := goose.NewProvider(goose.DialectPostgres, stdlib.OpenDBFromPool(pool), migrations.FS)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 5); err != nil {
		t.Fatal(err)
	}
	id := "0a1b2c3d-0000-4000-8000-00000000abcd"
	content := `{"resourceType":"AuditEvent","id":"` + id + `","recorded":"2026-11-30T10:00:00.5Z","action":"R","outcome":"0",
		"subtype":[{"system":"http://hl7.org/fhir/restful-interaction","code":"read"}],
		"agent":[{"requestor":true,"who":{"reference":"Practitioner/dr1"},"altId":"app","network":{"address":"10.0.0.9","type":"2"}}],
		"entity":[{"what":{"reference":"Observation/o1"}},{"what":{"reference":"Patient/p1"}}],"source":{"observer":{"display":"HCE"}}}`
	for _, sql := range []string{
		`INSERT INTO resources (route, type, id, version_id, last_updated, content) VALUES (hce_route($1), 'AuditEvent', $1, 1, now(), $2)`,
		`INSERT INTO resource_history (route, type, id, version_id, last_updated, content) VALUES (hce_route($1), 'AuditEvent', $1, 1, now(), $2)`,
		`INSERT INTO idx_token (route, type, id, param, system, code) VALUES (hce_route($1), 'AuditEvent', $1, 'action', $2::jsonb->>'action', 'R')`,
	} {
		if _, err := pool.Exec(ctx, sql, id, content); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.UpTo(ctx, 7); err != nil {
		t.Fatal(err)
	}
	st := New(pool)
	v, err := st.Read(ctx, "AuditEvent", id)
	if err != nil || !strings.Contains(string(v.Content), "Practitioner/dr1") {
		t.Fatalf("read after the migration: %v", err)
	}
	for _, q := range []string{"patient=p1", "agent=Practitioner/dr1", "entity=Observation/o1", "action=R", "subtype=read", "altid=app", "address=10.0.0.9"} {
		res, err := st.Search(ctx, parseQuery(t, "AuditEvent", q), Scope{})
		if err != nil || len(res.Matches) != 1 || res.Matches[0].ID != id {
			t.Errorf("AuditEvent?%s after the migration: %v %v", q, err, res)
		}
	}
	var left int
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM resources WHERE type = 'AuditEvent') + (SELECT count(*) FROM idx_token WHERE type = 'AuditEvent')`).Scan(&left); err != nil || left != 0 {
		t.Fatalf("rows left in the resource tables: %d %v", left, err)
	}
	if _, err := p.DownTo(ctx, 6); err != nil {
		t.Fatal(err)
	}
	var back string
	if err := pool.QueryRow(ctx, `SELECT content->'agent'->0->'who'->>'reference' FROM resources WHERE type = 'AuditEvent' AND id = $1`, id).Scan(&back); err != nil || back != "Practitioner/dr1" {
		t.Fatalf("after down: %q %v", back, err)
	}
}
