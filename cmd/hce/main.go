// Command hce is the HCE FHIR R4 server and its operations tool:
//
//	hce serve                        serve the FHIR API (embedded PostgreSQL unless --database-url)
//	hce migrate up|down|status       manage the schema
//	hce load [--url BASE] [-c N] FILE|DIR|-   load Bundles and NDJSON through the API
//	hce export --url BASE [--type T,…] [--since T] [--group ID] --out DIR   Bulk Data export to NDJSON files
//	hce cluster status|register|rebalance|reconcile   inspect and grow a Citus cluster
//	hce verify [--level basic|complete|ha] [--report FILE.md]   check a deployment
//	hce bench [--url BASE] [--resources N] [--database-url URL]   volume benchmark
//	hce healthcheck [--url URL]      exit 0 when the server's /healthz answers 200
//	hce token --scope S [--patient ID]   mint a bearer token with the server's own key
//
// Every flag has an environment twin (--addr and HCE_ADDR).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `usage: hce <command> [flags]

commands:
  serve                      serve the FHIR R4 API at http://ADDR/fhir
  migrate up|down|status     apply, roll back or list schema migrations
  load [--url BASE] [-c N] [--continue] FILE|DIR|-   post Bundles and NDJSON to a server
  export --out DIR [--url BASE] [--type T,...] [--since T] [--group ID]   Bulk Data export into NDJSON files
  cluster status             mode, Citus version, workers and tables
  cluster register           add Citus workers (--worker HOST:PORT), idempotent
  cluster rebalance          move shards onto new workers and show progress
  cluster reconcile          register, drain and rebalance to match --worker/--workers-srv (--loop)
  verify [--level basic|complete|ha] [--report FILE.md]   check a deployment and write a report
  bench [--url BASE] [--resources N] [--json FILE]   load a generated data set and time a query mix
  healthcheck                exit 0 when the server at --url answers /healthz
  token --scope S [--patient ID] [--ttl 1h]   mint a bearer token with the server's own key
  version                    print the version

Run 'hce <command> -h' for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches a command line and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	if wantsHelp(args[1:]) {
		// Usage asked for is the output, not an error message.
		stderr = stdout
	}
	var err error
	switch args[0] {
	case "serve":
		err = serveCmd(ctx, args[1:], stderr)
	case "migrate":
		err = migrateCmd(ctx, args[1:], stdout, stderr)
	case "load":
		err = loadCmd(ctx, args[1:], os.Stdin, stderr)
	case "export":
		err = exportCmd(ctx, args[1:], stdout, stderr)
	case "token":
		err = tokenCmd(ctx, args[1:], stdout, stderr)
	case "verify":
		err = verifyCmd(ctx, args[1:], stdout, stderr)
	case "bench":
		err = benchCmd(ctx, args[1:], stdout, stderr)
	case "cluster":
		err = clusterCmd(ctx, args[1:], stdout, stderr)
	case "healthcheck":
		err = healthcheckCmd(ctx, args[1:], stderr)
	case "version":
		fmt.Fprintln(stdout, "hce", version)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "hce: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err != nil {
		switch err {
		case errHelp:
			return 0
		case errUsage:
			return 2
		}
		fmt.Fprintln(stderr, "hce:", err)
		return 1
	}
	return 0
}
