"""Root conftest for every pytest run in this repository (unit, integration, molecule verifiers).

A skipped test fails the run: in `make test` a skip would hide a missing install step or an
engine that is not up, so a run that skipped anything cannot pass.
"""

import pytest


def pytest_sessionfinish(session, exitstatus):
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped and exitstatus == pytest.ExitCode.OK:
        reporter.write_line(f"{len(skipped)} test(s) skipped: a skip fails the run (see conftest.py)", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
