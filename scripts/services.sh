#!/usr/bin/env bash
# Private PostgreSQL 15 and Redis servers for Esep, with all their state under var/.
#
#   scripts/services.sh start    initdb if needed, start both, wait until they answer,
#                                create the role and database if absent (idempotent)
#   scripts/services.sh stop     stop both cleanly (idempotent)
#   scripts/services.sh status   say what runs; exit 0 only if both answer
#
# Listens on loopback only: PostgreSQL 127.0.0.1:54329 (role esep, SUPERUSER, trust auth),
# Redis 127.0.0.1:63799. These match the defaults of DATABASE_URL and REDIS_URL in esep/settings.py.
# When DATABASE_URL or REDIS_URL points at another server, that local server is left alone.
# ESEP_LOCAL_SERVICES=0 skips both.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# pg_ctl and initdb run as the cluster user and need a working directory it can enter.
cd "$ROOT"
VAR="$ROOT/var"
PG_PORT=54329
REDIS_PORT=63799
PG_ROLE=esep
PG_DB=esep
PG_BINDIR="${ESEP_PG_BINDIR:-/usr/lib/postgresql/15/bin}"
PGDATA="$VAR/pg/data"
PG_SOCKDIR="$VAR/pg/run"
PG_LOG="$VAR/log/postgres.log"
REDIS_DIR="$VAR/redis"
REDIS_PIDFILE="$VAR/run/redis.pid"
REDIS_LOG="$VAR/log/redis.log"
WAIT_SECONDS="${ESEP_SERVICES_WAIT:-60}"

say() { printf 'services: %s\n' "$*"; }
die() { printf 'services: error: %s\n' "$*" >&2; exit 1; }

# --- which servers are ours to manage --------------------------------------------------------

# A URL names the local server when it is unset or its host:port is the loopback default.
is_local_url() { # url port
    local url="$1" port="$2"
    [[ -z "$url" ]] && return 0
    [[ "$url" =~ [@/](127\.0\.0\.1|localhost):$port(/|$|\?) ]]
}

manage_pg() {
    [[ "${ESEP_LOCAL_SERVICES:-1}" != 0 ]] && is_local_url "${DATABASE_URL:-}" "$PG_PORT"
}
manage_redis() {
    [[ "${ESEP_LOCAL_SERVICES:-1}" != 0 ]] && is_local_url "${REDIS_URL:-}" "$REDIS_PORT"
}

# The database named by DATABASE_URL, when it points at the local cluster (besides "esep").
url_db_name() {
    local url="${DATABASE_URL:-}" db
    [[ -z "$url" ]] && return 0
    db="${url##*/}"
    db="${db%%\?*}"
    [[ -n "$db" && "$db" =~ ^[A-Za-z0-9_]+$ ]] && printf '%s' "$db"
}

# --- PostgreSQL ------------------------------------------------------------------------------

# initdb refuses to run as root, so as root the cluster belongs to an unprivileged system user.
if [[ $EUID -eq 0 ]]; then
    PG_OS_USER="${ESEP_PG_OS_USER:-postgres}"
else
    PG_OS_USER="$(id -un)"
fi

as_pg() {
    if [[ $EUID -eq 0 ]]; then
        runuser -u "$PG_OS_USER" -- "$@"
    else
        "$@"
    fi
}

pg_bin() { printf '%s/%s' "$PG_BINDIR" "$1"; }

pg_answers() {
    "$(pg_bin pg_isready)" -q -h 127.0.0.1 -p "$PG_PORT" -U "$PG_ROLE" -d postgres -t 2 >/dev/null 2>&1
}

# The pid of the postmaster running on our data directory, if any.
pg_our_pid() {
    local pid
    [[ -f "$PGDATA/postmaster.pid" ]] || return 1
    pid="$(head -n1 "$PGDATA/postmaster.pid" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    [[ -d "/proc/$pid" ]] || return 1
    [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == postgres ]] || return 1
    # Its data directory must be ours (a reused pid may be another cluster's postmaster).
    [[ "$(readlink -f "/proc/$pid/cwd" 2>/dev/null)" == "$(readlink -f "$PGDATA")" ]] || return 1
    printf '%s' "$pid"
}

ensure_pg_user() {
    [[ $EUID -eq 0 ]] || return 0
    if ! id -u "$PG_OS_USER" >/dev/null 2>&1; then
        say "creating system user $PG_OS_USER"
        useradd --system --user-group --home-dir /var/lib/postgresql --no-create-home \
            --shell /usr/sbin/nologin "$PG_OS_USER"
    fi
}

# The cluster user must be able to reach var/pg: give search (x) permission on any parent
# directory that lacks it (e.g. a clone under a 0700 home directory).
ensure_traversable() {
    [[ $EUID -eq 0 ]] || return 0
    local dir="" part
    local -a parts
    IFS=/ read -r -a parts <<<"${VAR#/}"
    for part in "${parts[@]}"; do
        dir="$dir/$part"
        [[ -d "$dir" ]] || break
        if ! runuser -u "$PG_OS_USER" -- test -x "$dir" 2>/dev/null; then
            say "granting search permission on $dir to $PG_OS_USER (chmod o+x)"
            chmod o+x "$dir"
        fi
    done
}

pg_init() {
    [[ -x "$(pg_bin initdb)" ]] || die "$(pg_bin initdb) not found; run scripts/ensure-system-packages.sh"
    ensure_pg_user
    mkdir -p "$VAR/pg" "$VAR/log" "$VAR/run"
    touch "$PG_LOG"
    if [[ $EUID -eq 0 ]]; then
        chown "$PG_OS_USER:" "$PG_LOG"
        if [[ "$(stat -c %U "$VAR/pg")" != "$PG_OS_USER" || ( -d "$PGDATA" && "$(stat -c %U "$PGDATA")" != "$PG_OS_USER" ) ]]; then
            chown -R "$PG_OS_USER:" "$VAR/pg"
        fi
    fi
    ensure_traversable
    as_pg mkdir -p "$PG_SOCKDIR"
    if [[ ! -f "$PGDATA/PG_VERSION" ]]; then
        local locale=C
        if locale -a 2>/dev/null | grep -qiE '^c\.utf-?8$'; then locale=C.UTF-8; fi
        say "initializing PostgreSQL cluster in var/pg/data (superuser $PG_ROLE, locale $locale)"
        as_pg rm -rf "$PGDATA"
        as_pg "$(pg_bin initdb)" -D "$PGDATA" --username="$PG_ROLE" --encoding=UTF8 \
            --locale="$locale" --auth-local=trust --auth-host=trust >"$VAR/log/initdb.log" 2>&1 ||
            { cat "$VAR/log/initdb.log" >&2; die "initdb failed"; }
        # Loopback only; trust is acceptable because nothing listens beyond 127.0.0.1.
        as_pg tee "$PGDATA/pg_hba.conf" >/dev/null <<'EOF'
# Esep private cluster: loopback only, trust (see docs/operations.md).
# TYPE  DATABASE  USER  ADDRESS       METHOD
local   all       all                 trust
host    all       all   127.0.0.1/32  trust
host    all       all   ::1/128       trust
EOF
        printf "\n# Esep: settings rewritten at every start by scripts/services.sh\ninclude_if_exists = 'esep.conf'\n" |
            as_pg tee -a "$PGDATA/postgresql.conf" >/dev/null
    fi
    # Paths are written at each start, so the clone may move.
    local sockdir="$PG_SOCKDIR"
    # A unix socket path is limited to 107 bytes; past that, TCP only.
    if (( ${#sockdir} + 20 > 107 )); then
        say "path too long for a unix socket; PostgreSQL listens on TCP only"
        sockdir=""
    fi
    as_pg tee "$PGDATA/esep.conf" >/dev/null <<EOF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$sockdir'
max_connections = 200
shared_buffers = 256MB
work_mem = 16MB
maintenance_work_mem = 256MB
logging_collector = off
log_min_messages = warning
log_line_prefix = '%m [%p] %q%u@%d '
EOF
}

pg_start() {
    local pid
    if pid="$(pg_our_pid)"; then
        say "PostgreSQL already running (pid $pid)"
    else
        if pg_answers; then
            say "warning: another PostgreSQL server answers on 127.0.0.1:$PG_PORT (not var/pg/data); using it"
            pg_ensure_db
            return 0
        fi
        pg_init
        # A crash leaves postmaster.pid and socket lock files whose pid may now be another
        # process; the postmaster is not running on this directory, so they are stale.
        if [[ -f "$PGDATA/postmaster.pid" ]]; then
            say "removing stale var/pg/data/postmaster.pid"
            rm -f "$PGDATA/postmaster.pid"
        fi
        rm -f "$PG_SOCKDIR"/.s.PGSQL."$PG_PORT".lock
        say "starting PostgreSQL on 127.0.0.1:$PG_PORT"
        if ! as_pg "$(pg_bin pg_ctl)" -D "$PGDATA" -l "$PG_LOG" -w -t "$WAIT_SECONDS" start >/dev/null; then
            tail -n 30 "$PG_LOG" >&2 || true
            die "PostgreSQL did not start (log: var/log/postgres.log)"
        fi
    fi
    local i
    for ((i = 0; i < WAIT_SECONDS * 2; i++)); do
        pg_answers && break
        sleep 0.5
    done
    pg_answers || die "PostgreSQL does not answer on 127.0.0.1:$PG_PORT (log: var/log/postgres.log)"
    pg_ensure_db
}

pg_sql() { # db sql
    "$(pg_bin psql)" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U "$PG_ROLE" -d "$1" -tAc "$2"
}

pg_ensure_db() {
    local super db
    super="$(pg_sql postgres "select rolsuper from pg_roles where rolname = current_user")" ||
        die "cannot connect to PostgreSQL on 127.0.0.1:$PG_PORT as role $PG_ROLE"
    [[ "$super" == t ]] || die "role $PG_ROLE on 127.0.0.1:$PG_PORT is not SUPERUSER"
    for db in "$PG_DB" $(url_db_name); do
        if [[ "$(pg_sql postgres "select 1 from pg_database where datname = '$db'")" != 1 ]]; then
            say "creating database $db"
            pg_sql postgres "create database \"$db\" owner \"$PG_ROLE\""
        fi
    done
}

pg_stop() {
    local pid
    if pid="$(pg_our_pid)"; then
        say "stopping PostgreSQL (pid $pid)"
        as_pg "$(pg_bin pg_ctl)" -D "$PGDATA" -m fast -w -t "$WAIT_SECONDS" stop >/dev/null ||
            die "PostgreSQL did not stop (log: var/log/postgres.log)"
    else
        say "PostgreSQL not running"
        if [[ -f "$PGDATA/postmaster.pid" ]]; then
            rm -f "$PGDATA/postmaster.pid"
        fi
    fi
}

pg_status() {
    local pid
    if pid="$(pg_our_pid)" && pg_answers; then
        say "PostgreSQL running (pid $pid) on 127.0.0.1:$PG_PORT, data var/pg/data"
    elif pg_answers; then
        say "PostgreSQL: another server answers on 127.0.0.1:$PG_PORT (not var/pg/data)"
    elif [[ -n "${pid:-}" ]]; then
        say "PostgreSQL process $pid exists but does not answer"; return 1
    else
        say "PostgreSQL stopped"; return 1
    fi
}

# --- Redis -----------------------------------------------------------------------------------

# Alive and not a zombie (a daemon's parent is init, which may be slow to reap it).
proc_alive() { # pid
    local stat
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
    stat="${stat##*) }"
    [[ "${stat:0:1}" != Z ]]
}

redis_answers() {
    [[ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]]
}

redis_our_pid() {
    local pid
    [[ -f "$REDIS_PIDFILE" ]] || return 1
    pid="$(head -n1 "$REDIS_PIDFILE" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ && -d "/proc/$pid" ]] || return 1
    [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == redis-server* ]] || return 1
    [[ "$(readlink -f "/proc/$pid/cwd" 2>/dev/null)" == "$(readlink -f "$REDIS_DIR")" ]] || return 1
    printf '%s' "$pid"
}

redis_start() {
    local pid
    if pid="$(redis_our_pid)"; then
        say "Redis already running (pid $pid)"
    elif redis_answers; then
        say "warning: another Redis server answers on 127.0.0.1:$REDIS_PORT (not var/redis); using it"
        return 0
    else
        command -v redis-server >/dev/null || die "redis-server not found; run scripts/ensure-system-packages.sh"
        mkdir -p "$REDIS_DIR" "$VAR/run" "$VAR/log"
        rm -f "$REDIS_PIDFILE"
        say "starting Redis on 127.0.0.1:$REDIS_PORT"
        # Options on the command line, no config file; default (RDB snapshot) persistence.
        redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --protected-mode yes \
            --daemonize yes --pidfile "$REDIS_PIDFILE" --dir "$REDIS_DIR" \
            --logfile "$REDIS_LOG" </dev/null ||
            die "Redis did not start (log: var/log/redis.log)"
    fi
    local i
    for ((i = 0; i < WAIT_SECONDS * 2; i++)); do
        redis_answers && return 0
        sleep 0.5
    done
    tail -n 20 "$REDIS_LOG" >&2 || true
    die "Redis does not answer on 127.0.0.1:$REDIS_PORT (log: var/log/redis.log)"
}

redis_stop() {
    local pid i
    if pid="$(redis_our_pid)"; then
        say "stopping Redis (pid $pid)"
        kill -TERM "$pid" 2>/dev/null || true # SIGTERM: Redis saves and exits
        for ((i = 0; i < WAIT_SECONDS * 4; i++)); do
            proc_alive "$pid" || break
            sleep 0.25
        done
        if proc_alive "$pid"; then
            say "Redis did not stop in ${WAIT_SECONDS}s; killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    else
        say "Redis not running"
    fi
    rm -f "$REDIS_PIDFILE"
}

redis_status() {
    local pid
    if pid="$(redis_our_pid)" && redis_answers; then
        say "Redis running (pid $pid) on 127.0.0.1:$REDIS_PORT, data var/redis"
    elif redis_answers; then
        say "Redis: another server answers on 127.0.0.1:$REDIS_PORT (not var/redis)"
    else
        say "Redis stopped"; return 1
    fi
}

# --- main ------------------------------------------------------------------------------------

cmd="${1:-}"
case "$cmd" in
start)
    if manage_pg; then pg_start; else say "DATABASE_URL points elsewhere; not starting local PostgreSQL"; fi
    if manage_redis; then redis_start; else say "REDIS_URL points elsewhere; not starting local Redis"; fi
    ;;
stop)
    manage_pg && pg_stop
    manage_redis && redis_stop
    true
    ;;
status)
    rc=0
    if manage_pg; then pg_status || rc=1; else say "PostgreSQL: external (DATABASE_URL)"; fi
    if manage_redis; then redis_status || rc=1; else say "Redis: external (REDIS_URL)"; fi
    exit "$rc"
    ;;
restart)
    bash "$ROOT/scripts/services.sh" stop
    exec bash "$ROOT/scripts/services.sh" start
    ;;
*)
    echo "usage: $0 start|stop|status|restart" >&2
    exit 2
    ;;
esac
