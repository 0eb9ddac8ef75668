"""Shared test settings: fake credentials and a fixed region, so no test can reach a real AWS account;
the run's LocalStack for the tests that need one; and the suite's clock and budget (tests/suite_timing.py).

`make test` runs the tests in parallel workers (pytest-xdist). Hooks that look at the whole run act in
the controller only: the process without ``config.workerinput``."""

from __future__ import annotations

import os
import sys
import time
import uuid
from collections.abc import Generator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
from e2e import release_localstack, share_localstack  # noqa: E402
from suite_timing import (  # noqa: E402
    BUDGET_NODEID,
    CPU_PROPERTY,
    STARTED_ENV,
    SuiteClock,
    budget_verdict,
    cpu_seconds,
    make_test_started,
)

# moto 5 with botocore >= 1.44: streams calls made by ARN go to an account-specific host that
# in-process moto does not match; "disabled" keeps the regional endpoint.
os.environ.setdefault("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_SESSION_TOKEN", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_REGION", "us-east-1")

# Not exported: unit tests rely on moto intercepting the default AWS endpoints.
LOCALSTACK_ENDPOINT = os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
RUN_ID_ENV = "DDB_REPLICA_TEST_RUN"  # one id per run, inherited by the parallel workers

_clock = SuiteClock()
_cpu_mark = [0.0]  # this process's CPU when its last test phase ended (or its next test began)
_imported = time.time()  # conftest import: before collection and before the workers start
_WALL = pytest.StashKey[float]()
_BEFORE = pytest.StashKey[float | None]()
_BUDGET = pytest.StashKey[float]()


def _is_controller(config: pytest.Config) -> bool:
    return not hasattr(config, "workerinput")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "suite_budget_seconds",
        "wall-time budget of `make test` (lint and pytest) in seconds; see tests/suite_timing.py",
    )


# Terraform, OpenTofu and the AWS provider are Go programs, and the suite is CPU-bound on 2 cores: with Go's
# collector at GOGC=400 instead of 100, the replication module's `terraform test` (94 runs) took 95.9 s of
# CPU instead of 127.4 s, at 646 MB instead of 491 MB at most (measured with /usr/bin/time, one after the
# other on a quiet machine). Every Terraform the tests start inherits it; a value the caller set wins.
GO_GC_PERCENT = "400"


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("GOGC", GO_GC_PERCENT)
    if _is_controller(config):
        os.environ.setdefault(RUN_ID_ENV, uuid.uuid4().hex)  # set before the workers start


def pytest_unconfigure(config: pytest.Config) -> None:
    """Also here, for runs that end before sessionfinish (it stops only what this run started, once)."""
    if _is_controller(config):
        release_localstack(LOCALSTACK_ENDPOINT, os.environ[RUN_ID_ENV])


@pytest.fixture(scope="session")
def localstack() -> str:
    """The LocalStack endpoint: a running one is used and left alone; otherwise the first worker that needs
    one starts it, every worker of the run shares it, and it is stopped when the run ends."""
    share_localstack(LOCALSTACK_ENDPOINT, os.environ[RUN_ID_ENV])
    return LOCALSTACK_ENDPOINT


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``slow`` first (xdist hands out work in collection order): they overlap the LocalStack
    tests, which mostly wait, instead of running alone at the end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


# --- the suite's clock and budget -----------------------------------------------------------------------


def pytest_runtest_logstart(nodeid: str, location: tuple[str, int | None, str]) -> None:
    _cpu_mark[0] = cpu_seconds()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Each report (setup, call, teardown) carries the CPU its phase used, measured where it ran."""
    report: pytest.TestReport = yield
    now = cpu_seconds()
    report.user_properties.append((CPU_PROPERTY, now - _cpu_mark[0]))
    _cpu_mark[0] = now
    return report


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.nodeid != BUDGET_NODEID:
        cpu = next((v for k, v in report.user_properties if k == CPU_PROPERTY and isinstance(v, float)), 0.0)
        _clock.add(report.nodeid, report.duration, report.start, report.stop, cpu)


@pytest.hookimpl(trylast=True)  # after xdist has stopped its workers
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Report the budget as a test of its own (it runs after every other test, in the controller)."""
    config = session.config
    if not _is_controller(config) or config.option.collectonly or exitstatus == pytest.ExitCode.INTERRUPTED:
        return
    release_localstack(LOCALSTACK_ENDPOINT, os.environ[RUN_ID_ENV])  # counted: it is part of the run
    wall = time.time() - _imported
    started = make_test_started(os.environ.get(STARTED_ENV))
    before = None if started is None else _imported - started  # make's lint, pytest's start-up
    budget = _budget(config)
    verdict = budget_verdict(wall, before, budget, _clock.slowest(10))
    config.stash[_WALL], config.stash[_BEFORE], config.stash[_BUDGET] = wall, before, budget
    now = time.time()
    report = pytest.TestReport(
        nodeid=BUDGET_NODEID,
        location=("tests/suite_timing.py", None, "test_make_test_fits_its_budget"),
        keywords={},
        outcome="failed" if verdict else "passed",
        longrepr=verdict,
        when="call",
        duration=0.0,
        start=now,
        stop=now,
    )
    session.testscollected += 1  # counted, so that the progress column ends at 100 %
    config.hook.pytest_runtest_logreport(report=report)
    if verdict:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _budget(config: pytest.Config) -> float:
    value = str(config.getini("suite_budget_seconds"))
    try:
        return float(value)
    except ValueError:
        raise pytest.UsageError(
            f"suite_budget_seconds = {value!r} in [tool.pytest.ini_options] of pyproject.toml: "
            "set it to the seconds `make test` may take"
        ) from None


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    if not _is_controller(config) or _WALL not in config.stash:
        return
    terminalreporter.section(
        "time per phase (busy: sum of test durations; cpu: their CPU, not LocalStack's; span: first start "
        "to last stop)"
    )
    for line in _clock.table(config.stash[_WALL], config.stash[_BEFORE]):
        terminalreporter.line(line)
    terminalreporter.line(f"budget: {config.stash[_BUDGET]:.0f} s (suite_budget_seconds in pyproject.toml)")
