"""pytest plugin for the runs whose tests drive Chromium through Odoo's
``HttpCase``: the addon's unit tests and Odoo's CRM tests, both run with the
repository's ``pytest.ini``, which loads it.

Odoo skips a browser test whose Chromium has not opened its DevTools port
within 10 s (``odoo.tests.common.BROWSER_WAIT``), and a skipped test does not
fail the run. On the 2-core machine a start once took longer (2026-12-01):
the dashboard tour was skipped and a whole run of test.sh passed without it. Here Chromium gets
60 s to start, and a browser test skipped because it did not start fails: a
tour that did not run has not passed.
"""

import os

import pytest

BROWSER_START_SECONDS = 60
NOT_STARTED = "Failed to detect chrome devtools port"


@pytest.fixture(scope="session", autouse=True)
def browser_start_wait():
    """Odoo reads these module constants each time it starts Chromium."""
    from odoo.tests import common  # noqa: PLC0415 (pytest-odoo sets Odoo up first)

    common.CHECK_BROWSER_ITERATIONS = round(BROWSER_START_SECONDS / common.CHECK_BROWSER_SLEEP)
    common.BROWSER_WAIT = BROWSER_START_SECONDS
    return BROWSER_START_SECONDS


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item):
    report = yield
    if report.skipped and NOT_STARTED in str(report.longrepr):
        report.outcome = "failed"
        report.longrepr = (
            f"{item.nodeid}: Chromium did not start within {BROWSER_START_SECONDS} s, "
            "so this browser test did not run."
        )
    return report


def pytest_collection_modifyitems(config, items):
    """``SPA_TESTS=browser`` keeps the ``HttpCase`` tests, ``SPA_TESTS=server`` the others.

    test.sh runs the addon's browser tests alone (they keep the two cores to
    themselves) and its other tests in two processes side by side.
    """
    kind = os.environ.get("SPA_TESTS")
    if kind not in ("browser", "server"):
        return
    from odoo.tests import HttpCase  # noqa: PLC0415 (pytest-odoo sets Odoo up first)

    def is_browser(item):
        return isinstance(getattr(item, "cls", None), type) and issubclass(item.cls, HttpCase)

    keep, dropped = [], []
    for item in items:
        (keep if is_browser(item) == (kind == "browser") else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
