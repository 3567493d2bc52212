#!/usr/bin/env bash
# make bench: NATS request/reply and publish through the Swift wrapper and through bare libnats,
# in the same run against the same nats-server; appends the results to docs/benchmarks.md.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

B="$STATE/bench"
PORT="${GATEHOUSE_BENCH_NATS_PORT:-54322}"
REQUESTS="${BENCH_REQUESTS:-20000}"
PUBLISHES="${BENCH_PUBLISHES:-1000000}"

# BENCH_ONLY=nats,import,identity,audit,ingest,access runs only those sections (all by default).
want() { [ -z "${BENCH_ONLY:-}" ] || [[ ",$BENCH_ONLY," == *",$1,"* ]]; }
stop_within() {  # stop_within PID SECONDS: SIGTERM, then SIGKILL after the deadline
  kill -TERM "$1" 2>/dev/null || return 0
  local deadline=$((SECONDS + $2))
  while kill -0 "$1" 2>/dev/null; do
    ((SECONDS < deadline)) || { log "pid $1 did not stop in $2 s; killing it"; kill -KILL "$1"; break; }
    sleep 0.2
  done
  wait "$1" 2>/dev/null || true
}

ensure_deps
command -v cc >/dev/null || die "a C compiler is needed (apt-get install gcc)"
rm -rf "$B"; mkdir -p "$B"
trap 'nats_stop "$B/nats"' EXIT
log "building gatehouse-bench and gatehouse (release) and natsbench.c"
(cd "$ROOT" && swift build -c release --product gatehouse-bench >/dev/null && swift build -c release --product gatehouse >/dev/null \
  && swift build -c release --product gatehouse-audit-bench >/dev/null && swift build -c release --product audit >/dev/null \
  && swift build -c release --product identity >/dev/null && swift build -c release --product gatehouse-identity-bench >/dev/null \
  && swift build -c release --product access >/dev/null && swift build -c release --product gatehouse-access-bench >/dev/null)
SWIFT_BENCH="$(cd "$ROOT" && swift build -c release --show-bin-path)/gatehouse-bench"
cc -O2 -o "$B/natsbench" "$ROOT/Tests/Benchmarks/c/natsbench.c" $(pkg-config --cflags --libs libnats)
nats_start "$B/nats" "$PORT" "$((PORT + 1))"

URL="nats://127.0.0.1:$PORT"
"$B/natsbench" echo "$URL" >"$B/echo.out" &
ECHO_PID=$!
trap 'kill $ECHO_PID 2>/dev/null || true; nats_stop "$B/nats"; pg_stop "$B/pg"' EXIT
for _ in $(seq 1 100); do grep -q ready "$B/echo.out" 2>/dev/null && break; sleep 0.1; done
grep -q ready "$B/echo.out" || die "echo responder did not start"
if want nats; then
log "running: $REQUESTS sequential requests and $PUBLISHES publishes of 256 B each, C then Swift, twice"
results=()
for round in 1 2; do
  results+=("$("$B/natsbench" bench "$URL" "$REQUESTS" "$PUBLISHES")")
  results+=("$("$SWIFT_BENCH" "$URL" "$REQUESTS" "$PUBLISHES")")
done
printf '%s\n' "${results[@]}" | tee "$B/results.jsonl"

VENV="$VENV" "$VENV/bin/python" - "$B/results.jsonl" "$ROOT/docs/benchmarks.md" "$REQUESTS" "$PUBLISHES" <<'PY'
import json, sys, datetime, platform, os, subprocess
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def best(impl, key, better):
    return better(r[key] for r in rows if r["impl"] == impl)
c50, s50 = best("c", "rr_p50_us", min), best("swift", "rr_p50_us", min)
c99, s99 = best("c", "rr_p99_us", min), best("swift", "rr_p99_us", min)
cpub, spub = best("c", "pub_msgs_per_s", max), best("swift", "pub_msgs_per_s", max)
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
nats = subprocess.run([os.environ.get("VENV", ".gatehouse/venv") + "/bin/nats-server", "--version"], capture_output=True, text=True).stdout.strip()
section = f"""
## NATS client: Swift wrapper vs bare libnats ({datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC)

Command: `make bench` ({sys.argv[3]} sequential request/reply round trips and {sys.argv[4]} publishes of 256 B,
one echo responder process (bare libnats) serving both clients, loopback, best of two rounds each). Machine: {os.cpu_count()} cores, {cpu}; {nats}.

| measure | bare libnats (C) | GatehouseNATS (Swift) | Swift / C |
|---|---|---|---|
| request/reply p50 | {c50:.1f} µs | {s50:.1f} µs | {s50 / c50:.2f}× |
| request/reply p99 | {c99:.1f} µs | {s99:.1f} µs | {s99 / c99:.2f}× |
| publish throughput | {cpub:,.0f} msg/s | {spub:,.0f} msg/s | {spub / cpub:.2f}× |

Goal: latency within 1.25× of C.
"""
with open(sys.argv[2], "a") as f:
    f.write(section)
print(section)
PY

fi

# PostgreSQL for the sections below (default durability, fsync on).
GATEHOUSE="$(cd "$ROOT" && swift build -c release --show-bin-path)/gatehouse"
PG_PASSWORD="bench-$(head -c 8 /dev/urandom | base64 | tr -d '/+=')"
pg_start "$B/pg" "${GATEHOUSE_BENCH_PG_PORT:-55532}" "$PG_PASSWORD"
export GATEHOUSE_POSTGRES_PORT="${GATEHOUSE_BENCH_PG_PORT:-55532}" GATEHOUSE_POSTGRES_PASSWORD="$PG_PASSWORD"

# --- Identity CSV import: 10,000 units with 20,000 residents, durable PostgreSQL (fsync on) ---------
if want import || want identity; then
"$VENV/bin/python" - "$B/import.csv" <<'PY'
import csv, sys
with open(sys.argv[1], "w", newline="") as f:
    w = csv.writer(f)
    w.writerow("site,building,unit,floor,resident_name,resident_email,resident_phone,role".split(","))
    for u in range(10000):
        for r in range(2):
            w.writerow([f"Site {u // 2500}", f"Building {u // 250}", str(u % 2500 + 1), str(u % 2500 // 100),
                        f"Resident {u}-{r}", f"r{u}-{r}@example.org", f"+49 30 {u:05d}{r}", ("owner", "occupant")[r]])
PY
"$GATEHOUSE" tenants ensure --slug bench --name "Bench Homes" >/dev/null
log "importing 10,000 units with 20,000 residents (first run, then the same file again)"
first="$(cd "$B" && "$GATEHOUSE" import --tenant bench import.csv 2>/dev/null | head -1)"
again="$(cd "$B" && "$GATEHOUSE" import --tenant bench import.csv 2>/dev/null | head -1)"
echo "$first"; echo "$again"
cat >>"$ROOT/docs/benchmarks.md" <<MD

## Identity CSV import ($(date -u '+%Y-%m-%d %H:%M') UTC)

Command: \`make bench\` (\`gatehouse import --tenant bench\` of a generated 20,000-row file: 10,000 units
in 4 sites and 40 buildings, 20,000 residents; release build; PostgreSQL 15 with default durability,
fsync on). Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs). Goal: under 10 s.

| run | result |
|---|---|
| first import (everything created) | ${first} |
| same file again (nothing changes) | ${again} |
MD

fi

# --- Identity: dial-target resolution over NATS at 1,000 requests/s (open loop), ping as the peer --
if want identity; then
# The imported tenant gets one SIP phone per resident (20,000), a concierge with a phone per site and
# site fallbacks (concierge, then an external number), so every plan has three steps.
IDENTITY_RATE="${BENCH_IDENTITY_RATE:-1000}"
IDENTITY_SECONDS="${BENCH_IDENTITY_SECONDS:-30}"
runuser -u postgres -- "$PGBIN/psql" -h "$B/pg" -p "${GATEHOUSE_BENCH_PG_PORT:-55532}" -d gatehouse -v ON_ERROR_STOP=1 -q <<'SQL'
INSERT INTO identity.devices (id, tenant_id, site_id, kind, name, unit_id, person_id, sip_username, sip_realm, ha1_md5, ha1_sha256)
SELECT gen_random_uuid(), u.tenant_id, u.site_id, 'sip_phone', 'Phone', u.id, r.person_id,
       'p-' || replace(r.person_id::text, '-', ''), s.sip_domain, decode(md5(r.person_id::text), 'hex'), sha256(r.person_id::text::bytea)
FROM identity.unit_residents r
JOIN identity.units u ON u.tenant_id = r.tenant_id AND u.id = r.unit_id
JOIN identity.sites s ON s.id = u.site_id
JOIN identity.tenants t ON t.id = u.tenant_id AND t.slug = 'bench';
WITH p AS (
    INSERT INTO identity.people (id, tenant_id, kind, display_name, staff_role)
    SELECT gen_random_uuid(), id, 'staff', 'Bench concierge', 'staff' FROM identity.tenants WHERE slug = 'bench'
    RETURNING id, tenant_id
), d AS (
    INSERT INTO identity.devices (id, tenant_id, site_id, kind, name, person_id, sip_username, sip_realm, ha1_md5, ha1_sha256)
    SELECT gen_random_uuid(), s.tenant_id, s.id, 'sip_phone', 'Concierge desk', p.id, 'concierge', s.sip_domain,
           decode(md5('concierge'), 'hex'), sha256('concierge'::bytea)
    FROM identity.sites s JOIN p ON p.tenant_id = s.tenant_id
    RETURNING tenant_id, site_id, person_id
)
INSERT INTO identity.ring_fallbacks (id, tenant_id, site_id, position, kind, person_id, ring_seconds)
SELECT gen_random_uuid(), tenant_id, site_id, 1, 'staff', person_id, 20 FROM d;
INSERT INTO identity.ring_fallbacks (id, tenant_id, site_id, position, kind, number)
SELECT gen_random_uuid(), s.tenant_id, s.id, 2, 'external', '+4930123456'
FROM identity.sites s JOIN identity.tenants t ON t.id = s.tenant_id AND t.slug = 'bench';
ANALYZE;
SQL
runuser -u postgres -- "$PGBIN/psql" -h "$B/pg" -p "${GATEHOUSE_BENCH_PG_PORT:-55532}" -d gatehouse -tAq -c \
  "SELECT s.sip_domain || ' ' || u.dial_number FROM identity.units u JOIN identity.sites s ON s.id = u.site_id ORDER BY random() LIMIT 5000" \
  >"$B/dial-targets.txt"
RELEASE_BIN="$(cd "$ROOT" && swift build -c release --show-bin-path)"
GATEHOUSE_NATS_USER=identity GATEHOUSE_NATS_PASSWORD="$GATEHOUSE_NATS_IDENTITY_PASSWORD" \
GATEHOUSE_HTTP_PORT=58281 GATEHOUSE_NATS_SERVERS="$URL" GATEHOUSE_AUTH_ISSUER_KEY="$(head -c 32 /dev/urandom | base64)" \
  GATEHOUSE_LOG_FORMAT=json GATEHOUSE_INSTANCE=identity-bench "$RELEASE_BIN/identity" >"$B/identity.log" 2>&1 &
IDENTITY_PID=$!
trap 'kill $ECHO_PID ${IDENTITY_PID:-} 2>/dev/null || true; nats_stop "$B/nats"; pg_stop "$B/pg"' EXIT
wait_http "http://127.0.0.1:58281/health/ready" 60 || { tail -5 "$B/identity.log" >&2; die "identity did not start"; }
log "identity: resolve_dial at $IDENTITY_RATE requests/s for $IDENTITY_SECONDS s, then ping at the same rate"
identity="$("$RELEASE_BIN/gatehouse-identity-bench" "$URL" "$B/dial-targets.txt" "$IDENTITY_RATE" "$IDENTITY_SECONDS")"
echo "$identity"
stop_within "$IDENTITY_PID" 40
"$VENV/bin/python" - "$identity" "$ROOT/docs/benchmarks.md" <<'PY'
import json, sys, datetime, os
r = json.loads(sys.argv[1])
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "")
res, ping = r["resolve"], r["ping"]
with open(sys.argv[2], "a") as f:
    f.write(f"""
## Identity: dial-target resolution over NATS ({datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC)

Command: `make bench` (`gatehouse-identity-bench`: {r['rate']:,} `identity.resolve_dial` requests/s for {r['seconds']} s,
open loop — each latency counted from the instant the request was due — over {r['targets']:,} random units of the
imported tenant (10,000 units, 20,000 residents with one SIP phone each, concierge and external fallbacks:
{res['total'] / max(res['n'], 1):.1f} ring steps per plan); the release `identity` service with its PostgreSQL
on the same machine. The peer is `identity.ping` at the same rate through the same service and client: the
NATS round trip without the lookup). Machine: {os.cpu_count()} cores, {cpu}. Goal (identity issue): p99 < 2 ms at 1,000/s.

| request | answered | errors | p50 | p99 | p99.9 | max |
|---|---|---|---|---|---|---|
| resolve_dial | {res['n']:,} | {res['errors']} | {res['p50_us'] / 1000:.2f} ms | {res['p99_us'] / 1000:.2f} ms | {res['p999_us'] / 1000:.2f} ms | {res['max_us'] / 1000:.2f} ms |
| ping (peer) | {ping['n']:,} | {ping['errors']} | {ping['p50_us'] / 1000:.2f} ms | {ping['p99_us'] / 1000:.2f} ms | {ping['p999_us'] / 1000:.2f} ms | {ping['max_us'] / 1000:.2f} ms |

resolve_dial / ping at p99: {res['p99_us'] / max(ping['p99_us'], 1):.2f}×.
""")
PY

fi

# --- Audit: chained ingest and verification vs a plain batched INSERT (same run, same server) ------
if want audit; then
AUDIT_EVENTS="${BENCH_AUDIT_EVENTS:-100000}"
log "audit: $AUDIT_EVENTS events, chained writer vs plain batched INSERT, then verification"
audit="$("$(cd "$ROOT" && swift build -c release --show-bin-path)/gatehouse-audit-bench" "$AUDIT_EVENTS" 2>/dev/null)"
echo "$audit"
"$VENV/bin/python" - "$audit" "$ROOT/docs/benchmarks.md" <<'PY'
import json, sys, datetime, os
r = json.loads(sys.argv[1])
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "")
with open(sys.argv[2], "a") as f:
    f.write(f"""
## Audit chain: write and verify ({datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC)

Command: `make bench` (`gatehouse-audit-bench {r['events']}`: {r['events']} events of 4 tenants, batches of 1,000,
PostgreSQL 15 with default durability, fsync on; the peer is a plain batched `INSERT … SELECT FROM unnest`
of the same rows into a table of the same shape, without chain, head locks or duplicate check). Machine:
{os.cpu_count()} cores, {cpu}. Goals (audit issue): ingest ≥ 20,000 events/s, verification ≥ 500,000 records/s.

| measure | Gatehouse | plain INSERT (peer) | Gatehouse / peer |
|---|---|---|---|
| write (events/s) | {r['chained_per_s']:,.0f} | {r['plain_insert_per_s']:,.0f} | {r['chained_per_s'] / r['plain_insert_per_s']:.2f}× |
| verify (records/s) | {r['verified_per_s']:,.0f} | {r['plain_read_per_s']:,.0f} (plain SELECT of the same columns, one stream, no hashing) | {r['verified_per_s'] / r['plain_read_per_s']:.2f}× |

The write figure is the writer alone (classify → chain → one transaction per batch); JetStream fetch and
ack are not included. The verification peer reads exactly what the verifier reads, so their ratio shows
what hashing and checking cost on top of fetching the rows.
""")
PY

fi

# --- Audit end to end: a JetStream backlog drained by the audit service (ack after commit) --------
if want ingest; then
INGEST_EVENTS="${BENCH_INGEST_EVENTS:-100000}"
BIN="$(cd "$ROOT" && swift build -c release --show-bin-path)"
TENANT="$(python3 -c 'import uuid; print(uuid.uuid4())')"
log "audit end to end: publishing $INGEST_EVENTS events to JetStream, then draining them with the audit service"
start_audit() {
  GATEHOUSE_HTTP_PORT=58286 GATEHOUSE_NATS_SERVERS="$URL" GATEHOUSE_AUDIT_CONSUMER=audit-bench \
  GATEHOUSE_AUDIT_DATA_KEY="$(head -c 32 /dev/urandom | base64)" GATEHOUSE_LOG_FORMAT=json GATEHOUSE_INSTANCE=audit-bench \
    "$BIN/audit" >>"$B/audit.log" 2>&1 &
  AUDIT_PID=$!
}
trap 'kill $ECHO_PID ${AUDIT_PID:-} 2>/dev/null || true; nats_stop "$B/nats"; pg_stop "$B/pg"' EXIT
# A first start creates the events stream, the consumer and the schema; then the backlog is published
# with the service stopped, and the second start is timed until the backlog is committed.
start_audit
wait_http "http://127.0.0.1:58286/health/ready" 60 || { tail -5 "$B/audit.log" >&2; die "audit did not start"; }
kill -TERM "$AUDIT_PID"; wait "$AUDIT_PID" 2>/dev/null || true
pub_start=$(date +%s.%N)
"$GATEHOUSE" events probe --nats "$URL" --tenant "$TENANT" --count "$INGEST_EVENTS" --concurrency 64 >"$B/probe.out" 2>&1 \
  || { cat "$B/probe.out" >&2; die "publishing the backlog failed"; }
pub_end=$(date +%s.%N)
count_records() {
  runuser -u postgres -- "$PGBIN/psql" -h "$B/pg" -p "${GATEHOUSE_BENCH_PG_PORT:-55532}" -d gatehouse -tAq \
    -c "SELECT count(*) FROM audit.records WHERE tenant_id = '$TENANT'" 2>/dev/null || echo 0
}
ingest_start=$(date +%s.%N)
start_audit
deadline=$((SECONDS + 600))
first_at=""
until [ "$(count_records)" -ge "$INGEST_EVENTS" ]; do
  [ -z "$first_at" ] && [ "$(count_records)" -gt 0 ] && first_at=$(date +%s.%N) && first_count=$(count_records)
  ((SECONDS < deadline)) || { tail -5 "$B/audit.log" >&2; die "audit ingest did not finish in 600 s"; }
  sleep 0.2
done
ingest_end=$(date +%s.%N)
kill -TERM "$AUDIT_PID"; wait "$AUDIT_PID" 2>/dev/null || true
"$VENV/bin/python" - "$ROOT/docs/benchmarks.md" "$INGEST_EVENTS" "$pub_start" "$pub_end" "$ingest_start" "$ingest_end" \
  "${first_at:-$ingest_start}" "${first_count:-0}" <<'PY'
import sys, datetime, os
path, n, ps, pe, s, e, f, fc = sys.argv[1], int(sys.argv[2]), *map(float, sys.argv[3:])
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "")
section = f"""
## Audit ingest end to end ({datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC)

Command: `make bench` ({n} probe events published to the `GATEHOUSE_EVENTS` stream — file storage,
`sync_interval: always` — then the release `audit` executable started and timed until all {n} are
committed in PostgreSQL (fsync on): durable pull consumer, batches of 1,000 (the next fetched while one is written), one transaction per batch,
ack after commit; the time includes the service's start). Machine: {os.cpu_count()} cores, {cpu}.
Goal (audit issue): ≥ 20,000 events/s.

| measure | result |
|---|---|
| publish into JetStream (`gatehouse events probe`, 64 in flight) | {n / (pe - ps):,.0f} events/s |
| audit ingest: fetch → classify → chain → commit → ack, including the service's start | {n / (e - s):,.0f} events/s ({e - s:.1f} s) |
| the same, from the first committed batch to the last | {(n - fc) / max(e - f, 0.001):,.0f} events/s |
"""
open(path, "a").write(section)
print(section)
PY
fi

# --- Access: decisions in process and over NATS (access.present_credential vs access.ping) ---------
if want access; then
# The goal's rate, then one this machine sustains, to show the latency when the service keeps up.
ACCESS_RATES="${BENCH_ACCESS_RATES:-2000,400}"
ACCESS_SECONDS="${BENCH_ACCESS_SECONDS:-20}"
RELEASE_BIN="$(cd "$ROOT" && swift build -c release --show-bin-path)"
ACCESS_KEY="$(head -c 32 /dev/urandom | base64)"
GATEHOUSE_NATS_USER=identity GATEHOUSE_NATS_PASSWORD="$GATEHOUSE_NATS_IDENTITY_PASSWORD" \
GATEHOUSE_HTTP_PORT=58381 GATEHOUSE_NATS_SERVERS="$URL" GATEHOUSE_AUTH_ISSUER_KEY="$(head -c 32 /dev/urandom | base64)" \
  GATEHOUSE_LOG_FORMAT=json GATEHOUSE_INSTANCE=identity-access-bench "$RELEASE_BIN/identity" >"$B/identity-access.log" 2>&1 &
IDENTITY_PID=$!
GATEHOUSE_NATS_USER=access GATEHOUSE_NATS_PASSWORD="$GATEHOUSE_NATS_ACCESS_PASSWORD" GATEHOUSE_ACCESS_SECRET_KEY="$ACCESS_KEY" \
GATEHOUSE_HTTP_PORT=58382 GATEHOUSE_NATS_SERVERS="$URL" GATEHOUSE_AUTH_ISSUER_KEY="$(head -c 32 /dev/urandom | base64)" \
  GATEHOUSE_LOG_FORMAT=json GATEHOUSE_INSTANCE=access-bench "$RELEASE_BIN/access" >"$B/access.log" 2>&1 &
ACCESS_PID=$!
trap 'kill $ECHO_PID ${IDENTITY_PID:-} ${ACCESS_PID:-} 2>/dev/null || true; nats_stop "$B/nats"; pg_stop "$B/pg"' EXIT
wait_http "http://127.0.0.1:58381/health/ready" 60 || { tail -5 "$B/identity-access.log" >&2; die "identity did not start"; }
wait_http "http://127.0.0.1:58382/health/ready" 60 || { tail -5 "$B/access.log" >&2; die "access did not start"; }
# 100 doors of one building (no station: each granted command ends as not_configured at once).
runuser -u postgres -- "$PGBIN/psql" -h "$B/pg" -p "${GATEHOUSE_BENCH_PG_PORT:-55532}" -d gatehouse -v ON_ERROR_STOP=1 -q <<'SQL'
WITH t AS (
    INSERT INTO identity.tenants (id, slug, name) VALUES (gen_random_uuid(), 'access-bench', 'Access bench')
    ON CONFLICT (slug) DO UPDATE SET name = EXCLUDED.name RETURNING id
), s AS (
    INSERT INTO identity.sites (id, tenant_id, name, time_zone, sip_domain)
    SELECT gen_random_uuid(), id, 'Access bench ' || gen_random_uuid(), 'Europe/Berlin', 'ab-' || gen_random_uuid() || '.example' FROM t
    RETURNING id, tenant_id
), b AS (
    INSERT INTO identity.buildings (id, tenant_id, site_id, name) SELECT gen_random_uuid(), tenant_id, id, 'A' FROM s
    RETURNING id, tenant_id, site_id
)
INSERT INTO identity.doors (id, tenant_id, site_id, building_id, name, kind)
SELECT gen_random_uuid(), b.tenant_id, b.site_id, b.id, 'Door ' || g, 'door' FROM b, generate_series(1, 100) g;
SQL
runuser -u postgres -- "$PGBIN/psql" -h "$B/pg" -p "${GATEHOUSE_BENCH_PG_PORT:-55532}" -d gatehouse -tAq -c \
  "SELECT d.id || ' ' || d.site_id FROM identity.doors d JOIN identity.tenants t ON t.id = d.tenant_id AND t.slug = 'access-bench'" >"$B/doors.txt"
ACCESS_TENANT="$(runuser -u postgres -- "$PGBIN/psql" -h "$B/pg" -p "${GATEHOUSE_BENCH_PG_PORT:-55532}" -d gatehouse -tAq -c \
  "SELECT id FROM identity.tenants WHERE slug = 'access-bench'")"
log "access: present_credential (QR) at $ACCESS_RATES requests/s for $ACCESS_SECONDS s each, then ping"
access="$(GATEHOUSE_ACCESS_SECRET_KEY="$ACCESS_KEY" GATEHOUSE_POSTGRES_HOST=127.0.0.1 GATEHOUSE_POSTGRES_USER=gatehouse \
  GATEHOUSE_POSTGRES_DATABASE=gatehouse "$RELEASE_BIN/gatehouse-access-bench" "$URL" "$ACCESS_TENANT" "$B/doors.txt" "$ACCESS_RATES" "$ACCESS_SECONDS")"
echo "$access"
stop_within "$ACCESS_PID" 40
stop_within "$IDENTITY_PID" 40
"$VENV/bin/python" - "$access" "$ROOT/docs/benchmarks.md" <<'PY'
import json, sys, datetime, os
r = json.loads(sys.argv[1])
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "")
local, ping = r["local"], r["ping"]
rows = "\n".join(
    f"| present_credential over NATS at {run['rate']:,}/s | {run['present']['n']:,} | {run['present']['errors']:,} | {run['present']['p50_us'] / 1000:.2f} ms | {run['present']['p99_us'] / 1000:.2f} ms | {run['present']['p999_us'] / 1000:.2f} ms | {run['present']['max_us'] / 1000:.2f} ms |"
    for run in r["runs"]
)
section = f"""
## Access: decisions in process and over NATS ({datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC)

Command: `make bench` (`gatehouse-access-bench`). In process: {r['iterations']:,} calls of the decision function
(`DoorAuthority.decide`, a weekly schedule on the Europe/Berlin wall clock, and the Ed25519 verification of a
QR token), each timed. Over NATS: `access.present_credential` with QR codes of {r['passes']} passes for
{r['seconds']} s per rate, open loop (latency counted from the instant a request was due; a request not answered
within 5 s is an error), against the release `access` service, which reads and counts the pass and writes the
decision and the command's outcome through its outbox into PostgreSQL (fsync on), and its outbox relay
publishes both to JetStream (`sync_interval: always`); the doors have no station, so a grant's command ends at
once as `notConfigured`. The peer is `access.ping` at {r['ping_rate']:,}/s through the same service and client.
Machine: {os.cpu_count()} cores, {cpu}; NATS, PostgreSQL, identity, access and the load generator share it.
Goals (access issue): in process p99 < 1 ms; over NATS p99 < 5 ms at 2,000/s.

| measure | answered | errors | p50 | p99 | p99.9 | max |
|---|---|---|---|---|---|---|
| decision, in process | {local['n']:,} | 0 | {local['p50_us']:.0f} µs | {local['p99_us']:.0f} µs | {local['p999_us']:.0f} µs | {local['max_us']:.0f} µs |
{rows}
| ping over NATS (peer) | {ping['n']:,} | {ping['errors']:,} | {ping['p50_us'] / 1000:.2f} ms | {ping['p99_us'] / 1000:.2f} ms | {ping['p999_us'] / 1000:.2f} ms | {ping['max_us'] / 1000:.2f} ms |

Capacity of the decision path without NATS: {r['desk']['n']:,} QR presentations through the same code (`CredentialDesk`,
release build) in the load generator's process, 64 at a time against the same PostgreSQL: **{r['desk_per_second']:,.0f} decisions/s**.
"""
open(sys.argv[2], "a").write(section)
print(section)
PY
fi

