#!/usr/bin/env bash
# Regenerate sales_process_addon/i18n/sales_process_addon.pot with Odoo's own
# exporter and merge its msgids into zh_CN.po and zh_TW.po: new terms appear
# there untranslated (the catalog tests list them), terms gone from the code
# are dropped, existing translations are kept. Needs GNU gettext (msgmerge).
#
# Usage: scripts/i18n_export.sh [--no-update]
#   Database: $SPA_I18N_DB, else $SPA_TEST_DB, else sales_process_test, with
#   the addon and demo data installed (scripts/test.sh builds it; created
#   here when it does not exist). The addon is updated there first (-u) so
#   the exported model terms (fields, views, data) are the checkout's;
#   --no-update skips that when the database is current.
set -euo pipefail

# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$REPO_ROOT"

I18N_DB="${SPA_I18N_DB:-${SPA_TEST_DB:-sales_process_test}}"
I18N_DIR="$REPO_ROOT/$ADDON_NAME/i18n"
LANGS=(zh_CN zh_TW)
UPDATE=1
case "${1:-}" in
    "") ;;
    --no-update) UPDATE=0 ;;
    *) die "unknown argument '$1': the only option is --no-update." ;;
esac
check_db_name "$I18N_DB" SPA_I18N_DB

command -v msgmerge >/dev/null 2>&1 ||
    die "msgmerge not found: install GNU gettext (apt-get install gettext) and run again."
common_setup
db_exists() {
    [ "$(psql_query postgres name="$1" <<<"SELECT 1 FROM pg_database WHERE datname = :'name';")" = 1 ]
}

if ! db_exists "$I18N_DB"; then
    require_createdb
    log="$LOG_DIR/i18n-install-$I18N_DB.log"
    info "Creating $I18N_DB with $ADDON_NAME and demo data (log: ${log#"$REPO_ROOT"/})"
    if ! run_logged "$log" odoo_bin -d "$I18N_DB" -i "$ADDON_NAME" --with-demo --stop-after-init; then
        show_log_tail "$log"
        die "installing $ADDON_NAME into $I18N_DB failed: see $log."
    fi
    UPDATE=0
fi
state="$(module_state "$I18N_DB" "$ADDON_NAME")"
[ "$state" = installed ] ||
    die "$ADDON_NAME is ${state:-not installed} in database $I18N_DB: install it there (scripts/test.sh does) or set SPA_I18N_DB to a database where it is installed."
# The demo records' names are terms of the addon too.
[ "$(psql_query "$I18N_DB" module="$ADDON_NAME" <<<"SELECT demo FROM ir_module_module WHERE name = :'module';")" = t ] ||
    die "$I18N_DB has no demo data, so the demo records' terms would be dropped: use a database installed with demo data (SPA_I18N_DB)."

if [ "$UPDATE" = 1 ]; then
    log="$LOG_DIR/i18n-update-$I18N_DB.log"
    info "Updating $ADDON_NAME in $I18N_DB (log: ${log#"$REPO_ROOT"/})"
    if ! run_logged "$log" odoo_bin -d "$I18N_DB" -u "$ADDON_NAME" --stop-after-init; then
        show_log_tail "$log"
        die "updating $ADDON_NAME in $I18N_DB failed: see $log."
    fi
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
info "Exporting the terms of $ADDON_NAME from $I18N_DB"
log="$LOG_DIR/i18n-export-$I18N_DB.log"
if ! run_logged "$log" "$VENV_PY" "$ODOO_BIN" i18n export -c "$ODOO_CONF" -d "$I18N_DB" -l pot \
    -o "$tmp/$ADDON_NAME.pot" "$ADDON_NAME" || [ ! -s "$tmp/$ADDON_NAME.pot" ]; then
    show_log_tail "$log"
    die "exporting the terms of $ADDON_NAME failed: see $log."
fi
# replace_if_changed NEW FILE: NEW becomes FILE unless only its header dates differ.
replace_if_changed() {
    if ! cmp -s <(grep -Ev '^"(POT-Creation|PO-Revision)-Date: ' "$1") <(grep -Ev '^"(POT-Creation|PO-Revision)-Date: ' "$2"); then
        cp "$1" "$2"
    fi
}

replace_if_changed "$tmp/$ADDON_NAME.pot" "$I18N_DIR/$ADDON_NAME.pot"
for lang in "${LANGS[@]}"; do
    po="$I18N_DIR/$lang.po"
    # No fuzzy matching: a new msgid stays untranslated until someone translates it.
    msgmerge --quiet --no-fuzzy-matching --lang="$lang" -o "$tmp/$lang.merged.po" "$po" "$I18N_DIR/$ADDON_NAME.pot"
    msgattrib --no-obsolete -o "$tmp/$lang.po" "$tmp/$lang.merged.po"
    replace_if_changed "$tmp/$lang.po" "$po"
    printf '%s.po: ' "$lang"
    msgfmt --statistics -o /dev/null "$po" 2>&1
    msgattrib --untranslated --no-wrap "$po" | grep -E '^msgid "[^"]' | sed 's/^msgid /    /' || true
done
