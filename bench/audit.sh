#!/usr/bin/env bash
# The cost of the audit trail: read by id of one Patient at 16 clients with
# wrk, authentication on, audit off and on in turns on one embedded
# PostgreSQL. "sustained" divides the requests by the time until the last
# one's AuditEvent is stored. Run it as `make bench-audit` (ROUNDS, DURATION
# in seconds); see docs/security.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=./bin/hce
command -v wrk >/dev/null || { echo "bench/audit.sh: wrk is needed" >&2; exit 1; }
rounds=${ROUNDS:-3}
duration=${DURATION:-10}

work=$(mktemp -d "${TMPDIR:-/tmp}/hce-bench-audit.XXXXXX")
chmod 755 "$work" # the embedded PostgreSQL may run as the postgres user
pid=
stop() {
	[ -n "$pid" ] && { kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
	rm -rf "$work"
}
trap stop EXIT
token=$("$bin" token --data-dir "$work/data" --scope 'system/*.cruds' --ttl 2h)
audited() { psql "host=$work/data/pg user=postgres dbname=hce" -Atqc 'SELECT count(*) FROM audit_events'; }

for round in $(seq "$rounds"); do
	for audit in false true; do
		"$bin" serve --addr 127.0.0.1:0 --data-dir "$work/data" --auth=on --audit=$audit >"$work/serve.log" 2>&1 &
		pid=$!
		url=
		for _ in $(seq 600); do
			url=$(sed -n 's/.*"msg":"serving FHIR R4","url":"\([^"]*\)".*/\1/p' "$work/serve.log" | head -n 1)
			[ -n "$url" ] && break
			sleep 0.2
		done
		[ -n "$url" ] || { echo "bench/audit.sh: the server did not start:" >&2; cat "$work/serve.log" >&2; exit 1; }
		id=$(curl -sf -X POST -H "Authorization: Bearer $token" -H 'Content-Type: application/fhir+json' \
			-d '{"resourceType":"Patient","active":true}' "$url/Patient" | sed 's/.*"id": *"\([^"]*\)".*/\1/')
		sleep 1 # the create's AuditEvent is stored
		before=$(audited)
		start=$(date +%s.%N)
		out=$(wrk -t2 -c16 -d"${duration}s" -H "Authorization: Bearer $token" "$url/Patient/$id")
		n=$(echo "$out" | awk '/requests in/ {print $1}')
		if [ "$audit" = true ]; then
			while [ "$(audited)" -lt $((before + n)) ]; do sleep 0.05; done
		fi
		end=$(date +%s.%N)
		echo "round $round audit=$audit requests=$n req/s=$(echo "$out" | awk '/Requests\/sec/ {print int($2)}')" \
			"sustained=$(echo "$n / ($end - $start)" | bc -l | cut -d. -f1)"
		kill -TERM "$pid"
		wait "$pid" || true
		pid=
	done
done
