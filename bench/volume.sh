#!/usr/bin/env bash
# The volume benchmark on a fresh server: starts `hce serve` on a free
# loopback port, on a new embedded PostgreSQL (or on HCE_DATABASE_URL when
# it is set), runs `hce bench` against it with the arguments given, and
# stops the server. Run it as `make bench-volume`; see docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=./bin/hce

work=$(mktemp -d "${TMPDIR:-/tmp}/hce-bench-volume.XXXXXX")
chmod 755 "$work" # the embedded PostgreSQL may run as the postgres user
log=$work/serve.log
args=(serve --addr 127.0.0.1:0 --data-dir "$work/data")
if [ -n "${HCE_DATABASE_URL:-}" ]; then
	args+=(--database-url "$HCE_DATABASE_URL")
fi
"$bin" "${args[@]}" >"$log" 2>&1 &
pid=$!
stop() {
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	rm -rf "$work"
}
trap stop EXIT

# The server logs its URL once it serves; give it two minutes.
url=
for _ in $(seq 600); do
	url=$(sed -n 's/.*"msg":"serving FHIR R4","url":"\([^"]*\)".*/\1/p' "$log" | head -n 1)
	[ -n "$url" ] && break
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "bench-volume: hce serve exited:" >&2
		cat "$log" >&2
		exit 1
	fi
	sleep 0.2
done
if [ -z "$url" ]; then
	echo "bench-volume: hce serve did not start in time:" >&2
	cat "$log" >&2
	exit 1
fi

# ANALYZE and the database size need the database: the embedded one
# listens on the Unix socket it logs.
db=${HCE_DATABASE_URL:-}
if [ -z "$db" ]; then
	socket=$(sed -n 's/.*"msg":"starting PostgreSQL in .* on the Unix socket in \([^"]*\)".*/\1/p' "$log" | head -n 1)
	db="host=$socket port=5432 user=postgres dbname=hce sslmode=disable"
fi
# A token of the server's own key, for when authentication is on.
token=${HCE_TOKEN:-}
if [ -z "$token" ]; then
	token=$("$bin" token --scope 'system/*.cruds' --ttl 24h --data-dir "$work/data")
fi
echo "bench-volume: server at $url" >&2
status=0
"$bin" bench --url "$url" --database-url "$db" --token "$token" "$@" || status=$?
if [ "$status" -ne 0 ]; then
	echo "bench-volume: hce bench failed ($status); the last lines of the server's log:" >&2
	grep -v '"msg":"request"' "$log" | tail -n 20 >&2 || true
fi
exit "$status"
