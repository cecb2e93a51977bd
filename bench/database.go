package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// analyzeDatabase runs ANALYZE on the whole database, so that the searches
// are planned on statistics of the loaded data, and returns how long it
// took and the database's size afterwards.
func analyzeDatabase(ctx context.Context, cfg *pgx.ConnConfig) (time.Duration, int64, error) {
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return 0, 0, fmt.Errorf("bench: connect to the database: %w", err)
	}
	defer conn.Close(context.Background())
	start := time.Now()
	if _, err := conn.Exec(ctx, `ANALYZE`); err != nil {
		return 0, 0, fmt.Errorf("bench: analyze: %w", err)
	}
	took := time.Since(start)
	var size int64
	if err := conn.QueryRow(ctx, `SELECT pg_database_size(current_database())`).Scan(&size); err != nil {
		return took, 0, fmt.Errorf("bench: database size: %w", err)
	}
	return took, size, nil
}
