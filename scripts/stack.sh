#!/usr/bin/env bash
# make up / down / run / status: NATS, PostgreSQL and the six services as local processes,
# with the same configuration keys as docker-compose.yml.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

PG_PORT="${GATEHOUSE_PG_PORT:-5432}"
NATS_PORT="${GATEHOUSE_NATS_PORT:-4222}"
NATS_MONITOR_PORT="${GATEHOUSE_NATS_MONITOR_PORT:-8222}"
LOGS="$STATE/logs"
PIDS="$STATE/pids"
# The demo's door stations are driven through a door simulator on this port (docs/operations.md).
DOORSIM_PORT="${GATEHOUSE_DOORSIM_PORT:-8090}"
doorsim_password() { secret doorsim.password | tr -dc 'A-Za-z0-9'; }

password() {
  local file="$STATE/postgres.password"
  if [ ! -s "$file" ]; then (umask 077; head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$file"); fi
  cat "$file"
}

build() {
  log "building release binaries (first build takes several minutes)"
  (cd "$ROOT" && swift build -c release --product gatehouse >/dev/null)
  (cd "$ROOT" && swift build -c release --product gatehouse-doorsim >/dev/null)
  for s in "${SERVICES[@]}"; do (cd "$ROOT" && swift build -c release --product "$s" | grep -v '^\[' || true); done
  BIN="$(cd "$ROOT" && swift build -c release --show-bin-path)"
}

start_service() {
  local name="$1" port; port="$(port_of "$1")"
  if [ -f "$PIDS/$name.pid" ] && kill -0 "$(cat "$PIDS/$name.pid")" 2>/dev/null; then
    log "$name already running (pid $(cat "$PIDS/$name.pid"))"; return 0
  fi
  local credentials=(); mapfile -t credentials < <(nats_env "$name")
  env ${credentials[@]+"${credentials[@]}"} \
  GATEHOUSE_HTTP_PORT="$port" \
  GATEHOUSE_NATS_SERVERS="nats://127.0.0.1:$NATS_PORT" \
  GATEHOUSE_POSTGRES_HOST=127.0.0.1 GATEHOUSE_POSTGRES_PORT="$PG_PORT" \
  GATEHOUSE_POSTGRES_USER=gatehouse GATEHOUSE_POSTGRES_PASSWORD="$(password)" GATEHOUSE_POSTGRES_DATABASE=gatehouse \
  GATEHOUSE_LOG_FORMAT="${GATEHOUSE_LOG_FORMAT:-json}" GATEHOUSE_INSTANCE="$name-local" \
  GATEHOUSE_AUDIT_DATA_KEY="$(secret audit.datakey)" GATEHOUSE_AUDIT_SIGNING_KEY="$(secret audit.signingkey)" \
  GATEHOUSE_AUTH_ISSUER_KEY="$(secret auth.issuerkey)" GATEHOUSE_ACCESS_SECRET_KEY="$(secret access.secretkey)" \
    nohup "$BIN/$name" >>"$LOGS/$name.log" 2>&1 </dev/null &
  echo $! >"$PIDS/$name.pid"
}

up() {
  ensure_deps
  build
  mkdir -p "$LOGS" "$PIDS"
  pg_start "$STATE/pg" "$PG_PORT" "$(password)"
  nats_start "$STATE/nats" "$NATS_PORT" "$NATS_MONITOR_PORT"
  # The services' keys exist before they start: start_service expands them in background jobs,
  # which would otherwise race to create them (and could each read a different, or a partial, key).
  for key in audit.datakey audit.signingkey auth.issuerkey access.secretkey; do secret "$key" >/dev/null; done
  for s in "${SERVICES[@]}"; do start_service "$s"; done
  log "waiting for every /health/ready"
  for s in "${SERVICES[@]}"; do
    wait_http "http://127.0.0.1:$(port_of "$s")/health/ready" 120 \
      || { tail -20 "$LOGS/$s.log" >&2; die "$s did not become ready (log: $LOGS/$s.log)"; }
  done
  "$BIN/gatehouse" ping --nats "nats://127.0.0.1:$NATS_PORT" >/dev/null || die "ping over NATS failed"
  log "seeding the demo tenant"
  (cd "$ROOT" && GATEHOUSE_POSTGRES_PORT="$PG_PORT" GATEHOUSE_POSTGRES_PASSWORD="$(password)" \
    GATEHOUSE_ACCESS_SECRET_KEY="$(secret access.secretkey)" GATEHOUSE_DOORSIM_PASSWORD="$(doorsim_password)" \
    "$BIN/gatehouse" demo seed --out "$STATE/demo.json" --door-sim-url "http://127.0.0.1:$DOORSIM_PORT") \
    || die "demo seed failed"
  start_doorsim
  # A sipp injection file with the demo's SIP accounts (deploy/sipp/register.xml), mode 600.
  (umask 077; "$VENV/bin/python" - "$STATE/secrets/demo-sip.json" >"$STATE/demo-sip.csv" <<'PY'
import json, sys
accounts = json.load(open(sys.argv[1]))
print("SEQUENTIAL")
for user, password in sorted(accounts.items()):
    print(f"{user};demo.gatehouse.test;[authentication username={user} password={password}]")
PY
  )
  status
}

# The door simulator drives the demo's stations and, as the Lobby's station, follows the Lobby's
# offline bundle with the device token the seed keeps (a running simulator is left running, with
# the offline decisions it has yet to report).
start_doorsim() {
  if [ -f "$PIDS/doorsim.pid" ] && kill -0 "$(cat "$PIDS/doorsim.pid")" 2>/dev/null; then
    log "doorsim already running (pid $(cat "$PIDS/doorsim.pid"))"; return 0
  fi
  local offline=() door key tenant
  read -r tenant door key < <("$VENV/bin/python" -c '
import json, sys
d = json.load(open(sys.argv[1])); o = d.get("offlineDoor") or {}
print(d["tenant"]["id"], o.get("doorId", "-"), o.get("signingKey", "-"))' "$STATE/demo.json")
  if [ "$door" != "-" ] && [ -s "$STATE/secrets/doorsim-lobby.token" ]; then
    offline=(--access-url "http://127.0.0.1:$(port_of access)" --tenant "$tenant" --door "$door" --signing-key "$key")
  fi
  GATEHOUSE_DOORSIM_PASSWORD="$(doorsim_password)" GATEHOUSE_DOORSIM_DEVICE_TOKEN="$(cat "$STATE/secrets/doorsim-lobby.token" 2>/dev/null)" \
    nohup "$BIN/gatehouse-doorsim" --port "$DOORSIM_PORT" --username admin ${offline[@]+"${offline[@]}"} \
    >>"$LOGS/doorsim.log" 2>&1 </dev/null &
  echo $! >"$PIDS/doorsim.pid"
  wait_http "http://127.0.0.1:$DOORSIM_PORT/sim/triggers" 30 || die "the door simulator did not start (log: $LOGS/doorsim.log)"
}

status() {
  printf '\n%-12s %-8s %-7s %-34s %s\n' SERVICE PID PORT "HEALTH" LOG
  for s in "${SERVICES[@]}"; do
    local pid="-" health="down"
    [ -f "$PIDS/$s.pid" ] && pid="$(cat "$PIDS/$s.pid")"
    curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$(port_of "$s")/health/ready" 2>/dev/null && health="ready"
    printf '%-12s %-8s %-7s %-34s %s\n' "$s" "$pid" "$(port_of "$s")" "http://127.0.0.1:$(port_of "$s")/health/ready $health" "$LOGS/$s.log"
  done
  printf '%-12s %-8s %-7s %-34s %s\n' nats "$(cat "$STATE/nats/nats.pid" 2>/dev/null || echo -)" "$NATS_PORT" "monitor http://127.0.0.1:$NATS_MONITOR_PORT" "$STATE/nats/nats.log"
  printf '%-12s %-8s %-7s %-34s %s\n' postgres "$(head -1 "$STATE/pg/data/postmaster.pid" 2>/dev/null || echo -)" "$PG_PORT" "psql -h 127.0.0.1 -U gatehouse" "$STATE/pg/postgres.log"
  printf '%-12s %-8s %-7s %-34s %s\n' doorsim "$(cat "$PIDS/doorsim.pid" 2>/dev/null || echo -)" "$DOORSIM_PORT" \
    "http://127.0.0.1:$DOORSIM_PORT/sim/triggers" "$LOGS/doorsim.log"
  printf '%-12s %-8s %-7s %-34s %s\n' sip "-" 5060 "udp+tcp 127.0.0.1:5060, ws://127.0.0.1:8088" "realm demo.gatehouse.test, accounts in $STATE/secrets/demo-sip.json"
  printf '\nDemo tenant: %s   PostgreSQL password: %s\n' "$STATE/demo.json" "$STATE/postgres.password"
  printf 'Try: %s ping   |   curl http://127.0.0.1:8081/metrics\n\n' "$(cd "$ROOT" && swift build -c release --show-bin-path 2>/dev/null)/gatehouse"
}

down() {
  for s in "${SERVICES[@]}" doorsim; do
    local f="$PIDS/$s.pid"
    [ -f "$f" ] || continue
    local pid; pid="$(cat "$f")"
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid"
      for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$f"
  done
  nats_stop "$STATE/nats"
  pg_stop "$STATE/pg"
  log "stopped"
}

run() {
  up
  trap 'echo; down; exit 0' INT TERM
  log "following logs; Ctrl-C stops everything"
  tail -n 0 -F "$LOGS"/*.log &
  wait $!
}

case "${1:-}" in
  up) up ;; down) down ;; run) run ;; status) BIN="$(cd "$ROOT" && swift build -c release --show-bin-path)"; status ;;
  *) die "usage: stack.sh up|down|run|status" ;;
esac
