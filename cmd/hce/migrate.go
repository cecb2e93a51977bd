package main

import (
	"context"
	"fmt"
	"io"

	"github.com/hce-fhir/hce/store"
)

func migrateCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("migrate", stderr)
	var d dbFlags
	d.register(fs)
	fs.Usage = func() { fmt.Fprintln(stderr, "usage: hce migrate up|down|status [flags]"); fs.PrintDefaults() }
	verb, err := subcommand(fs, "migrate", args, "up", "down", "status")
	if err != nil {
		return err
	}
	db, err := openDatabase(ctx, d, newLogger(stderr))
	if err != nil {
		return err
	}
	defer db.close()
	m, err := store.NewMigrator(db.pool)
	if err != nil {
		return err
	}
	defer m.Close()
	switch verb {
	case "up":
		err = m.Up(ctx)
	case "down":
		err = m.Down(ctx)
	}
	if err != nil {
		return err
	}
	return m.Status(ctx, stdout)
}
