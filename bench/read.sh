#!/usr/bin/env bash
# Read by id against PostgreSQL's own limit, side by side: a fresh `hce
# serve` (embedded PostgreSQL, authentication and audit off) loaded with a
# few Synthea Bundles, then in each round `pgbench -S` on a pgbench database
# of the same PostgreSQL (Unix socket) and wrk reading the stored
# Observations by id through the FHIR API, at the same number of clients,
# one right after the other. Prints both rates and their ratio per round.
# Run it as `make bench-read` (ROUNDS, DURATION in seconds, CLIENTS, SCALE, HCE_BIN,
# FILES: how many Synthea patient files to load, SYNTHEA: their directory);
# see docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${HCE_BIN:-./bin/hce} # another build to compare with, e.g. HCE_BIN=/tmp/hce-old
for tool in wrk pgbench psql jq curl; do
	command -v "$tool" >/dev/null || { echo "bench/read.sh: $tool is needed" >&2; exit 1; }
done
rounds=${ROUNDS:-3}
duration=${DURATION:-15}
clients=${CLIENTS:-16}
scale=${SCALE:-10}
files=${FILES:-4}
synthea=${SYNTHEA:-../shared/data/synthea} # beside the repository, as for bench/

work=$(mktemp -d "${TMPDIR:-/tmp}/hce-bench-read.XXXXXX")
chmod 755 "$work" # the embedded PostgreSQL may run as the postgres user
log=$work/serve.log
pid=
stop() {
	[ -n "$pid" ] && { kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
	rm -rf "$work"
}
trap stop EXIT

"$bin" serve --addr 127.0.0.1:0 --data-dir "$work/data" --auth=off --audit=false >"$log" 2>&1 &
pid=$!
url=
for _ in $(seq 600); do
	url=$(sed -n 's/.*"msg":"serving FHIR R4","url":"\([^"]*\)".*/\1/p' "$log" | head -n 1)
	[ -n "$url" ] && break
	kill -0 "$pid" 2>/dev/null || { echo "bench/read.sh: hce serve exited:" >&2; cat "$log" >&2; exit 1; }
	sleep 0.2
done
[ -n "$url" ] || { echo "bench/read.sh: hce serve did not start in time:" >&2; cat "$log" >&2; exit 1; }
socket=$(sed -n 's/.*"msg":"starting PostgreSQL in .* on the Unix socket in \([^"]*\)".*/\1/p' "$log" | head -n 1)

# PostgreSQL's tools as the user that owns the socket (postgres when root).
pg() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# The organizations and practitioners first, then FILES patients.
mapfile -t bundles < <(ls "$synthea"/*Information*.json* && ls "$synthea"/*.json* | grep -v Information | head -n "$files")
"$bin" load --url "$url" "${bundles[@]}" >"$work/load.log" 2>&1 ||
	{ echo "bench/read.sh: hce load failed:" >&2; tail -n 20 "$work/load.log" >&2; exit 1; }
curl -sf "$url/Observation?_count=200&_elements=id" | jq -r '.entry[].resource.id' >"$work/ids"
[ -s "$work/ids" ] || { echo "bench/read.sh: no Observations stored" >&2; exit 1; }
cat >"$work/read.lua" <<EOF
-- Each request reads the next stored Observation by id.
local ids = {}
for line in io.lines("$work/ids") do ids[#ids + 1] = line end
local n = 0
request = function()
	n = n + 1
	return wrk.format("GET", "/fhir/Observation/" .. ids[(n % #ids) + 1])
end
EOF
chmod 644 "$work/ids" "$work/read.lua"

pg psql -h "$socket" -U postgres -d postgres -qc 'CREATE DATABASE pgbench' >/dev/null
pg pgbench -h "$socket" -U postgres -i -q -s "$scale" pgbench >"$work/pgbench-init.log" 2>&1 ||
	{ echo "bench/read.sh: pgbench -i failed:" >&2; cat "$work/pgbench-init.log" >&2; exit 1; }

echo "bench/read.sh: $(wc -l <"$work/ids") Observation ids at $url; pgbench scale $scale on $socket; $clients clients, ${duration}s each" >&2
echo "| round | pgbench -S tps | HCE read req/s | ratio |"
echo "|--:|--:|--:|--:|"
base=${url%/fhir}
for round in $(seq "$rounds"); do
	tps=$(pg pgbench -h "$socket" -U postgres -S -n -c "$clients" -j 2 -T "$duration" pgbench 2>/dev/null |
		awk '/^tps/ {print int($3)}')
	out=$(wrk -t2 -c"$clients" -d"${duration}s" -s "$work/read.lua" "$base")
	if echo "$out" | grep -q 'Non-2xx'; then
		echo "bench/read.sh: wrk saw errors:" >&2
		echo "$out" >&2
		exit 1
	fi
	rps=$(echo "$out" | awk '/Requests\/sec/ {print int($2)}')
	echo "| $round | $tps | $rps | $(echo "100 * $rps / $tps" | bc)% |"
done
