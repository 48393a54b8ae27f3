#!/usr/bin/env bash
# Set up everything (venv, Odoo 19 source, PostgreSQL, config, database) and
# run Odoo with the sales_process_addon on http://localhost:${SPA_HTTP_PORT:-8069}.
# Safe to run again: it never drops the database, it updates the addon.
set -euo pipefail

# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$REPO_ROOT"

DB="${SPA_DB:-sales_process}"
HTTP_PORT="${SPA_HTTP_PORT:-8069}"
check_db_name "$DB" SPA_DB
if ! [[ $HTTP_PORT =~ ^[0-9]{1,5}$ ]] || [ "$HTTP_PORT" -lt 1 ] || [ "$HTTP_PORT" -gt 65535 ]; then
    die "SPA_HTTP_PORT='$HTTP_PORT' is not a port number: set it to a number between 1 and 65535."
fi

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

printf '\nOdoo is running on http://localhost:%s — log in as admin / admin\n' "$HTTP_PORT"
printf '(database %s; stop with Ctrl+C; run ./scripts/run.sh again to update the addon)\n\n' "$DB"
exec "$VENV_PY" "$ODOO_BIN" -c "$ODOO_CONF" -d "$DB" --db-filter "$(db_filter_for "$DB")" \
    --http-interface 127.0.0.1 --http-port "$HTTP_PORT"
