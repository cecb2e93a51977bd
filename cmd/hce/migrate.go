package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/hce-fhir/hce/store"
)

func migrateCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("migrate", stderr)
	var d dbFlags
	d.register(fs)
	fs.Usage = func() { fmt.Fprintln(stderr, "usage: hce migrate up|down|status [flags]"); fs.PrintDefaults() }
	if len(args) == 0 {
		fs.Usage()
		return errUsage
	}
	verb := args[0]
	switch verb {
	case "up", "down", "status":
	case "-h", "-help", "--help", "help":
		fs.Usage()
		return errHelp
	default:
		if strings.HasPrefix(verb, "-") {
			return unknownFlagBeforeVerb(fs, "migrate", verb)
		}
		return unknownVerb(fs, "migrate", verb)
	}
	if err := parse(fs, args[1:]); err != nil {
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
