"""pytest plugin for the peer suite: Odoo's own CRM tests (crm, sale_crm,
test_crm_full) run by pytest-odoo on a database where every module is
already loaded, so that crm's at_install tests see this addon too (Odoo's
``-i`` mode runs them before the addon is loaded).

scripts/test.sh loads it with ``-p odoo_peer_plugin`` (tests/ on PYTHONPATH).
It adds to pytest-odoo what Odoo's own test runner does or what CI needs:

- ``--peer-tags``: keeps only the tests Odoo's runner selects for these test
  tags (Odoo's own ``TagsSelector``); the default adds ``crm_performance``
  to ``standard`` because test_crm_full's query-count tests are not
  ``standard``;
- every test gets its Odoo position (at_install / post_install) as a JUnit
  property, and the summary counts both, so a run that lost one of them
  shows it;
- ``--peer-baseline``: the tests listed there fail on this machine without
  the addon too; they are marked as expected failures (not strict): pytest
  then fails only on a new failure and reports the listed tests that now
  pass (XPASS);
- ``--peer-failures-out``: writes the ids of the tests that failed, with the
  reasons of the baseline kept, as a draft of a new baseline file;
- ``--peer-positions``: the positions the run must hold a test of (both by
  default);
- ``--peer-queued-stage-tasks``: the tests run as on a server whose cron
  workers run, where the addon queues each move's stage tasks for them (its
  default in production); a test run has no cron worker, so the addon
  otherwise schedules them within each move. Nothing works the queue during
  the tests.

A test id is the pytest node id relative to Odoo's addons folder
(``crm/tests/test_crm_lead.py::TestCRMLead::test_x``): scripts/test.sh runs
pytest with ``--rootdir`` there.
"""

import pathlib
from unittest.mock import patch

import pytest

POSITIONS = ("at_install", "post_install")


def pytest_addoption(parser):
    group = parser.getgroup("odoo-peer", "Odoo's CRM tests with sales_process_addon")
    group.addoption(
        "--peer-tags",
        default="standard,crm_performance",
        help="Odoo test tags selecting the tests to run (default: %(default)s)",
    )
    group.addoption("--peer-baseline", help="file of the tests expected to fail (id, then a reason)")
    group.addoption(
        "--peer-open",
        help="file of the tests that fail WITH the addon only: open defects, reported apart (same format)",
    )
    group.addoption("--peer-failures-out", help="write the ids of the failed tests to this file")
    group.addoption(
        "--peer-positions",
        default=",".join(POSITIONS),
        help="the positions the run must hold a test of (default: %(default)s)",
    )
    group.addoption(
        "--peer-queued-stage-tasks",
        action="store_true",
        help="run as on a server whose cron workers run: the addon queues the stage tasks",
    )


def read_baseline(path):
    """{test id: reason} from a baseline file: '<id> <reason>' per line, '#' comments."""
    baseline = {}
    for line in pathlib.Path(path).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        test_id, _, reason = line.partition(" ")
        baseline[test_id] = reason.strip()
    return baseline


def odoo_test(item):
    """An instance of the Odoo test case of ``item`` (None for other items)."""
    cls = getattr(item, "cls", None)
    if cls is None or not hasattr(cls, "test_tags"):
        return None
    return cls(item.name)


COUNTS_KEY = pytest.StashKey[dict]()
BASELINE_KEY = pytest.StashKey[dict]()
OPEN_KEY = pytest.StashKey[dict]()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    from odoo.tests.tag_selector import TagsSelector  # noqa: PLC0415 (pytest-odoo sets Odoo up first)

    selector = TagsSelector(config.getoption("--peer-tags"))
    position_selectors = {position: TagsSelector(position) for position in POSITIONS}
    baseline_path = config.getoption("--peer-baseline")
    baseline = read_baseline(baseline_path) if baseline_path else {}
    open_path = config.getoption("--peer-open")
    open_defects = read_baseline(open_path) if open_path else {}
    kept, dropped = [], []
    counts = dict.fromkeys(POSITIONS, 0)
    for item in items:
        test = odoo_test(item)
        if test is None or not selector.check(test):
            dropped.append(item)
            continue
        position = next((p for p, sel in position_selectors.items() if sel.check(test)), "none")
        counts[position] = counts.get(position, 0) + 1
        item.user_properties.append(("odoo_position", position))
        if item.nodeid in baseline:
            item.add_marker(pytest.mark.xfail(reason=f"baseline: {baseline[item.nodeid]}", strict=False))
        elif item.nodeid in open_defects:
            item.add_marker(
                pytest.mark.xfail(
                    reason=f"OPEN DEFECT of the addon: {open_defects[item.nodeid]}", strict=False
                )
            )
        kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
    config.stash[COUNTS_KEY] = counts
    config.stash[BASELINE_KEY] = baseline
    config.stash[OPEN_KEY] = open_defects


def pytest_collection_finish(session):
    counts = session.config.stash.get(COUNTS_KEY, {})
    required = session.config.getoption("--peer-positions").split(",")
    missing = [position for position in required if not counts.get(position)]
    if missing:
        raise pytest.UsageError(
            f"no {' and no '.join(missing)} test was collected: check the test paths and --peer-tags"
        )


@pytest.fixture(scope="session", autouse=True)
def queued_stage_tasks(request):
    """With ``--peer-queued-stage-tasks``, the addon sees cron workers (see the module's docstring)."""
    if not request.config.getoption("--peer-queued-stage-tasks"):
        yield
        return
    with patch(
        "odoo.addons.sales_process_addon.models.crm_lead_stage_tasks.cron_workers_run", return_value=True
    ):
        yield


def node_ids(stats, *keys):
    return {report.nodeid for key in keys for report in stats.get(key, []) if getattr(report, "nodeid", None)}


def pytest_terminal_summary(terminalreporter, config):
    if COUNTS_KEY not in config.stash:
        return
    stats = terminalreporter.stats
    baseline = config.stash[BASELINE_KEY]
    failed = node_ids(stats, "failed", "error", "xfailed")
    ran = failed | node_ids(stats, "passed", "xpassed")
    write = terminalreporter.write_line
    terminalreporter.section("Odoo's CRM tests (peer suite)")
    write("collected: " + ", ".join(f"{n} {p}" for p, n in config.stash[COUNTS_KEY].items()))
    write(f"{len(failed & set(baseline))} failed as listed in the baseline ({len(baseline)} listed)")
    for test_id in sorted(set(baseline) & ran - failed):
        write(f"baseline test now passes (remove it from the baseline): {test_id}", yellow=True)
    for test_id in sorted(set(baseline) - ran):
        write(f"baseline test did not run (renamed or deselected?): {test_id}", yellow=True)
    open_defects = config.stash.get(OPEN_KEY, {})
    for test_id in sorted(failed & set(open_defects)):
        write(f"OPEN DEFECT of the addon (listed, to be fixed): {test_id}: {open_defects[test_id]}", red=True)
    for test_id in sorted(set(open_defects) & ran - failed):
        write(f"open defect now passes (remove it from the list): {test_id}", yellow=True)
    for test_id in sorted(failed - set(baseline) - set(open_defects)):
        write(f"NEW FAILURE (not in the baseline): {test_id}", red=True)
    out = config.getoption("--peer-failures-out")
    if out:
        lines = [f"{test_id} {baseline.get(test_id, 'TODO: reason')}" for test_id in sorted(failed)]
        pathlib.Path(out).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        write(f"failed tests written to {out}")
