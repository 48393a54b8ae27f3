#!/usr/bin/env bash
# Set up everything (venv, Odoo 19 source, PostgreSQL, config, database) and
# run Odoo with the sales_process_addon on http://localhost:${SPA_HTTP_PORT:-8069}.
# Safe to run again: it never drops the database, it updates the addon.
#
#   ./scripts/run.sh                      development server (one process, threads)
#   ./scripts/run.sh --workers 4          production mode (README "Production"): 4 HTTP
#                                         workers, cron workers, limits, proxy mode
#   ./scripts/run.sh --no-update ...      start without updating the addon first
#   ./scripts/run.sh ... -- ODOO-OPTIONS  passed to odoo-bin as they are (last wins)
set -euo pipefail

# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$REPO_ROOT"

DB="${SPA_DB:-sales_process}"
HTTP_PORT="${SPA_HTTP_PORT:-8069}"
WORKERS="${SPA_WORKERS:-0}"
UPDATE=1
EXTRA_ODOO_ARGS=()
while [ $# -gt 0 ]; do
    case $1 in
    --workers) [ $# -ge 2 ] || die "--workers needs a number: ./scripts/run.sh --workers 4"; WORKERS=$2; shift 2 ;;
    --workers=*) WORKERS=${1#--workers=}; shift ;;
    --no-update) UPDATE=0; shift ;;
    --) shift; EXTRA_ODOO_ARGS=("$@"); break ;;
    -h | --help) sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "Unknown option '$1': use --workers N, --no-update, or pass Odoo options after '--' (see ./scripts/run.sh --help)." ;;
    esac
done
check_db_name "$DB" SPA_DB
is_port() {
    [[ $1 =~ ^[0-9]{1,5}$ ]] && [ "$1" -ge 1 ] && [ "$1" -le 65535 ]
}
is_port "$HTTP_PORT" ||
    die "SPA_HTTP_PORT='$HTTP_PORT' is not a port number: set it to a number between 1 and 65535."
[[ $WORKERS =~ ^[0-9]{1,3}$ ]] ||
    die "--workers / SPA_WORKERS='$WORKERS' is not a number of worker processes: use 0 (development server) or more."
# Production mode (README "Production"): the settings below, each overridable
# from the environment or by an Odoo option after '--'.
GEVENT_PORT="${SPA_GEVENT_PORT:-$((HTTP_PORT + 3))}"
CRON_WORKERS="${SPA_CRON_WORKERS:-2}"
is_port "$GEVENT_PORT" ||
    die "SPA_GEVENT_PORT='$GEVENT_PORT' is not a port number: set it to a free port for the websocket (gevent) process."
[[ $CRON_WORKERS =~ ^[0-9]{1,2}$ ]] ||
    die "SPA_CRON_WORKERS='$CRON_WORKERS' is not a number of cron workers: use 0 or more."

common_setup

port_is_free() {
    "$VENV_PY" - "$1" <<'PY'
import socket
import sys

s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Odoo's server does
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
finally:
    s.close()
PY
}
port_is_free "$HTTP_PORT" ||
    die "Port $HTTP_PORT on 127.0.0.1 is already in use: stop whatever listens there (another Odoo?) or set SPA_HTTP_PORT to a free port."
if [ "$WORKERS" -gt 0 ]; then
    port_is_free "$GEVENT_PORT" ||
        die "Port $GEVENT_PORT on 127.0.0.1 (websocket/gevent process) is already in use: set SPA_GEVENT_PORT to a free port."
fi

log="$LOG_DIR/run-$DB.log"
if db_exists "$DB"; then
    state="$(module_state "$DB" "$ADDON_NAME")"
else
    state=absent
fi
if [ "$state" = absent ]; then
    require_createdb
    info "Creating database '$DB' with $ADDON_NAME and demo data (takes a few minutes; full log: ${log#"$REPO_ROOT"/})"
    run_logged "$log" odoo_bin -d "$DB" -i "$ADDON_NAME" --with-demo --stop-after-init ||
        { show_log_tail "$log"; die "Creating database '$DB' failed (Odoo's errors are above, full log in $log): fix the cause and run again; the half-made database is kept, run.sh will finish its installation."; }
elif [ "$UPDATE" = 0 ] && [ "$state" = installed ]; then
    info "Starting without updating $ADDON_NAME in database '$DB' (--no-update)"
elif [ "$state" != installed ]; then
    info "Database '$DB' exists but $ADDON_NAME is not installed in it (state: ${state:-none}): installing it (full log: ${log#"$REPO_ROOT"/})"
    run_logged "$log" odoo_bin -d "$DB" -i "$ADDON_NAME" --with-demo --stop-after-init ||
        { show_log_tail "$log"; die "Installing $ADDON_NAME into database '$DB' failed (Odoo's errors are above, full log in $log): fix the cause and run again."; }
else
    info "Updating $ADDON_NAME in existing database '$DB' (full log: ${log#"$REPO_ROOT"/})"
    run_logged "$log" odoo_bin -d "$DB" -u "$ADDON_NAME" --stop-after-init ||
        { show_log_tail "$log"; die "Updating $ADDON_NAME in database '$DB' failed (Odoo's errors are above, full log in $log): fix the cause and run again; the database was not dropped."; }
fi
state="$(module_state "$DB" "$ADDON_NAME")"
[ "$state" = installed ] ||
    { show_log_tail "$log"; die "$ADDON_NAME is '${state:-missing}' instead of 'installed' in database '$DB' (see $log): check that Odoo finds the addon and that it installs cleanly."; }

mode_args=()
if [ "$WORKERS" -gt 0 ]; then
    # Production: prefork workers behind a reverse proxy (which must send
    # /websocket to the gevent port), cron jobs in their own processes, and
    # each worker recycled when it grows too large or a request runs too long.
    mode_args=(
        --workers "$WORKERS" --max-cron-threads "$CRON_WORKERS" --gevent-port "$GEVENT_PORT" --proxy-mode
        --limit-memory-soft "${SPA_LIMIT_MEMORY_SOFT:-2147483648}"
        --limit-memory-hard "${SPA_LIMIT_MEMORY_HARD:-2684354560}"
        --limit-time-cpu "${SPA_LIMIT_TIME_CPU:-60}" --limit-time-real "${SPA_LIMIT_TIME_REAL:-120}"
        --limit-time-real-cron "${SPA_LIMIT_TIME_REAL_CRON:-600}"
        --db_maxconn "${SPA_DB_MAXCONN:-16}"
    )
    [ -z "${SPA_DB_REPLICA_HOST:-}" ] || mode_args+=(--db_replica_host "$SPA_DB_REPLICA_HOST")
    [ -z "${SPA_DB_REPLICA_PORT:-}" ] || mode_args+=(--db_replica_port "$SPA_DB_REPLICA_PORT")
    mode="production mode: $WORKERS workers, $CRON_WORKERS cron workers, websocket on port $GEVENT_PORT"
else
    mode="development server"
fi

printf '\nOdoo is running on http://localhost:%s — log in as admin / admin\n' "$HTTP_PORT"
printf '(%s; database %s; stop with Ctrl+C; run ./scripts/run.sh again to update the addon)\n\n' "$mode" "$DB"
exec "$VENV_PY" "$ODOO_BIN" -c "$ODOO_CONF" -d "$DB" --db-filter "$(db_filter_for "$DB")" \
    --http-interface 127.0.0.1 --http-port "$HTTP_PORT" "${mode_args[@]}" "${EXTRA_ODOO_ARGS[@]}"
