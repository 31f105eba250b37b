#!/usr/bin/env bash
# Install the Debian 12 packages Esep needs to run and test, only those missing.
# A no-op (no apt-get at all) when everything is present, so it is cheap to call every time.
#
#   postgresql-15      server binaries under /usr/lib/postgresql/15/bin (pg_trgm, btree_gist included)
#   redis-server       broker and result store for Celery
#   chromium           headless browser for the Playwright tests (playwright never downloads one)
#   hledger, ledger    comparison tools for the benchmark
#   gettext            msgfmt, for compilemessages
#   fonts-dejavu-core  fonts for the browser and for PDF output (carry every Kazakh letter)
#   libpango*, libharfbuzz-subset0  text layout for WeasyPrint (PDF statements, payslips, labels)
#   make, python3-venv the build itself
set -euo pipefail

PG_BINDIR="${ESEP_PG_BINDIR:-/usr/lib/postgresql/15/bin}"

# package | a file that the package provides
checks=(
    "postgresql-15|$PG_BINDIR/initdb"
    "postgresql-15|$PG_BINDIR/postgres"
    "postgresql-15|/usr/share/postgresql/15/extension/pg_trgm.control"
    "postgresql-15|/usr/share/postgresql/15/extension/btree_gist.control"
    "postgresql-client-15|$PG_BINDIR/psql"
    "redis-server|/usr/bin/redis-server"
    "redis-tools|/usr/bin/redis-cli"
    "chromium|/usr/bin/chromium"
    "hledger|/usr/bin/hledger"
    "ledger|/usr/bin/ledger"
    "gettext|/usr/bin/msgfmt"
    "fonts-dejavu-core|/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
    "make|/usr/bin/make"
    "libpango-1.0-0|/usr/lib/x86_64-linux-gnu/libpango-1.0.so.0"
    "libpangoft2-1.0-0|/usr/lib/x86_64-linux-gnu/libpangoft2-1.0.so.0"
    "libharfbuzz-subset0|/usr/lib/x86_64-linux-gnu/libharfbuzz-subset.so.0"
)

missing=()
add() { [[ " ${missing[*]-} " == *" $1 "* ]] || missing+=("$1"); }
for c in "${checks[@]}"; do
    pkg="${c%%|*}"
    file="${c#*|}"
    [[ -e "$file" ]] || add "$pkg"
done
# python3 -m venv needs ensurepip, which Debian's own python3 ships in python3-venv.
if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    add python3-venv
fi

if [[ ${#missing[@]} -eq 0 ]]; then
    echo "system packages: all present"
    exit 0
fi

echo "system packages: installing ${missing[*]}"
SUDO=()
if [[ $EUID -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    SUDO=(sudo)
fi

# Keep apt's package services (the Debian cluster on 5432, Redis on 6379) from starting: Esep runs
# its own servers under var/. Only add a policy-rc.d if there is none, and remove it afterwards.
policy=/usr/sbin/policy-rc.d
added_policy=0
if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$policy" >/dev/null
    "${SUDO[@]}" chmod +x "$policy"
    added_policy=1
fi
cleanup() { if [[ $added_policy == 1 ]]; then "${SUDO[@]}" rm -f "$policy"; fi; }
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
apt_opts=(-y -q -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
"${SUDO[@]}" apt-get "${apt_opts[@]}" update
"${SUDO[@]}" apt-get "${apt_opts[@]}" install --no-install-recommends "${missing[@]}"

# Verify, so a package that installed something else fails here and not in the middle of a test.
for c in "${checks[@]}"; do
    file="${c#*|}"
    [[ -e "$file" ]] || { echo "still missing after install: $file (${c%%|*})" >&2; exit 1; }
done
echo "system packages: done"
