package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hce-fhir/hce/audit"
	"github.com/hce-fhir/hce/fhir"
	"github.com/hce-fhir/hce/internal/testdb"
	"github.com/hce-fhir/hce/search"
)

// recordAudit stores events as the audit writer does.
func recordAudit(t testing.TB, st *Store, events ...audit.Event) []string {
	t.Helper()
	rows := make([]AuditRecord, len(events))
	ids := make([]string, len(events))
	for i, e := range events {
		rows[i] = AuditRecord(e.Record())
		ids[i] = rows[i].ID
	}
	if err := st.RecordAudit(context.Background(), rows); err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestAuditEvents checks that AuditEvents, kept in their own table, are
// read, vread, listed in history and searched by each parameter that
// table answers, with paging in both orders.
func TestAuditEvents(t *testing.T) {
	ctx := context.Background()
	st := New(testdb.Pool(t, MigrateUp))
	u := fmt.Sprint(time.Now().UnixNano())
	// In the future, so that the type history from base on holds these events only
	// on a database other tests write AuditEvents to.
	base := time.Now().UTC().Add(24 * time.Hour).Truncate(time.Millisecond)
	var events []audit.Event
	for i := range 30 {
		e := audit.Event{Time: base.Add(time.Duration(i) * time.Second), Interaction: "read", Method: "GET", Status: 200,
			Type: "Observation", ID: fmt.Sprintf("o%d-%s", i%3, u), Patient: "p-" + u, FHIRUser: "Practitioner/dr-" + u,
			Subject: "s", ClientID: "app-" + u, Address: "10.1.2.3"}
		if i%5 == 0 {
			e.Interaction, e.Status, e.Type, e.ID = "delete", 403, "Patient", "p-"+u
		}
		if i >= 20 {
			e.FHIRUser = "Practitioner/other-" + u
		}
		events = append(events, e)
	}
	ids := recordAudit(t, st, events...)

	t.Run("read, vread and history", func(t *testing.T) {
		v, err := st.Read(ctx, "AuditEvent", ids[3])
		if err != nil || v.VersionID != 1 || !strings.Contains(string(v.Content), `"versionId":"1"`) {
			t.Fatalf("read: %v %s", err, v.Content)
		}
		if _, err := st.VRead(ctx, "AuditEvent", ids[3], 1); err != nil {
			t.Fatalf("vread 1: %v", err)
		}
		if _, err := st.VRead(ctx, "AuditEvent", ids[3], 2); !errors.Is(err, fhir.ErrNotFound) {
			t.Fatalf("vread 2: %v", err)
		}
		for _, id := range []string{"not-a-uuid", "018f0000-0000-7000-8000-000000000000"} {
			if _, err := st.Read(ctx, "AuditEvent", id); !errors.Is(err, fhir.ErrNotFound) {
				t.Fatalf("read %s: %v", id, err)
			}
		}
		vs, _, err := st.History(ctx, fhir.HistoryQuery{Type: "AuditEvent", ID: ids[3], Count: 10})
		if err != nil || len(vs) != 1 || vs[0].ID != ids[3] {
			t.Fatalf("instance history: %v %v", err, vs)
		}
		vs, next, err := st.History(ctx, fhir.HistoryQuery{Type: "AuditEvent", Since: base.Add(25 * time.Second), Count: 3})
		if err != nil || len(vs) != 3 || vs[0].ID != ids[29] || vs[2].ID != ids[27] || next == "" {
			t.Fatalf("type history: %v %d %q", err, len(vs), next)
		}
		vs, next, err = st.History(ctx, fhir.HistoryQuery{Type: "AuditEvent", Since: base.Add(25 * time.Second), Count: 3, Cursor: next})
		if err != nil || len(vs) != 2 || vs[0].ID != ids[26] || next != "" {
			t.Fatalf("type history, page 2: %v %d %q", err, len(vs), next)
		}
	})

	find := func(t *testing.T, raw string) []string {
		t.Helper()
		res, err := st.Search(ctx, parseQuery(t, "AuditEvent", raw+"&_count=100"), Scope{})
		if err != nil {
			t.Fatalf("AuditEvent?%s: %v", raw, err)
		}
		var got []string
		for _, v := range res.Matches {
			got = append(got, v.ID)
		}
		return got
	}
	pick := func(keep func(i int) bool) []string {
		var out []string
		for i, id := range ids {
			if keep(i) {
				out = append(out, id)
			}
		}
		return out
	}
	deletes := pick(func(i int) bool { return i%5 == 0 })
	reads := pick(func(i int) bool { return i%5 != 0 })
	tests := []struct {
		query string
		want  []string
	}{
		{"patient=p-" + u, ids},
		{"patient=Patient/p-" + u, ids},
		{"patient=Patient/nobody", nil},
		{"agent=Practitioner/dr-" + u, ids[:20]},
		{"agent=other-" + u, ids[20:]},
		{"entity=Observation/o1-" + u, pick(func(i int) bool { return i%5 != 0 && i%3 == 1 })},
		{"entity=Patient/p-" + u, deletes},
		{"patient=p-" + u + "&action=D", deletes},
		{"patient=p-" + u + "&action=http://hl7.org/fhir/audit-event-action|R", reads},
		{"patient=p-" + u + "&action=http://other|R", nil},
		{"patient=p-" + u + "&outcome=4", deletes},
		{"patient=p-" + u + "&subtype=read,delete", ids},
		{"altid=app-" + u, ids},
		{"patient=p-" + u + "&address=10.1", ids},
		{"patient=p-" + u + "&address:exact=10.1", nil},
		{"patient=p-" + u + "&date=ge" + fhir.FormatInstant(base.Add(10*time.Second)) + "&date=lt" + fhir.FormatInstant(base.Add(12*time.Second)), ids[10:12]},
		{"patient=p-" + u + "&_lastUpdated=gt" + fhir.FormatInstant(base.Add(28*time.Second)), ids[29:]},
		{"_id=" + ids[4] + "," + ids[7] + ",not-a-uuid", []string{ids[4], ids[7]}},
		{"agent:missing=true&patient=p-" + u, nil},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			if got := find(t, tt.query); !slices.Equal(got, tt.want) {
				t.Fatalf("got %d %v\nwant %d %v", len(got), got, len(tt.want), tt.want)
			}
		})
	}

	t.Run("pages in both orders", func(t *testing.T) {
		for _, sort := range []string{"date", "-date"} {
			var got []string
			q := parseQuery(t, "AuditEvent", "patient=p-"+u+"&_sort="+sort+"&_count=7")
			for {
				res, err := st.Search(ctx, q, Scope{})
				if err != nil {
					t.Fatal(err)
				}
				for _, v := range res.Matches {
					got = append(got, v.ID)
				}
				if res.Next == "" {
					break
				}
				q.Cursor = res.Next
			}
			want := slices.Clone(ids)
			if sort == "-date" {
				slices.Reverse(want)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("_sort=%s: %d pages' ids differ from the %d events", sort, len(got), len(want))
			}
		}
	})

	t.Run("count", func(t *testing.T) {
		res, err := st.Search(ctx, parseQuery(t, "AuditEvent", "patient=p-"+u+"&_summary=count"), Scope{})
		if err != nil || res.Total == nil || *res.Total != 30 {
			t.Fatalf("count: %v %v", err, res)
		}
	})

	t.Run("what audit_events cannot answer is a 400", func(t *testing.T) {
		for _, raw := range []string{"policy=x", "entity-name=x", "patient:not=x", "_include=AuditEvent:agent", "_sort=action",
			"agent.name=x"} {
			q, err := search.Parse("AuditEvent", mustQuery(t, raw), search.Options{})
			if err == nil {
				_, err = st.Search(ctx, q, Scope{})
			}
			if !errors.Is(err, fhir.ErrInvalid) {
				t.Errorf("AuditEvent?%s: %v, want invalid", raw, err)
			}
		}
		for _, raw := range []string{"_revinclude=AuditEvent:patient", "_has:AuditEvent:patient:action=R"} {
			if _, err := st.Search(ctx, parseQuery(t, "Patient", raw), Scope{}); !errors.Is(err, fhir.ErrInvalid) {
				t.Errorf("Patient?%s: %v, want invalid", raw, err)
			}
		}
	})

	t.Run("the patient's events in $everything", func(t *testing.T) {
		if _, err := st.Create(ctx, &fhir.Resource{Type: "Patient", ID: "p-" + u, Content: map[string]any{"resourceType": "Patient"}}); err != nil {
			t.Fatal(err)
		}
		var got []string
		after := ""
		for range 20 {
			page, next, err := st.Everything(ctx, "p-"+u, time.Time{}, []string{"Patient", "AuditEvent"}, 8, after)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range page {
				got = append(got, v.Ref())
			}
			if next == "" {
				break
			}
			after = next
		}
		want := []string{"Patient/p-" + u}
		for _, id := range ids {
			want = append(want, "AuditEvent/"+id)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("$everything: %d resources, want the patient and its 30 events:\n%v", len(got), got)
		}
	})
}

// TestAuditPlans checks that the searches an auditor runs use an index of
// audit_events, not a scan of the table.
func TestAuditPlans(t *testing.T) {
	pool := testdb.Pool(t, MigrateUp)
	seed := []string{
		`INSERT INTO audit_events (id, recorded, patient, agent, entity, action, outcome, subtype, content)
		 SELECT gen_random_uuid(), now() - g * interval '1 second', 'p' || (g % 1000), 'Practitioner/' || (g % 50),
		        'Observation/' || g, 'R', '0', 'read', '{}'
		 FROM generate_series(1, 50000) g`,
		`ANALYZE audit_events`,
	}
	for _, raw := range []string{"patient=p7", "agent=Practitioner/3&_sort=-date", "entity=Observation/42", "date=ge2026-01-01&_sort=-date",
		"_id=018f0000-0000-7000-8000-000000000000"} {
		t.Run(raw, func(t *testing.T) {
			b := &sqlBuilder{}
			q := parseQuery(t, "AuditEvent", raw)
			var conds []string
			for _, f := range q.Filters {
				c, err := b.auditFilter(f)
				if err != nil {
					t.Fatal(err)
				}
				conds = append(conds, c)
			}
			sql := `SELECT a.id FROM audit_events a WHERE ` + and(conds...) + ` ORDER BY a.recorded DESC, a.id DESC LIMIT 21`
			plan := explainAfter(t, pool, seed, sql, b.args...)
			if strings.Contains(plan, "Seq Scan") {
				t.Fatalf("AuditEvent?%s scans the table:\n%s", raw, plan)
			}
		})
	}
}

// BenchmarkRecordAudit measures storing AuditEvents in batches of 500, as
// the audit writer does:
//
//	go test ./store -run '^$' -bench BenchmarkRecordAudit -benchtime 200x
func BenchmarkRecordAudit(b *testing.B) {
	st := New(testdb.Pool(b, MigrateUp))
	batch := make([]audit.Event, 500)
	for i := range batch {
		batch[i] = audit.Event{Time: time.Now(), Interaction: "read", Method: "GET", Path: "/fhir/Observation/x", Status: 200,
			Type: "Observation", ID: fmt.Sprint("o", i), Patient: fmt.Sprint("p", i%50), FHIRUser: "Practitioner/1",
			Subject: "s", ClientID: "app", Address: "127.0.0.1", RequestID: "r"}
	}
	b.ResetTimer()
	for range b.N {
		recordAudit(b, st, batch...)
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "events/s")
}

func mustQuery(t *testing.T, raw string) map[string][]string {
	t.Helper()
	v, err := url.ParseQuery(raw)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
