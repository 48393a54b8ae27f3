#!/usr/bin/env bash
# shellcheck disable=SC2317  # step functions are called indirectly, by run_step
# The whole suite: set up (venv, Odoo 19 source, PostgreSQL, config, Debian
# packages), lint, install a fresh test database with demo data, run the
# addon's unit tests (pytest-odoo) and the integration tests in tests/.
# Exits non-zero when anything fails; ends with a summary.
set -euo pipefail

# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$REPO_ROOT"

TEST_DB="${SPA_TEST_DB:-sales_process_test}"
check_db_name "$TEST_DB" SPA_TEST_DB
RESULTS_DIR="$LOCAL_DIR/test-results"
SUITE_START="$(now_s)"

STEP_NAMES=()
STEP_RESULTS=()
STEP_TIMES=()

# run_step NAME COMMAND...: runs COMMAND, records PASS/FAIL and its time.
run_step() {
    local name=$1 start rc=0
    shift
    printf '\n==> %s\n' "$name" >&2
    start="$(now_s)"
    "$@" || rc=$?
    STEP_NAMES+=("$name")
    STEP_TIMES+=("$(($(now_s) - start))")
    if [ "$rc" -eq 0 ]; then
        STEP_RESULTS+=(PASS)
    else
        STEP_RESULTS+=(FAIL)
        printf '==> FAILED: %s (exit status %s)\n' "$name" "$rc" >&2
    fi
    return "$rc"
}

skip_step() {
    STEP_NAMES+=("$1")
    STEP_RESULTS+=(SKIP)
    STEP_TIMES+=(0)
    printf '\n==> SKIPPED: %s (%s)\n' "$1" "$2" >&2
}

# --------------------------------------------------------------------------
# Debian packages: Chromium (browser tests of HttpCase), wkhtmltopdf
# (PDF reports) and a CJK font (Chinese screenshots and PDFs); PostgreSQL too when none is installed or reachable.
# --------------------------------------------------------------------------

deb_installed() {
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]
}

have_chrome() {
    local exe
    for exe in chromium chromium-browser google-chrome google-chrome-stable; do
        command -v "$exe" >/dev/null 2>&1 && return 0
    done
    return 1
}

ensure_system_packages() {
    local wanted=(chromium wkhtmltopdf fonts-wqy-microhei) missing=() pkg log="$LOG_DIR/apt.log"
    if ! command -v dpkg-query >/dev/null 2>&1; then
        if ! command -v wkhtmltopdf >/dev/null 2>&1 || ! have_chrome; then
            die "Chromium and wkhtmltopdf are needed by the tests: install them with your system's package manager and run again."
        fi
        return 0
    fi
    for pkg in "${wanted[@]}"; do
        deb_installed "$pkg" || missing+=("$pkg")
    done
    if is_root && { ! command -v psql >/dev/null 2>&1 || { ! pg_answers && ! have_system_cluster; }; }; then
        missing+=(postgresql)
    fi
    if [ "${#missing[@]}" -eq 0 ]; then
        info "Debian packages: ${wanted[*]} already installed"
        return 0
    fi
    is_root ||
        die "Debian packages needed by the tests are missing (${missing[*]}) and only root can install them: run 'sudo apt-get install -y ${missing[*]}' (or run test.sh as root) and run again."
    info "Installing Debian packages: ${missing[*]} (log: ${log#"$REPO_ROOT"/})"
    mkdir -p "$LOG_DIR"
    {
        DEBIAN_FRONTEND=noninteractive apt-get update &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
    } >"$log" 2>&1 ||
        { tail -n 20 "$log" >&2; die "apt-get could not install ${missing[*]} (see $log): fix the package source or install them by hand and run again."; }
}

# --------------------------------------------------------------------------
# Steps
# --------------------------------------------------------------------------

lint_ruff_check() {
    "$VENV_DIR/bin/ruff" check "${LINT_PATHS[@]}"
}

lint_ruff_format() {
    "$VENV_DIR/bin/ruff" format --check "${LINT_PATHS[@]}"
}

lint_pylint() {
    "$VENV_DIR/bin/pylint" --rcfile="$REPO_ROOT/.pylintrc" "$ADDON_NAME"
}

# Databases (and filestores) left by an interrupted run of tests/.
drop_leftover_scratch_dbs() {
    local db
    while IFS= read -r db; do
        [ -n "$db" ] || continue
        note "dropping leftover scratch database $db"
        dropdb --if-exists --force "$db" || return 1
        rm -rf "${ODOO_DATA_DIR:?}/filestore/$db"
    done < <(psql_query postgres prefix="${TEST_DB}_scratch_" <<<"SELECT datname FROM pg_database WHERE starts_with(datname, :'prefix');")
}

install_test_db() {
    local log="$LOG_DIR/install-$TEST_DB.log" state
    require_createdb
    drop_leftover_scratch_dbs || return 1
    note "dropping and re-creating database $TEST_DB"
    dropdb --if-exists --force "$TEST_DB" || return 1
    rm -rf "${ODOO_DATA_DIR:?}/filestore/$TEST_DB"
    note "installing $ADDON_NAME with demo data (full log: ${log#"$REPO_ROOT"/})"
    if ! run_logged "$log" odoo_bin -d "$TEST_DB" -i "$ADDON_NAME" --with-demo --stop-after-init; then
        show_log_tail "$log"
        printf 'Installing %s into %s failed: see %s.\n' "$ADDON_NAME" "$TEST_DB" "$log" >&2
        return 1
    fi
    state="$(module_state "$TEST_DB" "$ADDON_NAME")"
    if [ "$state" != installed ]; then
        printf '%s is %s instead of installed in %s: see %s.\n' "$ADDON_NAME" "'${state:-missing}'" "$TEST_DB" "$log" >&2
        return 1
    fi
    if log_has_errors "$log"; then
        printf 'Installing %s with demo data logged errors (shown above; full log %s): demo data must load cleanly.\n' \
            "$ADDON_NAME" "$log" >&2
        return 1
    fi
}

# pytest exit status 5 means "no tests collected": a failure here.
check_pytest_status() {
    local rc=$1 what=$2
    if [ "$rc" -eq 5 ]; then
        printf 'No tests were collected in %s.\n' "$what" >&2
    fi
    return "$rc"
}

addon_unit_tests() {
    local rc=0
    if [ ! -d "$ADDON_NAME/tests" ]; then
        printf '%s/tests does not exist: the addon has no unit tests.\n' "$ADDON_NAME" >&2
        return 1
    fi
    "$VENV_PY" -m pytest "$ADDON_NAME/tests" \
        --odoo-config="$ODOO_CONF" --odoo-database="$TEST_DB" --odoo-http \
        --junitxml="$RESULTS_DIR/addon-unit-tests.xml" || rc=$?
    check_pytest_status "$rc" "$ADDON_NAME/tests"
}

integration_tests() {
    local rc=0
    SPA_ODOO_BIN="$ODOO_BIN" SPA_ODOO_CONF="$ODOO_CONF" SPA_PYTHON="$VENV_PY" SPA_TEST_DB="$TEST_DB" \
        "$VENV_PY" -m pytest -p no:odoo tests \
        --junitxml="$RESULTS_DIR/integration-tests.xml" || rc=$?
    check_pytest_status "$rc" tests/
}

# "N passed, N failed, N skipped" over the JUnit reports of this run.
count_tests() {
    "$VENV_PY" - "$RESULTS_DIR" <<'PY'
import pathlib
import sys
import xml.etree.ElementTree as ET

passed = failed = skipped = 0
for path in sorted(pathlib.Path(sys.argv[1]).glob("*.xml")):
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else root.iter("testsuite")
    for suite in suites:
        total = int(suite.get("tests", 0))
        bad = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skip = int(suite.get("skipped", 0))
        passed += total - bad - skip
        failed += bad
        skipped += skip
print(f"{passed} passed, {failed} failed, {skipped} skipped")
PY
}

print_summary() {
    local i failed=0 counts
    printf '\n==================== test.sh summary ====================\n'
    for i in "${!STEP_NAMES[@]}"; do
        printf '  %-4s  %-46s %8s\n' "${STEP_RESULTS[$i]}" "${STEP_NAMES[$i]}" "$(format_duration "${STEP_TIMES[$i]}")"
        [ "${STEP_RESULTS[$i]}" = PASS ] || failed=$((failed + 1))
    done
    counts="$(count_tests 2>/dev/null || echo '0 passed, 0 failed, 0 skipped')"
    printf 'total time %s\n' "$(format_duration "$(($(now_s) - SUITE_START))")"
    if [ "$failed" -eq 0 ]; then
        printf 'RESULT: PASS (all %d steps passed)\n' "${#STEP_NAMES[@]}"
    else
        printf 'RESULT: FAIL (%d of %d steps failed or were skipped)\n' "$failed" "${#STEP_NAMES[@]}"
    fi
    printf 'tests: %s\n' "$counts"
    return "$failed"
}

# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

check_addon_present
ensure_system_packages
common_setup

rm -rf "$RESULTS_DIR"
mkdir -p "$RESULTS_DIR"

LINT_PATHS=("$ADDON_NAME" tests)
[ ! -d benchmarks ] || LINT_PATHS+=(benchmarks)

run_step "lint: ruff check" lint_ruff_check || true
run_step "lint: ruff format --check" lint_ruff_format || true
run_step "lint: pylint + pylint-odoo" lint_pylint || true

if run_step "install $TEST_DB with demo data" install_test_db; then
    run_step "addon unit tests (pytest-odoo)" addon_unit_tests || true
    run_step "integration tests (tests/)" integration_tests || true
else
    skip_step "addon unit tests (pytest-odoo)" "the test database could not be installed"
    skip_step "integration tests (tests/)" "the test database could not be installed"
fi

if print_summary; then
    exit 0
fi
exit 1
