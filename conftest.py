"""pytest settings of the addon's unit tests (``sales_process_addon/tests``, run
by pytest-odoo from the repository's root): Chromium's start, see
``tests/browser_tests_plugin.py``. The integration tests in ``tests/`` have
their own root there (``tests/pytest.ini``)."""

pytest_plugins = ["tests.browser_tests_plugin"]
