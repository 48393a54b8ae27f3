"""Fixtures for the integration tests: real ``odoo-bin`` processes.

``scripts/test.sh`` builds the test database (``-i sales_process_addon
--with-demo``), runs the addon's unit tests, then runs these tests with:

* ``SPA_PYTHON``    - the venv's Python (default ``.venv/bin/python``)
* ``SPA_ODOO_BIN``  - Odoo's ``odoo-bin`` (default ``$ODOO_SRC/odoo-bin`` or
  ``~/.local/src/odoo-19.0/odoo-bin``)
* ``SPA_ODOO_CONF`` - the generated configuration (default ``.local/odoo.conf``)
* ``SPA_TEST_DB``   - the installed test database (default ``sales_process_test``)

so ``.venv/bin/python -m pytest tests`` also works after a run of test.sh.

Fixtures:

* ``odoo_env``     - the settings above, checked, plus helpers for psql tools.
* ``scratch_db``   - a throw-away copy of the test database (``createdb -T``
  plus its filestore), dropped afterwards.
* ``start_odoo_server`` - starts ``odoo-bin`` on a free localhost port against a
  database, waits until ``/web/login`` answers, stops it at teardown.
* ``test_db_server`` - a server on the test database, shared by a test class.
* ``odoo_shell``   - runs Python code in ``odoo-bin shell`` on a database.
"""

from __future__ import annotations

import configparser
import itertools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SERVER_START_TIMEOUT = 120  # seconds until /web/login must answer
SERVER_STOP_TIMEOUT = 30
SHELL_TIMEOUT = 600
ODOO_RUN_TIMEOUT = 900  # seconds for an install or an update
HTTP_TIMEOUT = 60
TEMPLATE_IDLE_TIMEOUT = 30  # seconds to wait for other sessions on the test DB
RESULT_MARKER = "@@SPA-RESULT@@"


def _tail(path: Path, lines: int = 60) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _default_odoo_bin() -> str:
    src = os.environ.get("ODOO_SRC") or str(Path.home() / ".local/src/odoo-19.0")
    return str(Path(src) / "odoo-bin")


def _default_python() -> str:
    return str(REPO_ROOT / ".venv/bin/python")


# ---------------------------------------------------------------------------
# Settings and PostgreSQL helpers
# ---------------------------------------------------------------------------


@dataclass
class OdooEnv:
    """Where Odoo is, how to reach PostgreSQL, and which database is the test one."""

    python: str
    odoo_bin: str
    conf: Path
    test_db: str
    data_dir: Path
    pg_env: dict[str, str] = field(default_factory=dict)

    def odoo_command(self, *args: str, subcommand: str | None = None) -> list[str]:
        """``odoo-bin [subcommand] -c <conf> args...`` run with the venv's Python."""
        sub = [subcommand] if subcommand else []
        return [self.python, self.odoo_bin, *sub, "-c", str(self.conf), *args]

    def run_odoo(self, *args: str, timeout: float = ODOO_RUN_TIMEOUT) -> str:
        """``odoo-bin args... --stop-after-init`` (an install, an update); return its log."""
        proc = subprocess.run(
            self.odoo_command(*args, "--stop-after-init", "--no-http", "--max-cron-threads", "0"),
            capture_output=True,
            text=True,
            env=self.pg_env,
            timeout=timeout,
            check=False,
        )
        log = proc.stdout + proc.stderr
        assert proc.returncode == 0, f"odoo-bin {' '.join(args)} failed:\n{log[-5000:]}"
        return log

    def pg(self, *args: str, stdin: str | None = None) -> str:
        """Run a PostgreSQL client tool (psql, createdb, dropdb); return stdout."""
        proc = subprocess.run(
            list(args),
            input=stdin,
            env=self.pg_env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}")
        return proc.stdout

    def sql(self, query: str, **params: str) -> list[str]:
        """Run one query on database postgres with psql variables (:'name'); return its rows."""
        args = ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", "postgres"]
        for name, value in params.items():
            args += ["-v", f"{name}={value}"]
        out = self.pg(*args, stdin=query)
        return [line for line in out.splitlines() if line]

    def db_exists(self, db: str) -> bool:
        return bool(self.sql("SELECT 1 FROM pg_database WHERE datname = :'db';", db=db))

    def other_sessions(self, db: str) -> list[str]:
        """Sessions of a role in ``db``; not autovacuum (no role), which copying or dropping stops."""
        return self.sql(
            "SELECT coalesce(application_name, '') || ' (pid ' || pid || ')'"
            " FROM pg_stat_activity WHERE datname = :'db' AND pid <> pg_backend_pid()"
            " AND usesysid IS NOT NULL;",
            db=db,
        )

    def drop_db(self, db: str) -> None:
        """Drop ``db`` even while our own sessions still use it.

        Not ``dropdb --force``: PostgreSQL refuses that to a role without
        superuser or pg_signal_backend while an autovacuum worker is in the
        database. A plain DROP DATABASE stops autovacuum itself and waits for
        the sessions ended here.
        """
        self.sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = :'db' AND usename = current_user AND pid <> pg_backend_pid();",
            db=db,
        )
        self.pg("dropdb", "--if-exists", db)

    def filestore(self, db: str) -> Path:
        return self.data_dir / "filestore" / db


def _pg_env_from_conf(options: configparser.SectionProxy) -> dict[str, str]:
    env = dict(os.environ)
    for key, var in (
        ("db_host", "PGHOST"),
        ("db_port", "PGPORT"),
        ("db_user", "PGUSER"),
        ("db_password", "PGPASSWORD"),
    ):
        value = options.get(key, "").strip()
        if value and value.lower() not in ("false", "none"):
            env[var] = value
    return env


@pytest.fixture(scope="session")
def odoo_env() -> OdooEnv:
    python = os.environ.get("SPA_PYTHON") or _default_python()
    odoo_bin = os.environ.get("SPA_ODOO_BIN") or _default_odoo_bin()
    conf = Path(os.environ.get("SPA_ODOO_CONF") or REPO_ROOT / ".local/odoo.conf")
    test_db = os.environ.get("SPA_TEST_DB") or "sales_process_test"
    hint = "run ./scripts/test.sh (or set SPA_PYTHON, SPA_ODOO_BIN, SPA_ODOO_CONF, SPA_TEST_DB)"
    for what, path in (("Python", python), ("odoo-bin", odoo_bin), ("Odoo config", conf)):
        if not Path(path).is_file():
            pytest.fail(f"{what} not found at {path}: {hint}", pytrace=False)

    parser = configparser.RawConfigParser()
    parser.read(conf)
    options = parser["options"] if parser.has_section("options") else parser[parser.default_section]
    data_dir = Path(options.get("data_dir", "") or REPO_ROOT / ".local/data")
    env = OdooEnv(
        python=python,
        odoo_bin=odoo_bin,
        conf=conf,
        test_db=test_db,
        data_dir=data_dir,
        pg_env=_pg_env_from_conf(options),
    )
    if not env.db_exists(test_db):
        pytest.fail(f"test database {test_db} does not exist: {hint}", pytrace=False)
    return env


# ---------------------------------------------------------------------------
# (1) Scratch copies of the test database
# ---------------------------------------------------------------------------

_scratch_counter = itertools.count(1)


def _wait_until_unused(odoo_env: OdooEnv, db: str) -> None:
    deadline = time.monotonic() + TEMPLATE_IDLE_TIMEOUT
    while True:
        sessions = odoo_env.other_sessions(db)
        if not sessions:
            return
        if time.monotonic() > deadline:
            pytest.fail(
                f"cannot copy {db}: other sessions still use it ({', '.join(sessions)}); "
                "stop servers on the test database before asking for a scratch copy",
                pytrace=False,
            )
        time.sleep(0.5)


def _drop_db(odoo_env: OdooEnv, db: str) -> None:
    odoo_env.drop_db(db)
    shutil.rmtree(odoo_env.filestore(db), ignore_errors=True)


@pytest.fixture
def scratch_db(odoo_env: OdooEnv) -> Iterator[str]:
    """A copy of the test database (and its filestore), dropped afterwards.

    Named ``<test db>_scratch_<pid>_<n>``: scripts/test.sh drops leftovers of
    interrupted runs by that prefix.
    """
    name = f"{odoo_env.test_db}_scratch_{os.getpid()}_{next(_scratch_counter)}"
    _drop_db(odoo_env, name)
    _wait_until_unused(odoo_env, odoo_env.test_db)
    odoo_env.pg("createdb", "-T", odoo_env.test_db, name)
    try:
        source = odoo_env.filestore(odoo_env.test_db)
        if source.is_dir():
            shutil.copytree(source, odoo_env.filestore(name))
        yield name
    finally:
        _drop_db(odoo_env, name)


# ---------------------------------------------------------------------------
# (2) A real odoo-bin server
# ---------------------------------------------------------------------------


class RpcError(Exception):
    """An error answered by Odoo's /jsonrpc endpoint."""


@dataclass
class OdooServer:
    """A running ``odoo-bin`` process serving one database on 127.0.0.1."""

    db: str
    port: int
    log_path: Path
    process: subprocess.Popen
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, lines: int = 60) -> str:
        return _tail(self.log_path, lines)

    def get(self, path: str) -> tuple[int, str]:
        """GET a path; return (status, body) even for HTTP error statuses."""
        try:
            with urllib.request.urlopen(self.url + path, timeout=HTTP_TIMEOUT) as resp:
                return resp.status, resp.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode("utf-8", "replace")

    def jsonrpc(self, service: str, method: str, *args):
        """Call ``service.method(*args)`` through ``/jsonrpc``; return its result."""
        payload = {
            "jsonrpc": "2.0",
            "method": "call",
            "params": {"service": service, "method": method, "args": list(args)},
            "id": next(self._ids),
        }
        request = urllib.request.Request(
            self.url + "/jsonrpc",
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as resp:
            answer = json.load(resp)
        if answer.get("error"):
            error = answer["error"]
            message = (error.get("data") or {}).get("message") or error.get("message")
            raise RpcError(f"{service}.{method}: {message}")
        return answer["result"]

    def execute_kw(self, uid: int, password: str, model: str, method: str, args, kwargs=None):
        return self.jsonrpc("object", "execute_kw", self.db, uid, password, model, method, args, kwargs or {})

    def wait_ready(self, timeout: float = SERVER_START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        last_error = "no answer yet"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"odoo-bin on {self.db} exited with status {self.process.returncode} "
                    f"before answering; last log lines:\n{self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(self.url + "/web/login", timeout=10) as resp:
                    if resp.status == 200:
                        return
                    last_error = f"HTTP {resp.status}"
            except urllib.error.HTTPError as err:
                last_error = f"HTTP {err.code}"
            except (urllib.error.URLError, OSError) as err:
                last_error = str(err)
            time.sleep(1)
        raise RuntimeError(
            f"odoo-bin on {self.db} did not answer /web/login within {timeout:.0f}s "
            f"({last_error}); last log lines:\n{self.log_tail()}"
        )

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.process.wait(SERVER_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(SERVER_STOP_TIMEOUT)


def _launch_server(odoo_env: OdooEnv, db: str, log_dir: Path) -> OdooServer:
    port = _free_port()
    log_path = log_dir / f"odoo-{db}-{port}.log"
    command = odoo_env.odoo_command(
        "-d",
        db,
        "--db-filter",
        f"^{re.escape(db)}$",
        "--http-interface",
        "127.0.0.1",
        "--http-port",
        str(port),
        "--gevent-port",
        str(_free_port()),
        "--workers",
        "0",
        "--max-cron-threads",
        "0",
    )
    return spawn_server(command, db, port, log_path, odoo_env.pg_env)


def spawn_server(command: list[str], db: str, port: int, log_path: Path, env: dict, cwd=None) -> OdooServer:
    """Start ``command`` (an Odoo server on ``port``), logging to ``log_path``; return it once it answers."""
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
    server = OdooServer(db=db, port=port, log_path=log_path, process=process)
    try:
        server.wait_ready()
    except BaseException:
        server.stop()
        raise
    return server


@pytest.fixture
def start_odoo_server(
    odoo_env: OdooEnv, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[str], OdooServer]]:
    """Factory: ``start_odoo_server(db)`` -> a ready OdooServer, stopped at teardown."""
    servers: list[OdooServer] = []
    log_dir = tmp_path_factory.mktemp("odoo-server")

    def start(db: str) -> OdooServer:
        try:
            server = _launch_server(odoo_env, db, log_dir)
        except RuntimeError as err:
            pytest.fail(str(err), pytrace=False)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="class")
def test_db_server(odoo_env: OdooEnv, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OdooServer]:
    """A server on the test database, shared by the tests of one class."""
    log_dir = tmp_path_factory.mktemp("odoo-server")
    try:
        server = _launch_server(odoo_env, odoo_env.test_db, log_dir)
    except RuntimeError as err:
        pytest.fail(str(err), pytrace=False)
    try:
        yield server
    finally:
        server.stop()


# ---------------------------------------------------------------------------
# (3) odoo-bin shell
# ---------------------------------------------------------------------------


class OdooShell:
    """Runs Python code in ``odoo-bin shell`` (``env`` is the superuser's).

    Nothing is committed unless the code calls ``env.cr.commit()``.
    """

    def __init__(self, odoo_env: OdooEnv) -> None:
        self.odoo_env = odoo_env
        self.last_log = ""  # Odoo's log (warnings and errors) of the last call

    def __call__(self, db: str, code: str, timeout: float = SHELL_TIMEOUT, args: tuple[str, ...] = ()) -> str:
        """Feed ``code`` on stdin; return what it printed (stdout); keep its log in ``last_log``.

        ``args``: more ``odoo-bin`` options, e.g. another ``--addons-path``.
        """
        command = self.odoo_env.odoo_command(
            "-d", db, "--no-http", "--max-cron-threads", "0", "--log-level", "warn", *args, subcommand="shell"
        )
        proc = subprocess.run(
            command,
            input=textwrap.dedent(code),
            capture_output=True,
            text=True,
            env=self.odoo_env.pg_env,
            timeout=timeout,
            check=False,
        )
        self.last_log = proc.stderr
        if proc.returncode != 0:
            stderr = "\n".join(proc.stderr.splitlines()[-60:])
            raise AssertionError(f"odoo-bin shell on {db} exited with status {proc.returncode}:\n{stderr}")
        return proc.stdout

    def json(self, db: str, code: str, timeout: float = SHELL_TIMEOUT, args: tuple[str, ...] = ()):
        """Run ``code``, which must set ``result``; return ``result`` via JSON."""
        wrapped = f"{textwrap.dedent(code)}\nprint({RESULT_MARKER!r} + __import__('json').dumps(result, default=str))\n"
        out = self(db, wrapped, timeout, args)
        for line in reversed(out.splitlines()):
            if line.startswith(RESULT_MARKER):
                return json.loads(line[len(RESULT_MARKER) :])
        raise AssertionError(f"odoo-bin shell on {db} printed no result:\n{out}")


@pytest.fixture(scope="session")
def odoo_shell(odoo_env: OdooEnv) -> OdooShell:
    return OdooShell(odoo_env)
