#!/usr/bin/env bash
# The audit durability test (audit issue): 50,000 events are published while the audit service is
# killed with SIGKILL twice and PostgreSQL is restarted once; afterwards exactly 50,000 probe records exist
# for the tenant and its chain verifies. Called by scripts/test.sh with the test servers running.
# Usage: audit_soak.sh PG_DIR PG_PORT PG_PASSWORD NATS_URL BIN_DIR [EVENTS]
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

PG_DIR="$1" PG_PORT="$2" PG_PASSWORD="$3" NATS_URL="$4" BIN="$5" EVENTS="${6:-50000}"
DB=audit_soak
TENANT="$(python3 -c 'import uuid; print(uuid.uuid4())')"
LOG="$PG_DIR/../audit-soak.log"
HTTP_PORT=58186
psql_() { runuser -u postgres -- "$PGBIN/psql" -h "$PG_DIR" -p "$PG_PORT" -U postgres -tAq "$@" </dev/null; }
psql_ -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB OWNER gatehouse"

AUDIT_PID=""
start_audit() {
  GATEHOUSE_HTTP_PORT=$HTTP_PORT GATEHOUSE_NATS_SERVERS="$NATS_URL" GATEHOUSE_POSTGRES_PORT="$PG_PORT" \
  GATEHOUSE_POSTGRES_PASSWORD="$PG_PASSWORD" GATEHOUSE_POSTGRES_DATABASE=$DB GATEHOUSE_AUDIT_CONSUMER=audit-soak \
  GATEHOUSE_AUDIT_ACK_WAIT_SECONDS=5 GATEHOUSE_LOG_FORMAT=json GATEHOUSE_INSTANCE=audit-soak \
  GATEHOUSE_AUDIT_DATA_KEY="$(secret audit-soak.datakey)" \
    "$BIN/audit" >>"$LOG" 2>&1 &
  AUDIT_PID=$!
}
records() { psql_ -d $DB -c "SELECT count(*) FROM audit.records WHERE tenant_id = '$TENANT' AND event_type = 'io.gatehouse.system.probe.v1'" 2>/dev/null || echo 0; }
wait_for() {  # wait_for N SECONDS: until at least N records, polling with a deadline
  local deadline=$((SECONDS + $2))
  until [ "$(records)" -ge "$1" ]; do
    ((SECONDS < deadline)) || { tail -5 "$LOG" >&2; die "audit soak: fewer than $1 records after $2 s"; }
    sleep 0.2
  done
}
cleanup() { [ -n "$AUDIT_PID" ] && kill -KILL "$AUDIT_PID" 2>/dev/null; [ -n "${PUB_PID:-}" ] && kill "$PUB_PID" 2>/dev/null; true; }
trap cleanup EXIT

log "audit soak: $EVENTS events for tenant $TENANT; SIGKILL ×2, PostgreSQL restart ×1"
start_audit
wait_http "http://127.0.0.1:$HTTP_PORT/health/ready" 60 || { tail -20 "$LOG" >&2; die "audit did not start"; }
"$BIN/gatehouse" events probe --nats "$NATS_URL" --tenant "$TENANT" --count "$EVENTS" --concurrency 64 >"$PG_DIR/../probe.out" 2>&1 &
PUB_PID=$!

wait_for $((EVENTS / 5)) 120
kill -KILL "$AUDIT_PID"; wait "$AUDIT_PID" 2>/dev/null || true
log "audit soak: killed the audit service at $(records) records"
start_audit

wait_for $((EVENTS / 2)) 120
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PG_DIR/data" -m fast -w restart >/dev/null
log "audit soak: restarted PostgreSQL at $(records) records"

wait_for $((EVENTS * 7 / 10)) 120
kill -KILL "$AUDIT_PID"; wait "$AUDIT_PID" 2>/dev/null || true
log "audit soak: killed the audit service again at $(records) records"
start_audit

wait "$PUB_PID" || { cat "$PG_DIR/../probe.out" >&2; die "probe publisher failed"; }
PUB_PID=""
wait_for "$EVENTS" 180
final="$(records)"
verify="$(GATEHOUSE_POSTGRES_PORT="$PG_PORT" GATEHOUSE_POSTGRES_PASSWORD="$PG_PASSWORD" GATEHOUSE_POSTGRES_DATABASE=$DB \
  "$BIN/gatehouse" audit verify --tenant "$TENANT")" || { echo "$verify" >&2; die "audit soak: chain does not verify"; }
kill -TERM "$AUDIT_PID"; wait "$AUDIT_PID" 2>/dev/null || true
AUDIT_PID=""
[ "$final" = "$EVENTS" ] || die "audit soak: $final records, expected exactly $EVENTS"
log "audit soak: $final records, none lost or doubled; $verify"
echo "audit-soak: 1 passed, 0 failed"
