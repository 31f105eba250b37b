#!/usr/bin/env bash
# Run Esep locally: migrate, load the demo data, start web (gunicorn), Celery worker and beat,
# print the address and the demo logins, and wait. Ctrl-C stops the three cleanly; PostgreSQL and
# Redis keep running (scripts/services.sh stop, or `make stop`), and the data stays in var/.
#
#   scripts/run.sh          run in the foreground (called by `make run` after venv and services)
#   scripts/run.sh stop     stop web/worker/beat left over from a run that was killed
#
# Environment: ESEP_BIND (default 127.0.0.1:8000), ESEP_WEB_WORKERS (2), ESEP_WORKER_CONCURRENCY (2),
# plus the settings variables of esep/settings.py (DATABASE_URL, REDIS_URL, ...).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VAR="$ROOT/var"
BIN="$ROOT/.venv/bin"
PY="$BIN/python"
BIND="${ESEP_BIND:-127.0.0.1:8000}"
WEB_WORKERS="${ESEP_WEB_WORKERS:-2}"
CONCURRENCY="${ESEP_WORKER_CONCURRENCY:-2}"
STOP_SECONDS=30
NAMES=(web worker beat)

export DJANGO_SETTINGS_MODULE="${DJANGO_SETTINGS_MODULE:-esep.settings}"
export PYTHONUNBUFFERED=1

pidfile() { printf '%s/run/%s.pid' "$VAR" "$1"; }

# Pid from a pidfile, if that process is alive and is one of ours (runs from this checkout's .venv).
live_pid() {
    local f pid cmdline
    f="$(pidfile "$1")"
    [[ -f "$f" ]] || return 1
    pid="$(cat "$f" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ && -d "/proc/$pid" ]] || return 1
    cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
    [[ "$cmdline" == *"$ROOT/.venv/bin/"* ]] || return 1
    printf '%s' "$pid"
}

# True while any live (non-zombie) process remains in session SID. Each process started below is
# a session leader (setsid), so its session holds it and all its children (gunicorn workers, the
# Celery pool). Reads /proc so that procps need not be installed.
session_alive() { # sid
    local f line rest
    local -a fields
    for f in /proc/[0-9]*/stat; do
        { read -r line <"$f"; } 2>/dev/null || continue
        rest="${line##*) }"
        read -r -a fields <<<"$rest"
        [[ "${fields[3]}" == "$1" && "${fields[0]}" != Z ]] && return 0
    done
    return 1
}

# TERM each main process (gunicorn and Celery then stop their own children gracefully), wait up
# to STOP_SECONDS for the whole session to be gone, then KILL what is left.
stop_pids() { # name=pid ...
    local item pid name i alive
    for item in "$@"; do
        pid="${item#*=}"
        kill -TERM "$pid" 2>/dev/null || true
    done
    for ((i = 0; i < STOP_SECONDS * 4; i++)); do
        alive=0
        for item in "$@"; do
            session_alive "${item#*=}" && alive=1
        done
        ((alive)) || break
        sleep 0.25
    done
    for item in "$@"; do
        name="${item%%=*}"
        pid="${item#*=}"
        if session_alive "$pid"; then
            echo "run: $name (pid $pid) did not stop in ${STOP_SECONDS}s; killing it"
            kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
        fi
        rm -f "$(pidfile "$name")"
    done
}

stop_leftovers() {
    local name pid items=()
    for name in "${NAMES[@]}"; do
        if pid="$(live_pid "$name")"; then
            echo "run: stopping $name (pid $pid)"
            items+=("$name=$pid")
        else
            rm -f "$(pidfile "$name")"
        fi
    done
    if ((${#items[@]})); then stop_pids "${items[@]}"; fi
}

if [[ "${1:-}" == stop ]]; then
    stop_leftovers
    exit 0
fi
[[ -x "$PY" ]] || { echo "run: .venv missing; use 'make run'" >&2; exit 1; }
mkdir -p "$VAR/log" "$VAR/run" "$VAR/celery"

for name in "${NAMES[@]}"; do
    if pid="$(live_pid "$name")"; then
        echo "run: Esep is already running ($name, pid $pid). Stop it with Ctrl-C in its terminal or 'make stop'." >&2
        exit 1
    fi
done
host="${BIND%:*}"
port="${BIND##*:}"
if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then
    echo "run: something already listens on $BIND; stop it or set ESEP_BIND" >&2
    exit 1
fi

echo "run: migrating"
"$PY" manage.py migrate --noinput
echo "run: loading demo data (once)"
"$PY" manage.py load_demo

# Each process runs in its own session (setsid), so the terminal's Ctrl-C reaches only this
# script, which then stops them in order; their logs go to var/log/.
declare -A PIDS=()
start() { # name command...
    local name="$1"
    shift
    # Keep one previous log per process.
    if [[ -s "$VAR/log/$name.log" ]]; then mv -f "$VAR/log/$name.log" "$VAR/log/$name.log.1"; fi
    setsid "$@" >"$VAR/log/$name.log" 2>&1 </dev/null &
    PIDS[$name]=$!
    echo "${PIDS[$name]}" >"$(pidfile "$name")"
}

STOPPING=0
shutdown() { # exit-code
    ((STOPPING)) && return
    STOPPING=1
    trap '' INT TERM HUP
    echo
    echo "run: stopping web, worker and beat..."
    local items=() name
    for name in "${!PIDS[@]}"; do items+=("$name=${PIDS[$name]}"); done
    if ((${#items[@]})); then stop_pids "${items[@]}"; fi
    wait 2>/dev/null || true
    echo "run: stopped. PostgreSQL (127.0.0.1:54329) and Redis (127.0.0.1:63799) are still running;"
    echo "run: 'make stop' stops them. The data stays in var/ for the next 'make run'."
    exit "$1"
}
trap 'shutdown 0' INT TERM HUP

start web "$BIN/gunicorn" esep.wsgi:application --bind "$BIND" --workers "$WEB_WORKERS" \
    --access-logfile "$VAR/log/web-access.log" --error-logfile - --capture-output --graceful-timeout 20 --no-control-socket
start worker "$BIN/celery" -A esep worker -l info --concurrency "$CONCURRENCY" --hostname "esep@%h"
start beat "$BIN/celery" -A esep beat -l info --schedule "$VAR/celery/beat-schedule"

died() { # name
    echo "run: $1 exited; last lines of var/log/$1.log:" >&2
    tail -n 25 "$VAR/log/$1.log" >&2 || true
    shutdown 1
}

# Wait until the web server answers (or a process dies).
ready=0
for ((i = 0; i < 120; i++)); do
    for name in "${NAMES[@]}"; do
        kill -0 "${PIDS[$name]}" 2>/dev/null || died "$name"
    done
    if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then ready=1; break; fi
    sleep 0.5
done
((ready)) || { echo "run: web did not listen on $BIND within 60s" >&2; died web; }

cat <<EOF

  Esep is running: http://$BIND/

  Demo logins:
EOF
"$PY" manage.py demo_logins 2>&1 | sed 's/^/    /' || echo "    (manage.py demo_logins failed)"
cat <<EOF

  Processes: web (gunicorn, pid ${PIDS[web]}), worker (celery, pid ${PIDS[worker]}), beat (celery, pid ${PIDS[beat]})
  Logs: var/log/web.log web-access.log worker.log beat.log (postgres.log, redis.log)
  Press Ctrl-C to stop.

EOF

# Wait for Ctrl-C (the trap) or for one of the processes to exit on its own.
while true; do
    wait -n "${PIDS[@]}" 2>/dev/null || true
    ((STOPPING)) && break
    for name in "${NAMES[@]}"; do
        kill -0 "${PIDS[$name]}" 2>/dev/null || died "$name"
    done
done
