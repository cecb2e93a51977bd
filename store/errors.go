package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/hce-fhir/hce/fhir"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// translate maps a driver error to the fhir sentinel errors, once, so that
// no other code in the store inspects pgx errors. what is the short context
// prefixed to the message (e.g. "read Patient/12").
func translate(what string, err error) error {
	if err == nil {
		return nil
	}
	var fe *fhir.Error
	if errors.As(err, &fe) {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("store: %s: %w", what, fhir.ErrNotFound)
	}
	// The database's own message (table and index names, node addresses)
	// stays in the error text, which is logged; clients see only the
	// public issue of the *fhir.Error each case wraps.
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505": // unique_violation
			return fmt.Errorf("store: %s: %w: %s", what, errConcurrent(), pgErr.Message)
		case "40001", "40P01": // serialization_failure, deadlock_detected
			return fmt.Errorf("store: %s: %w: %s", what, errConcurrent(), pgErr.Message)
		case "57014": // query_canceled (statement_timeout)
			return fmt.Errorf("store: %s: %w: %s", what, errTimeout(), pgErr.Message)
		case "22P02", "22007", "22008", "22021", "22P05": // bad text, datetime formats, bad byte sequences
			return fmt.Errorf("store: %s: %w: %s", what, errBadValue(), pgErr.Message)
		case "54000": // program_limit_exceeded, e.g. an index row too large
			return fmt.Errorf("store: %s: %w: %s", what, errTooLarge(), pgErr.Message)
		case "25006": // read_only_sql_transaction: a primary demoted under the connection
			return fmt.Errorf("store: %s: %w: %s", what, errDown(), pgErr.Message)
		case "XX000": // internal_error, which Citus also raises when a node fails
			if nodeFailure(pgErr.Message) {
				return fmt.Errorf("store: %s: %w: %s", what, errDown(), pgErr.Message)
			}
		}
		if len(pgErr.Code) >= 2 && (pgErr.Code[:2] == "08" || pgErr.Code[:2] == "53" || pgErr.Code[:2] == "57") {
			return fmt.Errorf("store: %s: %w: %s", what, errDown(), pgErr.Message)
		}
		return fmt.Errorf("store: %s: %w", what, err)
	}
	// A connection that drops mid-request ends in an EOF: the database is
	// unavailable, which is not the request's fault.
	var netErr net.Error
	if errors.As(err, &netErr) || pgconn.SafeToRetry(err) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("store: %s: %w: %v", what, errDown(), err)
	}
	var connErr *pgconn.ConnectError
	if errors.As(err, &connErr) {
		return fmt.Errorf("store: %s: %w: %v", what, errDown(), err)
	}
	return fmt.Errorf("store: %s: %w", what, err)
}

// nodeFailures are the starts of the messages with which Citus reports, as
// an internal error (XX000), that a node went away under a statement: a
// worker that died during a commit, or the coordinator's own postmaster
// killed while it waited for a worker. During a failover these are the
// database being briefly unavailable, not a fault of the request.
var nodeFailures = []string{
	"could not commit transaction",    // … for shard N on at least one active node, … on any active node
	"failed to commit transaction on", // … host:port
	"postmaster was shut down",
	"connection to the remote node",
	"could not establish any connections to the node",
	"connection not open",
	"server closed the connection unexpectedly",
}

// nodeFailure reports whether an internal error's message is one of
// nodeFailures.
func nodeFailure(msg string) bool {
	for _, p := range nodeFailures {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// The public faces of database errors: what a client is told, without the
// database's own text. Each call makes a new error, as callers may edit the
// issues they are given.
func errDown() *fhir.Error {
	return fhir.Errorf(fhir.ErrUnavailable, "transient", "the database is unavailable; retry later")
}

func errTimeout() *fhir.Error {
	return fhir.Errorf(fhir.ErrUnavailable, "timeout", "the database did not answer in time; retry later")
}

func errConcurrent() *fhir.Error {
	return fhir.Errorf(fhir.ErrConflict, "conflict", "the request clashed with a concurrent change; retry it")
}

func errBadValue() *fhir.Error {
	return fhir.Errorf(fhir.ErrInvalid, "invalid", "a value of the request cannot be stored")
}

func errTooLarge() *fhir.Error {
	return fhir.Errorf(fhir.ErrInvalid, "too-costly", "a value of the request is too large to be indexed")
}
