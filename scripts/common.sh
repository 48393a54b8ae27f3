# shellcheck shell=bash
# shellcheck disable=SC2034  # settings below are used by the sourcing scripts
#
# Helpers shared by scripts/run.sh and scripts/test.sh. Source it, don't run it.
#
# Every helper that can fail on a missing prerequisite stops the script with
# ONE sentence on stderr saying what is wrong and what to do (see `die`).

# --------------------------------------------------------------------------
# Settings (all overridable from the environment, see README "Configuration")
# --------------------------------------------------------------------------

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ADDON_NAME="sales_process_addon"
LOCAL_DIR="$REPO_ROOT/.local"
LOG_DIR="$LOCAL_DIR/logs"
VENV_DIR="$REPO_ROOT/.venv"
VENV_PY="$VENV_DIR/bin/python"
ODOO_CONF="$LOCAL_DIR/odoo.conf"
ODOO_DATA_DIR="$LOCAL_DIR/data"
REQUIREMENTS_FILES=("$REPO_ROOT/requirements.txt" "$REPO_ROOT/requirements-dev.txt")

: "${HOME:=$(getent passwd "$(id -un)" | cut -d: -f6)}"
DEFAULT_ODOO_SRC="$HOME/.local/src/odoo-19.0"
ODOO_DOWNLOAD_URL="${ODOO_DOWNLOAD_URL:-https://github.com/odoo/odoo/archive/refs/heads/19.0.tar.gz}"

PRIVATE_PG_DIR="$LOCAL_DIR/postgres"
PRIVATE_PG_PORT=54329

# PostgreSQL session settings of every server and tool these scripts start
# (yours in PGOPTIONS come last, so they win):
# - random_page_cost 1.1 instead of PostgreSQL's 4, meant for spinning disks:
#   for data in RAM or on SSD. With 4, a kanban's 640 cards read their 445
#   activities by scanning the whole activity table (README "Production");
# - keep NOTICEs (e.g. "database ... does not exist, skipping") out of the output.
export PGOPTIONS="-c random_page_cost=1.1 -c client_min_messages=warning${PGOPTIONS:+ $PGOPTIONS}"

# Odoo's own rule for database names (odoo.service.db.DB_NAME_RE).
DB_NAME_PATTERN='^[a-zA-Z0-9][a-zA-Z0-9_.-]+$'

# --------------------------------------------------------------------------
# Messages
# --------------------------------------------------------------------------

die() {
    printf 'ERROR: %s\n' "$*" >&2
    exit 1
}

info() {
    printf '==> %s\n' "$*" >&2
}

note() {
    printf '    %s\n' "$*" >&2
}

is_root() {
    [ "$(id -u)" -eq 0 ]
}

current_user() {
    id -un
}

# Seconds since the epoch, for step timings.
now_s() {
    date +%s
}

format_duration() {
    local s=$1
    if [ "$s" -ge 60 ]; then
        printf '%dm%02ds' $((s / 60)) $((s % 60))
    else
        printf '%ds' "$s"
    fi
}

check_db_name() {
    local name=$1 var=$2
    [[ $name =~ $DB_NAME_PATTERN ]] ||
        die "$var='$name' is not a valid Odoo database name: use letters, digits, '_', '.' or '-' (starting with a letter or digit)."
}

# Regular expression matching exactly one database name, for --db-filter.
db_filter_for() {
    printf '^%s$' "${1//./\\.}"
}

# Run a command with its full output saved to a log file, showing only
# Odoo's WARNING/ERROR/CRITICAL records (with their tracebacks) and any
# non-log line printed before the first log record. Returns the command's
# exit status.
run_logged() {
    local log=$1
    shift
    mkdir -p "$(dirname "$log")"
    local statuses errexit=$-
    set +e
    "$@" 2>&1 | tee "$log" | awk '
        BEGIN { show = 1 }
        /^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9:,.]+ [0-9]+ [A-Z]+ / {
            show = ($4 == "WARNING" || $4 == "ERROR" || $4 == "CRITICAL")
        }
        show { print; fflush() }
    '
    statuses=("${PIPESTATUS[@]}")
    [[ $errexit != *e* ]] || set -e
    return "${statuses[0]}"
}

# Does an Odoo log contain ERROR or CRITICAL records?
log_has_errors() {
    grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:,.]+ [0-9]+ (ERROR|CRITICAL) ' "$1"
}

# After a failed Odoo run: its ERROR records were already shown by
# run_logged; when there are none, show the end of the log instead.
show_log_tail() {
    local log=$1
    if log_has_errors "$log"; then
        return 0
    fi
    note "last lines of $log:"
    tail -n 40 "$log" | sed 's/^/    | /' >&2
}

# --------------------------------------------------------------------------
# Odoo 19.0 source
# --------------------------------------------------------------------------

is_odoo19_source() {
    local dir=$1
    [ -f "$dir/odoo-bin" ] && [ -f "$dir/odoo/release.py" ] &&
        grep -Eq '^version_info *= *\( *19 *, *0 *,' "$dir/odoo/release.py"
}

# Download and unpack Odoo 19.0 into $1 (atomically: unpack into a temporary
# folder beside it, then rename). Returns non-zero on any failure.
# On failure, DOWNLOAD_ERROR says why in a few words.
DOWNLOAD_ERROR=""
download_odoo_source() {
    local dest=$1 parent tmp
    DOWNLOAD_ERROR=""
    command -v curl >/dev/null 2>&1 || { DOWNLOAD_ERROR="curl is not installed"; return 1; }
    command -v tar >/dev/null 2>&1 || { DOWNLOAD_ERROR="tar is not installed"; return 1; }
    parent="$(dirname "$dest")"
    mkdir -p "$parent" || { DOWNLOAD_ERROR="cannot create $parent"; return 1; }
    tmp="$(mktemp -d "$parent/.odoo-19.0-download.XXXXXX")" || { DOWNLOAD_ERROR="cannot write in $parent"; return 1; }
    info "Downloading Odoo 19.0 source from $ODOO_DOWNLOAD_URL into $dest (a few hundred MB)"
    if curl -fsSL --retry 3 --connect-timeout 30 "$ODOO_DOWNLOAD_URL" 2>"$tmp.curl-error" |
        tar -xz --strip-components=1 -C "$tmp" 2>/dev/null; then
        if is_odoo19_source "$tmp"; then
            if mv "$tmp" "$dest"; then
                rm -f "$tmp.curl-error"
                return 0
            fi
            DOWNLOAD_ERROR="cannot move it to $dest"
        else
            DOWNLOAD_ERROR="the archive is not an Odoo 19.0 source"
        fi
    else
        DOWNLOAD_ERROR="$(tail -n 1 "$tmp.curl-error" 2>/dev/null)"
        [ -n "$DOWNLOAD_ERROR" ] || DOWNLOAD_ERROR="the archive could not be unpacked"
    fi
    rm -rf "$tmp" "$tmp.curl-error"
    return 1
}

# Sets and exports ODOO_SRC (absolute path of an Odoo 19.0 source folder).
setup_odoo_source() {
    local src
    if [ -n "${ODOO_SRC:-}" ]; then
        [ -d "$ODOO_SRC" ] ||
            die "ODOO_SRC=$ODOO_SRC does not exist: point ODOO_SRC to an Odoo 19.0 source folder (the one containing odoo-bin), or unset it to use $DEFAULT_ODOO_SRC."
        src="$ODOO_SRC"
    elif [ -d "$DEFAULT_ODOO_SRC" ]; then
        src="$DEFAULT_ODOO_SRC"
    else
        download_odoo_source "$DEFAULT_ODOO_SRC" ||
            die "Odoo 19 source not found: set ODOO_SRC to an Odoo 19.0 source folder or put one in ~/.local/src/odoo-19.0 (download from $ODOO_DOWNLOAD_URL failed: ${DOWNLOAD_ERROR:-unknown error})."
        src="$DEFAULT_ODOO_SRC"
    fi
    is_odoo19_source "$src" ||
        die "$src is not an Odoo 19.0 source folder (expected odoo-bin and version_info = (19, 0, ...) in odoo/release.py): set ODOO_SRC to an Odoo 19.0 source folder."
    ODOO_SRC="$(cd "$src" && pwd)"
    export ODOO_SRC
    ODOO_BIN="$ODOO_SRC/odoo-bin"
    info "Odoo source: $ODOO_SRC"
}

# --------------------------------------------------------------------------
# Python virtual environment
# --------------------------------------------------------------------------

requirements_hash() {
    cat "${REQUIREMENTS_FILES[@]}" | sha256sum | cut -d' ' -f1
}

python_version_of() {
    "$1" -c 'import platform; print(platform.python_version())' 2>/dev/null
}

pip_install_requirements() {
    local statuses errexit=$-
    set +e
    "$VENV_PY" -m pip install --disable-pip-version-check --no-input -q \
        -r "$REPO_ROOT/requirements.txt" -r "$REPO_ROOT/requirements-dev.txt" 2>&1 |
        grep -v "^WARNING: Location '.*' is ignored: it is neither a file nor a directory\.$"
    statuses=("${PIPESTATUS[@]}")
    [[ $errexit != *e* ]] || set -e
    return "${statuses[0]}"
}

# Creates .venv if needed, (re)installs the requirements when they changed,
# and points the venv at ODOO_SRC with a .pth file (so `import odoo` works).
setup_venv() {
    local python="${PYTHON:-python3.11}" want have stamp="$VENV_DIR/.requirements.sha256" hash site
    local f
    for f in "${REQUIREMENTS_FILES[@]}"; do
        [ -f "$f" ] || die "$f is missing: restore it from git (git checkout -- $(basename "$f"))."
    done
    command -v "$python" >/dev/null 2>&1 ||
        die "$python not found: install Python 3.11 or set PYTHON to a Python 3.10-3.13 interpreter."
    want="$(python_version_of "$python")" ||
        die "$python does not run (is it installed for this directory's pyenv/asdf version?): install Python 3.11 or set PYTHON to a Python 3.10-3.13 interpreter."
    "$python" -c 'import sys; sys.exit(not ((3, 10) <= sys.version_info[:2] <= (3, 13)))' ||
        die "$python is Python $want, but Odoo 19 needs Python 3.10-3.13 (3.11 recommended): set PYTHON to such an interpreter."

    if [ -d "$VENV_DIR" ]; then
        have="$(python_version_of "$VENV_PY" || true)"
        if [ "$have" != "$want" ]; then
            info "Re-creating .venv (it has Python ${have:-none}, $python is $want)"
            rm -rf "$VENV_DIR"
        fi
    fi
    if [ ! -d "$VENV_DIR" ]; then
        info "Creating .venv with $python ($want)"
        "$python" -m venv "$VENV_DIR" ||
            { rm -rf "$VENV_DIR"; die "Could not create .venv with $python: install its venv module (Debian: apt-get install python3-venv) or set PYTHON to another Python 3.11."; }
    fi

    hash="$(requirements_hash)"
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$hash" ]; then
        info "Installing requirements.txt and requirements-dev.txt into .venv (the first time takes a few minutes)"
        rm -f "$stamp"
        # (The filter drops pip's notes about find-links folders of this
        # machine's pip configuration that do not exist.)
        pip_install_requirements ||
            die "Installing the Python requirements into .venv failed (see pip's messages above): fix the cause (network, compiler or libpq-dev headers) and run again."
        printf '%s\n' "$hash" >"$stamp"
    else
        info "Python requirements are up to date in .venv"
    fi

    site="$("$VENV_PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
    printf '%s\n' "$ODOO_SRC" >"$site/odoo_src.pth"
    "$VENV_PY" -c 'import odoo.release as r; assert r.version_info[:2] == (19, 0)' 2>/dev/null ||
        die "The .venv cannot import Odoo 19 from $ODOO_SRC: delete .venv and run again."
}

# --------------------------------------------------------------------------
# PostgreSQL
# --------------------------------------------------------------------------

pg_answers() {
    psql -X -d postgres -Atc 'select 1' >/dev/null 2>&1
}

pg_describe() {
    printf '%s' "${PGHOST:-default socket}${PGPORT:+ port $PGPORT} as ${PGUSER:-$(current_user)}"
}

# First PostgreSQL bin folder with initdb and pg_ctl (PATH first, then
# Debian's /usr/lib/postgresql/<version>/bin, newest version first).
find_pg_bindir() {
    local d
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(command -v pg_ctl)"
        return 0
    fi
    d="$(printf '%s\n' /usr/lib/postgresql/*/bin/initdb | sort -t/ -k5,5 -rn | head -n 1)"
    if [ -x "$d" ] && [ -x "$(dirname "$d")/pg_ctl" ]; then
        dirname "$d"
        return 0
    fi
    return 1
}

have_system_cluster() {
    command -v pg_lsclusters >/dev/null 2>&1 && [ -n "$(pg_lsclusters -h 2>/dev/null)" ]
}

# (b) Use the machine's own cluster (Debian's pg_lsclusters / pg_ctlcluster).
# Only root can start it and create roles; returns non-zero when it cannot
# be used so that the caller falls back to a private cluster.
use_system_cluster() {
    local line ver name port status sockdir role
    line="$(pg_lsclusters -h | awk '$4 ~ /^online/ { print; exit }')"
    [ -n "$line" ] || line="$(pg_lsclusters -h | head -n 1)"
    read -r ver name port status _ <<<"$line"

    if [[ $status != online* ]]; then
        if ! is_root; then
            note "the machine's PostgreSQL cluster $ver/$name is down and only root can start it (sudo pg_ctlcluster $ver $name start)"
            return 1
        fi
        info "Starting the machine's PostgreSQL cluster $ver/$name"
        pg_ctlcluster "$ver" "$name" start ||
            die "Could not start PostgreSQL cluster $ver/$name with pg_ctlcluster: see /var/log/postgresql/postgresql-$ver-$name.log."
    fi

    sockdir="$(pg_conftool -s "$ver" "$name" show unix_socket_directories 2>/dev/null | cut -d, -f1 | tr -d "' ")" || true
    [ -n "$sockdir" ] || sockdir=/var/run/postgresql
    export PGHOST="$sockdir" PGPORT="$port"
    pg_answers && return 0

    role="${PGUSER:-$(current_user)}"
    if ! is_root; then
        note "the machine's PostgreSQL cluster $ver/$name has no role '$role' (an admin can add it: sudo -u postgres createuser --createdb $role)"
        return 1
    fi
    info "Creating PostgreSQL role '$role' (LOGIN CREATEDB) in cluster $ver/$name"
    # psql variables (:'role') are quoted by psql itself: safe for any name.
    runuser -u postgres -- psql -X -q -h "$sockdir" -p "$port" -d postgres \
        -v ON_ERROR_STOP=1 -v role="$role" >/dev/null <<'SQL' ||
SELECT format('CREATE ROLE %I LOGIN CREATEDB', :'role')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('ALTER ROLE %I LOGIN CREATEDB', :'role') \gexec
SQL
        die "Could not create PostgreSQL role '$role' in cluster $ver/$name (runuser -u postgres -- psql failed): create it by hand with: runuser -u postgres -- createuser --createdb $role."
    pg_answers ||
        die "PostgreSQL cluster $ver/$name still refuses $(pg_describe): check its pg_hba.conf allows local connections for role '$role'."
    return 0
}

# (c) A private cluster in .local/postgres, owned by the current (non-root)
# user, listening only on a unix socket in that folder, port 54329.
use_private_cluster() {
    local bindir data="$PRIVATE_PG_DIR/data" log="$PRIVATE_PG_DIR/postgres.log" role locale_opt
    bindir="$(find_pg_bindir)" ||
        die "No usable PostgreSQL: install PostgreSQL (Debian: apt-get install postgresql) or set PGHOST/PGPORT/PGUSER/PGPASSWORD to a server where you may create databases."
    if is_root; then
        die "No usable PostgreSQL for root: start the machine's cluster (pg_ctlcluster <version> main start), install one (apt-get install postgresql), or set PGHOST/PGPORT/PGUSER/PGPASSWORD to a server; a private cluster needs a non-root user because initdb refuses root."
    fi
    # A unix socket path is limited to about 107 bytes.
    [ "${#PRIVATE_PG_DIR}" -le 90 ] ||
        die "The repository path is too long for a PostgreSQL socket in $PRIVATE_PG_DIR: clone it into a shorter path or set PGHOST/PGPORT/PGUSER to a server."
    role="${PGUSER:-$(current_user)}"

    if [ ! -f "$data/PG_VERSION" ]; then
        info "Creating a private PostgreSQL cluster in $data"
        mkdir -p "$PRIVATE_PG_DIR"
        rm -rf "$data"
        if locale -a 2>/dev/null | grep -Eiq '^c\.utf-?8$'; then
            locale_opt=--locale=C.UTF-8
        else
            locale_opt=--no-locale
        fi
        "$bindir/initdb" -D "$data" -U "$role" -A trust -E UTF8 "$locale_opt" >"$PRIVATE_PG_DIR/initdb.log" 2>&1 ||
            { rm -rf "$data"; die "initdb failed to create $data: see $PRIVATE_PG_DIR/initdb.log."; }
    fi

    export PGHOST="$PRIVATE_PG_DIR" PGPORT="$PRIVATE_PG_PORT"
    if ! pg_answers; then
        info "Starting the private PostgreSQL cluster (socket in $PRIVATE_PG_DIR, port $PRIVATE_PG_PORT)"
        "$bindir/pg_ctl" -D "$data" -l "$log" -w -t 60 \
            -o "-c listen_addresses= -k $(printf '%q' "$PRIVATE_PG_DIR") -p $PRIVATE_PG_PORT" start >/dev/null ||
            die "Could not start the private PostgreSQL in $data: see $log."
    fi
    pg_answers ||
        die "The private PostgreSQL in $data refuses $(pg_describe): remove $PRIVATE_PG_DIR and run again."
}

# Finds or starts a PostgreSQL server and exports PGHOST/PGPORT for it.
setup_postgres() {
    local user="${PGUSER:-$(current_user)}"
    [ "$user" != postgres ] ||
        die "Odoo refuses to connect as PostgreSQL user 'postgres': set PGUSER to another role (or run as a user other than postgres)."
    if ! command -v psql >/dev/null 2>&1 || ! command -v createdb >/dev/null 2>&1; then
        die "PostgreSQL client tools (psql, createdb) not found: install them (Debian: apt-get install postgresql-client) and run again."
    fi

    if pg_answers; then
        info "PostgreSQL: using the configured server ($(pg_describe))"
    elif have_system_cluster && use_system_cluster; then
        info "PostgreSQL: using the machine's cluster ($(pg_describe))"
    else
        use_private_cluster
        info "PostgreSQL: using the private cluster in .local/postgres ($(pg_describe))"
    fi
}

# Run SQL (given on stdin) on database $1 with psql variables from the
# remaining "name=value" arguments; prints unaligned tuples.
psql_query() {
    local db=$1 var args=()
    shift
    for var in "$@"; do
        args+=(-v "$var")
    done
    psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "${args[@]}"
}

# drop_database DB: drop DB even while our own sessions still use it. Not
# `dropdb --force`: PostgreSQL refuses that to a role without superuser or
# pg_signal_backend while an autovacuum worker is in the database. A plain
# DROP DATABASE stops autovacuum itself and waits for the sessions ended here.
drop_database() {
    psql_query postgres db="$1" >/dev/null <<<"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :'db' AND usename = current_user AND pid <> pg_backend_pid();" || return 1
    dropdb --if-exists "$1"
}

db_exists() {
    [ "$(psql_query postgres db="$1" <<<"SELECT 1 FROM pg_database WHERE datname = :'db';")" = 1 ]
}

# State of a module in an Odoo database ('' when the database has none).
module_state() {
    local db=$1 module=$2
    psql_query "$db" module="$module" 2>/dev/null <<'SQL' || true
SELECT state FROM ir_module_module WHERE name = :'module';
SQL
}

can_create_databases() {
    [ "$(psql_query postgres <<<'SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user;')" = t ]
}

require_createdb() {
    can_create_databases ||
        die "PostgreSQL role ${PGUSER:-$(current_user)} may not create databases: grant it (ALTER ROLE ... CREATEDB) or set PGUSER to a role that may."
}

# --------------------------------------------------------------------------
# Odoo configuration
# --------------------------------------------------------------------------

check_addon_present() {
    [ -f "$REPO_ROOT/$ADDON_NAME/__manifest__.py" ] ||
        die "$ADDON_NAME/__manifest__.py not found in $REPO_ROOT: run from a complete checkout of the project."
}

# (Re)writes .local/odoo.conf from the current settings.
write_odoo_conf() {
    mkdir -p "$LOCAL_DIR" "$ODOO_DATA_DIR"
    local tmp="$ODOO_CONF.tmp"
    (
        umask 077
        {
            printf '# Generated by scripts/common.sh on every run: edits are lost.\n'
            printf '[options]\n'
            printf 'addons_path = %s\n' "$ODOO_SRC/addons,$ODOO_SRC/odoo/addons,$REPO_ROOT"
            printf 'data_dir = %s\n' "$ODOO_DATA_DIR"
            printf 'http_interface = 127.0.0.1\n'
            # Browser tests (tours) start Odoo's HTTP server on this port.
            [ -z "${SPA_TEST_HTTP_PORT:-}" ] || printf 'http_port = %s\n' "$SPA_TEST_HTTP_PORT"
            [ -z "${PGHOST:-}" ] || printf 'db_host = %s\n' "$PGHOST"
            [ -z "${PGPORT:-}" ] || printf 'db_port = %s\n' "$PGPORT"
            [ -z "${PGUSER:-}" ] || printf 'db_user = %s\n' "$PGUSER"
            [ -z "${PGPASSWORD:-}" ] || printf 'db_password = %s\n' "$PGPASSWORD"
        } >"$tmp"
    )
    mv "$tmp" "$ODOO_CONF"
    info "Odoo configuration: ${ODOO_CONF#"$REPO_ROOT"/}"
}

# odoo-bin with the project's configuration and venv.
odoo_bin() {
    "$VENV_PY" "$ODOO_BIN" -c "$ODOO_CONF" "$@"
}

# Everything both commands need before touching a database.
common_setup() {
    check_addon_present
    setup_odoo_source
    setup_venv
    setup_postgres
    write_odoo_conf
}
