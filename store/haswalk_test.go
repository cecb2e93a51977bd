package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/hce-fhir/hce/fhir"
	"github.com/hce-fhir/hce/internal/testdb"
)

// TestReverseChainWalk checks both plans of a _has filter against the
// same answer: a code on more Observations than hasWalkAbove walks the
// Patients, a rare one follows its Observations, and both find exactly the
// Patients referenced, page by page and counted.
func TestReverseChainWalk(t *testing.T) {
	pool := testdb.Pool(t, MigrateUp)
	st := New(pool)
	ctx := context.Background()
	run := fhir.RandomID()[:8]
	var patients []string
	for i := range 12 {
		p, err := st.Create(ctx, mustParse(t, `{"resourceType":"Patient","name":[{"family":"Walk`+run+fmt.Sprint(i)+`"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		patients = append(patients, p.ID)
	}
	obs := func(tx *Store, patient, code string) error {
		_, err := tx.Create(ctx, mustParse(t, `{"resourceType":"Observation","status":"final","subject":{"reference":"Patient/`+patient+`"},
			"code":{"coding":[{"system":"urn:walk","code":"`+code+`"}]}}`))
		return err
	}
	err := st.Transaction(ctx, func(tx *Store) error {
		for i := range hasWalkAbove + 50 {
			if err := obs(tx, patients[i%10], "common"+run); err != nil {
				return err
			}
		}
		for _, p := range []string{patients[3], patients[11], patients[11]} {
			if err := obs(tx, p, "rare"+run); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	common := slices.Clone(patients[:10])
	slices.Sort(common)
	rare := []string{patients[3], patients[11]}
	slices.Sort(rare)
	for _, tt := range []struct {
		code string
		walk bool
		want []string
	}{
		{"common" + run, true, common},
		{"rare" + run, false, rare},
	} {
		t.Run(tt.code, func(t *testing.T) {
			query := "_has:Observation:patient:code=" + tt.code
			q := parseQuery(t, "Patient", query+"&_count=4")
			b := &sqlBuilder{}
			if err := st.probeReverseChains(ctx, b, q); err != nil {
				t.Fatal(err)
			}
			where, err := b.searchWhere(q, Scope{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			citus := st.onCitus(ctx)
			if walks := strings.Contains(where, "IS TRUE OFFSET 0"); walks != (tt.walk && !citus) || len(b.walk) > 0 != walks {
				t.Errorf("walk = %v, want %v (on Citus: %v):\n%s", walks, tt.walk && !citus, citus, where)
			}
			var got []string
			for {
				res, err := st.Search(ctx, q, Scope{})
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range res.Matches {
					got = append(got, m.ID)
				}
				if res.Next == "" {
					break
				}
				q.Cursor = res.Next
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("%s: got %v\nwant %v", query, got, tt.want)
			}
			res, err := st.Search(ctx, parseQuery(t, "Patient", query+"&_summary=count"), Scope{})
			if err != nil || res.Total == nil || *res.Total != len(tt.want) {
				t.Errorf("%s count: %v %v, want %d", query, res, err, len(tt.want))
			}
		})
	}
}
