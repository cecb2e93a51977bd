package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/hce-fhir/hce/internal/testdb"
	"github.com/jackc/pgx/v5"
)

// BenchmarkContent compares storing resource content as json (text as
// written) and as jsonb (parsed, numbers as numeric), on the official
// examples: writes of 100 rows per batch, reads by key, and the bytes per
// row (reported as B/row). Run with
//
//	go test ./store -run '^$' -bench BenchmarkContent -benchtime 20x
func BenchmarkContent(b *testing.B) {
	files, _ := filepath.Glob("../fhir/testdata/examples/*/*.json")
	var docs []string
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		docs = append(docs, string(raw))
	}
	pool := testdb.Pool(b, MigrateUp)
	ctx := context.Background()
	for _, kind := range []string{"json", "jsonb"} {
		table := "bench_content_" + kind
		if _, err := pool.Exec(ctx, fmt.Sprintf(`DROP TABLE IF EXISTS %s; CREATE TABLE %[1]s (id int PRIMARY KEY, content %s)`, table, kind)); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { pool.Exec(context.Background(), `DROP TABLE `+table) })
		next := 0
		b.Run(kind+"/write", func(b *testing.B) {
			for range b.N {
				batch := &pgx.Batch{}
				for range 100 {
					batch.Queue(`INSERT INTO `+table+` VALUES ($1, $2)`, next, docs[next%len(docs)])
					next++
				}
				if err := pool.SendBatch(ctx, batch).Close(); err != nil {
					b.Fatal(err)
				}
			}
			var size int64
			pool.QueryRow(ctx, `SELECT pg_total_relation_size($1::regclass)`, table).Scan(&size)
			b.ReportMetric(float64(size)/float64(next), "B/row")
		})
		b.Run(kind+"/read", func(b *testing.B) {
			var out []byte
			for i := range b.N {
				if err := pool.QueryRow(ctx, `SELECT content FROM `+table+` WHERE id = $1`, i%max(next, 1)).Scan(&out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
