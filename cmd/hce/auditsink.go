package main

import (
	"context"

	"github.com/hce-fhir/hce/audit"
	"github.com/hce-fhir/hce/store"
)

// auditSink stores the audit writer's batches in st.
func auditSink(st *store.Store) audit.Sink {
	return func(ctx context.Context, rs []audit.Record) error {
		rows := make([]store.AuditRecord, len(rs))
		for i, r := range rs {
			rows[i] = store.AuditRecord(r)
		}
		return st.RecordAudit(ctx, rows)
	}
}
