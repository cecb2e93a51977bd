package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

// errUsage means the flags were wrong; the flag package has said why.
var errUsage = errors.New("usage")

// errHelp means usage was asked for (-h, --help) and has been printed: the
// command exits 0.
var errHelp = errors.New("help")

// flagError turns an error of FlagSet.Parse into errHelp or errUsage.
func flagError(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return errHelp
	}
	return errUsage
}

// wantsHelp reports whether the arguments of a command ask for usage: a
// flag -h or --help before any "--", or the subcommand help.
func wantsHelp(args []string) bool {
	if len(args) > 0 && args[0] == "help" {
		return true
	}
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}

// subcommand parses the verb and then the flags of args for command cmd
// (hce migrate up [flags]): the verb must be one of verbs; none, help or an
// unknown one prints the usage.
func subcommand(fs *flag.FlagSet, cmd string, args []string, verbs ...string) (string, error) {
	if len(args) == 0 {
		fs.Usage()
		return "", errUsage
	}
	verb := args[0]
	switch {
	case slices.Contains(verbs, verb):
	case verb == "-h" || verb == "-help" || verb == "--help" || verb == "help":
		fs.Usage()
		return "", errHelp
	case strings.HasPrefix(verb, "-"):
		return "", unknownFlagBeforeVerb(fs, cmd, verb)
	default:
		return "", unknownVerb(fs, cmd, verb)
	}
	return verb, parse(fs, args[1:])
}

// unknownVerb prints which subcommand of cmd is unknown, then its usage.
func unknownVerb(fs *flag.FlagSet, cmd, verb string) error {
	fmt.Fprintf(fs.Output(), "hce %s: unknown subcommand %q\n", cmd, verb)
	fs.Usage()
	return errUsage
}

// newFlags returns a FlagSet whose unset flags take their value from the
// environment twin: --database-url from HCE_DATABASE_URL, and so on.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("hce "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: hce %s [flags]\n", name)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args, then fills every flag not given on the command line
// from its HCE_* environment variable.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] {
			return
		}
		env := "HCE_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(env); ok && err == nil {
			if e := f.Value.Set(v); e != nil {
				err = errors.New(env + ": " + e.Error())
			}
		}
	})
	return err
}

// dbFlags are the flags every command that opens the database shares.
type dbFlags struct {
	databaseURL string
	dataDir     string
	shardCount  int
	poolSize    int
	// Failure bounds: a request that needs an unreachable node fails fast.
	statementTimeout time.Duration
	nodeTimeout      time.Duration
}

func (d *dbFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&d.databaseURL, "database-url", "", "PostgreSQL or Citus coordinator URL (env HCE_DATABASE_URL); empty runs an embedded PostgreSQL in --data-dir")
	fs.StringVar(&d.dataDir, "data-dir", "./.hce", "directory of the embedded PostgreSQL (env HCE_DATA_DIR)")
	fs.DurationVar(&d.statementTimeout, "statement-timeout", 30*time.Second, "longest a database statement may run (env HCE_STATEMENT_TIMEOUT)")
	fs.DurationVar(&d.nodeTimeout, "node-timeout", 5*time.Second, "how long to wait when connecting to the database, and on Citus from the coordinator to a worker (env HCE_NODE_TIMEOUT)")
	fs.IntVar(&d.shardCount, "shard-count", 32, "shards per distributed table when migrations distribute the tables on Citus (env HCE_SHARD_COUNT)")
	fs.IntVar(&d.poolSize, "pool-size", defaultPoolSize(), "database connections of the pool, replacing pool_max_conns of the URL; the default is 2 per CPU core, at least 8 (env HCE_POOL_SIZE)")
}

// defaultPoolSize sizes the pool for the machine: two connections per core
// keep PostgreSQL's cores busy while some connections wait on I/O or on the
// network, and at least 8 leave room for searches beside reads and writes
// on a small machine (pgx's own default, max(4, cores), let four slow
// searches take every connection).
func defaultPoolSize() int { return max(8, 2*runtime.NumCPU()) }

// unknownFlagBeforeVerb explains that cmd's subcommand comes before its flags.
func unknownFlagBeforeVerb(fs *flag.FlagSet, cmd, arg string) error {
	fmt.Fprintf(fs.Output(), "hce %s: %q before the subcommand: flags follow it (hce %s SUBCOMMAND [flags])\n", cmd, arg, cmd)
	fs.Usage()
	return errUsage
}
