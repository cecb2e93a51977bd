package store

import (
	"context"
	"errors"
	"strconv"
	"testing"

	"github.com/hce-fhir/hce/fhir"
	"github.com/hce-fhir/hce/internal/testdb"
)

func TestPendingFull(t *testing.T) {
	var p pending
	for i := range maxPendingRows - 1 {
		p.add("t", nil, false, "", i)
	}
	if p.full() {
		t.Fatalf("full at %d rows", p.n)
	}
	p.add("t", nil, false, "", 0)
	if !p.full() {
		t.Fatalf("not full at %d rows", p.n)
	}
	var q pending
	q.merge(&p)
	if p.n != 0 || q.n != maxPendingRows || !q.full() {
		t.Fatalf("after merge: %d and %d rows", p.n, q.n)
	}
}

// TestLargeTransactionStaysAtomic creates more resources in one
// transaction than the pending rows hold, so that they are written before
// the commit, then fails it: nothing may remain.
func TestLargeTransactionStaysAtomic(t *testing.T) {
	st := New(testdb.Pool(t, MigrateUp))
	ctx := context.Background()
	fail := errors.New("the transaction fails at its end")
	var ids []string
	err := st.Transaction(ctx, func(tx *Store) error {
		for i := 0; tx.pend.n < maxPendingRows || len(ids) < 2; i++ {
			r := mustParse(t, `{"resourceType":"Patient","name":[{"family":"Atomic`+strconv.Itoa(i)+`","given":["A","B"]}],"birthDate":"1970-01-01"}`)
			before := tx.pend.n
			if _, err := tx.Create(ctx, r); err != nil {
				return err
			}
			ids = append(ids, r.ID)
			if tx.pend.n < before {
				// The rows were written: more than one flush happened.
				break
			}
		}
		if tx.pend.n >= maxPendingRows {
			t.Errorf("%d rows still pending after the limit", tx.pend.n)
		}
		return fail
	})
	if !errors.Is(err, fail) {
		t.Fatalf("err = %v", err)
	}
	for _, id := range []string{ids[0], ids[len(ids)-1]} {
		if _, err := st.Read(ctx, "Patient", id); !errors.Is(err, fhir.ErrNotFound) {
			t.Fatalf("Patient/%s after the rollback: %v", id, err)
		}
	}
}
