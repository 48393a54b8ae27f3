#!/usr/bin/env bash
# shellcheck disable=SC2317  # step functions are called indirectly, by run_step
# The whole suite: set up (venv, Odoo 19 source, PostgreSQL, config, Debian
# packages), lint, install a fresh test database with demo data, run the
# addon's unit tests (pytest-odoo) and the integration tests in tests/, then
# Odoo's own tests of crm, sale_crm and test_crm_full on a database with the
# addon (SPA_PEER_BASELINE=1: also without it, to check the baseline).
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
    record_step "$name" "$rc" "$(($(now_s) - start))"
    return "$rc"
}

record_step() {
    local name=$1 rc=$2 seconds=$3
    STEP_NAMES+=("$name")
    STEP_TIMES+=("$seconds")
    if [ "$rc" -eq 0 ]; then
        STEP_RESULTS+=(PASS)
    else
        STEP_RESULTS+=(FAIL)
        printf '==> FAILED: %s (exit status %s)\n' "$name" "$rc" >&2
    fi
}

# start_step NAME COMMAND...: runs COMMAND in the background, its output kept
# in a file, while the steps after it run; finish_step prints that output and
# records it as run_step does. One background step at a time. No browser
# tour runs beside another step: the tours keep the two cores to themselves.
start_step() {
    BACKGROUND_STEP=$1
    BACKGROUND_OUT="$LOG_DIR/background-step.log"
    shift
    mkdir -p "$LOG_DIR"
    printf '\n==> %s: started in the background\n' "$BACKGROUND_STEP" >&2
    (
        start="$(now_s)" rc=0
        "$@" || rc=$?
        printf '%s %s\n' "$rc" "$(($(now_s) - start))" >"$BACKGROUND_OUT.status"
    ) >"$BACKGROUND_OUT" 2>&1 &
    BACKGROUND_PID=$!
}

finish_step() {
    local rc seconds
    wait "$BACKGROUND_PID" || true
    printf '\n==> %s (ran in the background)\n' "$BACKGROUND_STEP" >&2
    cat "$BACKGROUND_OUT" >&2
    read -r rc seconds <"$BACKGROUND_OUT.status" 2>/dev/null || { rc=1 seconds=0; }
    record_step "$BACKGROUND_STEP" "$rc" "$seconds"
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
        drop_database "$db" || return 1
        rm -rf "${ODOO_DATA_DIR:?}/filestore/$db"
    done < <(psql_query postgres prefix="${TEST_DB}_scratch_" <<<"SELECT datname FROM pg_database WHERE starts_with(datname, :'prefix');")
}

install_test_db() {
    local log="$LOG_DIR/install-$TEST_DB.log" state
    require_createdb
    drop_leftover_scratch_dbs || return 1
    note "dropping and re-creating database $TEST_DB"
    drop_database "$TEST_DB" || return 1
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
    # Odoo logs a demo file that fails as a WARNING, and installs the module without its demo data.
    if grep -q 'demo data failed to install' "$log"; then
        grep -A 20 'demo data failed to install' "$log" | sed 's/^/    | /' >&2
        printf 'The demo data of %s failed to install (full log %s): demo data must load cleanly.\n' \
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
    # The tests without browser in two processes side by side (half of the files each, the
    # second half on a copy of the test database), then the browser tests alone: on two
    # cores one process leaves most of the second core idle, a browser test does not.
    local copy="${TEST_DB}_scratch_unit" files half pid rc_copy=0
    mapfile -t files < <(find "$ADDON_NAME/tests" -maxdepth 1 -name 'test_*.py' | sort)
    half=$(((${#files[@]} + 1) / 2))
    drop_database "$copy" || return 1
    rm -rf "${ODOO_DATA_DIR:?}/filestore/$copy"
    createdb -T "$TEST_DB" "$copy" || return 1
    [ ! -d "$ODOO_DATA_DIR/filestore/$TEST_DB" ] || cp -r "$ODOO_DATA_DIR/filestore/$TEST_DB" "$ODOO_DATA_DIR/filestore/$copy"
    SPA_TESTS=server "$VENV_PY" -m pytest -p no:cacheprovider "${files[@]:half}" \
        --odoo-config="$ODOO_CONF" --odoo-database="$copy" \
        --junitxml="$RESULTS_DIR/addon-unit-tests-server-2.xml" > "$LOG_DIR/addon-unit-tests-server-2.log" 2>&1 &
    pid=$!
    SPA_TESTS=server "$VENV_PY" -m pytest -p no:cacheprovider "${files[@]:0:half}" \
        --odoo-config="$ODOO_CONF" --odoo-database="$TEST_DB" \
        --junitxml="$RESULTS_DIR/addon-unit-tests-server-1.xml" || rc=$?
    wait "$pid" || rc_copy=$?
    cat "$LOG_DIR/addon-unit-tests-server-2.log"
    check_pytest_status "$rc" "the first half of $ADDON_NAME/tests" || rc=1
    check_pytest_status "$rc_copy" "the second half of $ADDON_NAME/tests" || rc=1
    drop_database "$copy" || true
    rm -rf "${ODOO_DATA_DIR:?}/filestore/$copy"
    local rc_browser=0
    SPA_TESTS=browser "$VENV_PY" -m pytest "$ADDON_NAME/tests" \
        --odoo-config="$ODOO_CONF" --odoo-database="$TEST_DB" --odoo-http \
        --junitxml="$RESULTS_DIR/addon-unit-tests-browser.xml" || rc_browser=$?
    check_pytest_status "$rc_browser" "the browser tests of $ADDON_NAME/tests" || rc=1
    return "$rc"
}

integration_tests() {
    local rc=0
    SPA_ODOO_BIN="$ODOO_BIN" SPA_ODOO_CONF="$ODOO_CONF" SPA_PYTHON="$VENV_PY" SPA_TEST_DB="$TEST_DB" \
        "$VENV_PY" -m pytest -p no:odoo tests \
        --junitxml="$RESULTS_DIR/integration-tests.xml" || rc=$?
    check_pytest_status "$rc" tests/
}

# --------------------------------------------------------------------------
# Peer suite: Odoo's own tests of crm, sale_crm and test_crm_full, run by
# pytest-odoo once every module is loaded (Odoo's -i mode would run crm's
# at_install tests before this addon is loaded). Tests failing on a plain
# database too are listed in the baseline (see README, "Odoo's CRM tests").
# --------------------------------------------------------------------------

PEER_MODULES=(crm sale_crm test_crm_full)
PEER_BASELINE="$REPO_ROOT/tests/odoo_peer_suite_baseline.txt"
PEER_OPEN="$REPO_ROOT/tests/odoo_peer_suite_open_defects.txt"

# install_peer_db DB MODULES...: a fresh database without demo data (as
# Odoo's test databases are), modules installed without running tests.
install_peer_db() {
    local db=$1 log="$LOG_DIR/install-$1.log" module state modules
    shift
    modules="$(IFS=,; printf '%s' "$*")"
    require_createdb
    note "dropping and re-creating database $db"
    drop_database "$db" || return 1
    rm -rf "${ODOO_DATA_DIR:?}/filestore/$db"
    note "installing $modules without demo data (full log: ${log#"$REPO_ROOT"/})"
    if ! run_logged "$log" odoo_bin -d "$db" -i "$modules" --stop-after-init; then
        show_log_tail "$log"
        printf 'Installing %s into %s failed: see %s.\n' "$*" "$db" "$log" >&2
        return 1
    fi
    for module in "$@"; do
        state="$(module_state "$db" "$module")"
        if [ "$state" != installed ]; then
            printf '%s is %s instead of installed in %s: see %s.\n' "$module" "'${state:-missing}'" "$db" "$log" >&2
            return 1
        fi
    done
    if log_has_errors "$log"; then
        printf 'Installing %s into %s logged errors (shown above; full log %s).\n' "$*" "$db" "$log" >&2
        return 1
    fi
}

# run_peer_tests DB JUNIT_XML [PYTEST_ARGS...]
run_peer_tests() {
    local db=$1 junit=$2 rc=0 module paths=()
    shift 2
    for module in "${PEER_MODULES[@]}"; do
        paths+=("$ODOO_SRC/addons/$module/tests")
    done
    PYTHONPATH="$REPO_ROOT/tests${PYTHONPATH:+:$PYTHONPATH}" "$VENV_PY" -m pytest \
        -c "$REPO_ROOT/pytest.ini" --rootdir="$ODOO_SRC/addons" -o cache_dir="$LOCAL_DIR/pytest_cache/peer" -p odoo_peer_plugin \
        "${paths[@]}" --odoo-config="$ODOO_CONF" --odoo-database="$db" --odoo-http \
        -q --junitxml="$junit" "$@" || rc=$?
    check_pytest_status "$rc" "the tests of ${PEER_MODULES[*]}"
}

# Odoo's browser tours among them (crm's two UI test files): run alone, as
# some of their steps race the server (the forecast tour goes back to the
# kanban while the Won button's call may still be running).
PEER_TOURS="test_crm_ui or test_sales_team_ui"

peer_tours() {
    run_peer_tests "$PEER_DB" "$RESULTS_DIR/odoo-crm-tours.xml" -k "$PEER_TOURS" --peer-positions=post_install \
        --peer-baseline="$PEER_BASELINE" --peer-open="$PEER_OPEN"
}

peer_suite() {
    run_peer_tests "$PEER_DB" "$RESULTS_DIR/odoo-crm-tests.xml" -k "not ($PEER_TOURS)" \
        --peer-baseline="$PEER_BASELINE" --peer-open="$PEER_OPEN"
}

# Odoo's query-count tests again, as on a production server, whose cron
# workers the addon leaves each move's stage tasks to (a test run has none, so
# the step above has the tasks scheduled within each move).
peer_query_counts_queued() {
    run_peer_tests "$PEER_DB" "$RESULTS_DIR/odoo-crm-query-counts-queued.xml" --peer-tags=crm_performance \
        --peer-positions=post_install --peer-queued-stage-tasks --peer-baseline="$PEER_BASELINE" \
        --peer-open="$PEER_OPEN"
}

# The addon's own query-count tests (named for their queries) and its .pot
# check beside Odoo's other CRM modules (sale_crm, the website's CRM): what
# those modules add must not turn one of the addon's queries into one per record.
addon_query_counts_beside_crm() {
    local rc=0
    "$VENV_PY" -m pytest "$ADDON_NAME/tests" -k "quer or pot_matches" \
        --odoo-config="$ODOO_CONF" --odoo-database="$PEER_DB" \
        --junitxml="$RESULTS_DIR/addon-query-counts-beside-crm.xml" || rc=$?
    check_pytest_status "$rc" "the addon's query-count tests"
}

# SPA_PEER_BASELINE=1: the same tests on a database without the addon; their
# failures must be the baseline's. Writes a draft of the new baseline.
peer_baseline() {
    local draft="$LOCAL_DIR/odoo_peer_suite_baseline.new.txt" rc=0
    install_peer_db "$PEER_PLAIN_DB" "${PEER_MODULES[@]}" || return 1
    run_peer_tests "$PEER_PLAIN_DB" "$LOCAL_DIR/odoo-crm-tests-plain.xml" \
        --peer-baseline="$PEER_BASELINE" --peer-failures-out="$draft" || rc=$?
    [ "$rc" -eq 0 ] || [ "$rc" -eq 1 ] || return "$rc"
    if ! diff <(cut -d' ' -f1 "$draft" | sort) <(grep -Ev '^(#|$)' "$PEER_BASELINE" | cut -d' ' -f1 | sort) >/dev/null; then
        printf 'The failures without the addon differ from %s: see the draft %s (reasons kept, TODO for new ones).\n' \
            "${PEER_BASELINE#"$REPO_ROOT"/}" "${draft#"$REPO_ROOT"/}" >&2
        return 1
    fi
    note "the failures without the addon are exactly the baseline's"
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

PEER_DB="${TEST_DB}_odoo"
PEER_PLAIN_DB="${TEST_DB}_odoo_plain"
# Odoo's own tests of crm, sale_crm and test_crm_full run on this database,
# with the addon; it installs while the linters and the test database's
# install run (the two installs share nothing but the PostgreSQL server).
start_step "install $PEER_DB (addon + Odoo CRM tests)" install_peer_db "$PEER_DB" "$ADDON_NAME" "${PEER_MODULES[@]}"

run_step "lint: ruff check" lint_ruff_check || true
run_step "lint: ruff format --check" lint_ruff_format || true
run_step "lint: pylint + pylint-odoo" lint_pylint || true

test_db_installed=0
run_step "install $TEST_DB with demo data" install_test_db || test_db_installed=$?
peer_db_installed=0
finish_step || peer_db_installed=$?

if [ "$test_db_installed" -eq 0 ]; then
    run_step "addon unit tests (pytest-odoo)" addon_unit_tests || true
else
    skip_step "addon unit tests (pytest-odoo)" "the test database could not be installed"
fi
if [ "$peer_db_installed" -eq 0 ]; then
    run_step "Odoo's CRM browser tours with the addon" peer_tours || true
else
    skip_step "Odoo's CRM browser tours with the addon" "$PEER_DB could not be installed"
fi
if [ "$test_db_installed" -eq 0 ]; then
    # Their servers are odoo-bin processes of their own, on scratch databases
    # and free ports: they run beside Odoo's other CRM tests, which use neither
    # and have no browser tour. What they wait for takes about a second; their
    # timeouts are 20 s to 2 minutes.
    start_step "integration tests (tests/)" integration_tests
else
    skip_step "integration tests (tests/)" "the test database could not be installed"
fi

if [ "$peer_db_installed" -eq 0 ]; then
    run_step "Odoo's CRM tests with the addon" peer_suite || true
    run_step "Odoo's query-count tests, stage tasks queued" peer_query_counts_queued || true
    run_step "the addon's query-count tests beside them" addon_query_counts_beside_crm || true
else
    skip_step "Odoo's CRM tests with the addon" "$PEER_DB could not be installed"
    skip_step "Odoo's query-count tests, stage tasks queued" "$PEER_DB could not be installed"
    skip_step "the addon's query-count tests beside them" "$PEER_DB could not be installed"
fi
[ "$test_db_installed" -ne 0 ] || finish_step || true
if [ "${SPA_PEER_BASELINE:-0}" = 1 ]; then
    run_step "Odoo's CRM tests without it (baseline)" peer_baseline || true
fi

if print_summary; then
    exit 0
fi
exit 1
