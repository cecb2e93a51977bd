package store

import (
	"time"

	"github.com/hce-fhir/hce/search/extract"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// Index rows are written with one INSERT … SELECT FROM unnest(…) per table:
// a resource's rows, however many, cost one statement per table, all queued
// in the same batch (one round trip) as the resource row.
const (
	insertStrings = `INSERT INTO idx_string (shard_key, type, id, param, value, exact)
SELECT $1, $2, $3, * FROM unnest($4::text[], $5::text[], $6::text[])`
	insertTokens = `INSERT INTO idx_token (shard_key, type, id, param, system, code, text, type_system, type_code)
SELECT $1, $2, $3, * FROM unnest($4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[])`
	insertDates = `INSERT INTO idx_date (shard_key, type, id, param, lo, hi)
SELECT $1, $2, $3, * FROM unnest($4::text[], $5::timestamptz[], $6::timestamptz[])`
	insertNumbers = `INSERT INTO idx_number (shard_key, type, id, param, value)
SELECT $1, $2, $3, * FROM unnest($4::text[], $5::text[]::numeric[])`
	insertQuantities = `INSERT INTO idx_quantity (shard_key, type, id, param, value, system, code, unit)
SELECT $1, $2, $3, * FROM unnest($4::text[], $5::text[]::numeric[], $6::text[], $7::text[], $8::text[])`
	insertReferences = `INSERT INTO idx_reference (shard_key, type, id, param, target_type, target_id, url)
SELECT $1, $2, $3, * FROM unnest($4::text[], $5::text[], $6::text[], $7::text[])`
	insertURIs = `INSERT INTO idx_uri (shard_key, type, id, param, value)
SELECT $1, $2, $3, * FROM unnest($4::text[], $5::text[])`
	insertComposites = `INSERT INTO idx_composite (shard_key, type, id, param, c1_system, c1_code, c2_system, c2_code, c2_number, c2_lo, c2_hi, c2_string, c3_number)
SELECT $1, $2, $3, * FROM unnest($4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[]::numeric[], $10::timestamptz[], $11::timestamptz[], $12::text[], $13::text[]::numeric[])`
)

// indexTables lists every index table, for deleting a resource's rows.
var indexTables = []string{"idx_string", "idx_token", "idx_date", "idx_number", "idx_quantity", "idx_reference", "idx_uri", "idx_composite"}

// queueDeleteIndex removes the index rows of shard/typ/id.
func queueDeleteIndex(b *pgx.Batch, shard, typ, id string) {
	for _, t := range indexTables {
		b.Queue(`DELETE FROM `+t+` WHERE shard_key = $1 AND type = $2 AND id = $3`, shard, typ, id)
	}
}

// queueIndex queues the inserts of x's rows for shard/typ/id.
func queueIndex(b *pgx.Batch, shard, typ, id string, x *extract.Index) {
	key := []any{shard, typ, id}
	if n := len(x.Strings); n > 0 {
		p, v, e := make([]string, n), make([]string, n), make([]string, n)
		for i, s := range x.Strings {
			p[i], v[i], e[i] = s.Param, s.Value, s.Exact
		}
		b.Queue(insertStrings, append(key, p, v, e)...)
	}
	if n := len(x.Tokens); n > 0 {
		p := make([]string, n)
		sys, code, text, ts, tc := make([]*string, n), make([]*string, n), make([]*string, n), make([]*string, n), make([]*string, n)
		for i, t := range x.Tokens {
			p[i], sys[i], code[i], text[i], ts[i], tc[i] = t.Param, t.System, t.Code, t.Text, t.TypeSystem, t.TypeCode
		}
		b.Queue(insertTokens, append(key, p, sys, code, text, ts, tc)...)
	}
	if n := len(x.Dates); n > 0 {
		p, lo, hi := make([]string, n), make([]pgtype.Timestamptz, n), make([]pgtype.Timestamptz, n)
		for i, d := range x.Dates {
			p[i], lo[i], hi[i] = d.Param, timestamp(d.Lo), timestamp(d.Hi)
		}
		b.Queue(insertDates, append(key, p, lo, hi)...)
	}
	if n := len(x.Numbers); n > 0 {
		p, v := make([]string, n), make([]string, n)
		for i, num := range x.Numbers {
			p[i], v[i] = num.Param, num.Value
		}
		b.Queue(insertNumbers, append(key, p, v)...)
	}
	if n := len(x.Quantities); n > 0 {
		p, v := make([]string, n), make([]string, n)
		sys, code, unit := make([]*string, n), make([]*string, n), make([]*string, n)
		for i, q := range x.Quantities {
			p[i], v[i], sys[i], code[i], unit[i] = q.Param, q.Value, q.System, q.Code, q.Unit
		}
		b.Queue(insertQuantities, append(key, p, v, sys, code, unit)...)
	}
	if n := len(x.References); n > 0 {
		p := make([]string, n)
		tt, ti, url := make([]*string, n), make([]*string, n), make([]*string, n)
		for i, r := range x.References {
			p[i], tt[i], ti[i], url[i] = r.Param, r.TargetType, r.TargetID, r.URL
		}
		b.Queue(insertReferences, append(key, p, tt, ti, url)...)
	}
	if n := len(x.URIs); n > 0 {
		p, v := make([]string, n), make([]string, n)
		for i, u := range x.URIs {
			p[i], v[i] = u.Param, u.Value
		}
		b.Queue(insertURIs, append(key, p, v)...)
	}
	if n := len(x.Composites); n > 0 {
		p := make([]string, n)
		c1s, c1c, c2s, c2c, c2n, c2str, c3n := make([]*string, n), make([]*string, n), make([]*string, n), make([]*string, n), make([]*string, n), make([]*string, n), make([]*string, n)
		lo, hi := make([]pgtype.Timestamptz, n), make([]pgtype.Timestamptz, n)
		for i, c := range x.Composites {
			p[i], c1s[i], c1c[i], c2s[i], c2c[i], c2n[i], c2str[i], c3n[i] = c.Param, c.C1System, c.C1Code, c.C2System, c.C2Code, c.C2Number, c.C2String, c.C3Number
			if c.C2Lo != nil {
				lo[i], hi[i] = timestamp(*c.C2Lo), timestamp(*c.C2Hi)
			}
		}
		b.Queue(insertComposites, append(key, p, c1s, c1c, c2s, c2c, c2n, lo, hi, c2str, c3n)...)
	}
}

// timestamp maps the extractor's open ends to PostgreSQL's infinities.
func timestamp(t time.Time) pgtype.Timestamptz {
	switch {
	case !t.After(extract.MinTime):
		return pgtype.Timestamptz{Valid: true, InfinityModifier: pgtype.NegativeInfinity}
	case !t.Before(extract.MaxTime):
		return pgtype.Timestamptz{Valid: true, InfinityModifier: pgtype.Infinity}
	}
	return pgtype.Timestamptz{Time: t, Valid: true}
}
