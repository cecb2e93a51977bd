#!/usr/bin/env bash
# Plays the Postman collection against a fresh HCE server with newman:
# builds bin/hce, starts it on a free loopback port with an embedded
# PostgreSQL in a temporary directory, waits for /fhir/metadata, runs the
# collection, and stops the server. Extra arguments go to newman, e.g.
#   postman/run.sh --reporters cli,junit --reporter-junit-export report.xml
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"

command -v node >/dev/null || { echo "run.sh: node (and npm) are needed for newman" >&2; exit 1; }
if [ ! -d "$here/node_modules/newman" ]; then
  (cd "$here" && npm ci --no-audit --no-fund)
fi

(cd "$root" && CGO_ENABLED=0 go build -trimpath -o bin/hce ./cmd/hce)

# World-readable: as root the embedded PostgreSQL runs as the postgres user,
# which must reach its data directory inside.
data="$(mktemp -d)"
chmod 755 "$data"
log="$data/hce.log"

# A free port: bind port 0 and read what the kernel chose.
port="$(node -e 'const s = require("net").createServer(); s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });')"
base="http://127.0.0.1:$port/fhir"

pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    # The server stops its PostgreSQL on SIGTERM; give it time to do so.
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
  fi
  rm -rf "$data"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Authentication on, as in a deployment: the collection sends a token minted
# with the server's own key (collection-level bearer auth, {{token}}).
token="$("$root/bin/hce" token --data-dir "$data/pg" --scope 'system/*.cruds' --ttl 1h)"
"$root/bin/hce" serve --addr "127.0.0.1:$port" --data-dir "$data/pg" --auth=on >"$log" 2>&1 &
pid=$!

ready=""
for _ in $(seq 1 60); do
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "run.sh: hce exited before it was ready:" >&2
    cat "$log" >&2
    exit 1
  fi
  if node -e 'fetch(process.argv[1]).then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))' "$base/metadata"; then
    ready=1
    break
  fi
  sleep 1
done
if [ -z "$ready" ]; then
  echo "run.sh: $base/metadata did not answer within 60 s:" >&2
  cat "$log" >&2
  exit 1
fi

cd "$here"
status=0
npx --no-install newman run hce.postman_collection.json \
  --env-var "baseUrl=$base" --global-var "baseUrl=$base" \
  --env-var "token=$token" --global-var "token=$token" \
  --color off "$@" || status=$?
if [ "$status" -ne 0 ]; then
  echo "run.sh: newman failed; server log:" >&2
  tail -n 50 "$log" >&2
fi
exit "$status"
