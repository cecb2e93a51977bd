// Package migrations embeds HCE's goose SQL migrations. The same files run on
// plain PostgreSQL and on a Citus coordinator: every primary key carries the
// route, the distribution column, so that the tables can be distributed
// without changing a key; with the citus extension the migrations
// distribute them. The Bulk Data export jobs and their files (00006) stay
// local tables, on the coordinator.
package migrations

import "embed"

// FS holds the SQL migration files, applied in numeric order.
//
//go:embed *.sql
var FS embed.FS
