"""The suite's own clock: where `make test` spends its time, and the budget it must fit.

CI runs `make test` on a fresh machine within 90 minutes, of which set-up takes about 45 (the AWS provider
is built from source). The rest is the budget: ``suite_budget_seconds`` in pyproject.toml, the one place it
is set. tests/conftest.py feeds every test report to a ``SuiteClock`` (in the controller when the tests run
in parallel), prints the phases at the end, and reports ``BUDGET_NODEID`` as a test of its own: it fails
when `make test`'s wall time so far (lint, pytest's start-up, the tests, stopping LocalStack) exceeds the
budget. Run without make, pytest's own wall time is checked.

On 2 cores the suite is CPU-bound: a test's wall time depends on what runs beside it, its CPU time does not.
Each process measures the CPU of every test it runs (``cpu_seconds``: itself and the programs it started and
waited for, Terraform and its providers; not LocalStack's own), and the phase table adds it up.
"""

from __future__ import annotations

import resource
from collections.abc import Iterable
from dataclasses import dataclass, field

BUDGET_NODEID = "tests/suite_timing.py::test_make_test_fits_its_budget"
STARTED_ENV = "MAKE_TEST_STARTED"  # set by `make test`: when it began, before lint (epoch seconds)
CPU_PROPERTY = "cpu_seconds"  # a report's user property: the CPU its phase (setup, call, teardown) used
PHASES = {
    "unit": "unit (moto)",
    "terraform": "Terraform",
    "localstack": "LocalStack",
    "e2e": "e2e",
}


def phase_of(nodeid: str) -> str:
    """The phase a test belongs to: its folder under tests/ (``tests/unit/test_x.py::t`` -> ``unit``)."""
    parts = nodeid.split("::", 1)[0].split("/")
    if len(parts) >= 3 and parts[0] == "tests" and parts[1] in PHASES:
        return parts[1]
    return "other"


def cpu_seconds() -> float:
    """CPU time of this process and of the children it has waited for, user and system, in seconds."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@dataclass
class PhaseTime:
    """Busy time (the sum of the phase's test durations), CPU time, and span (first start to last stop)."""

    busy: float = 0.0
    cpu: float = 0.0
    first_start: float | None = None
    last_stop: float | None = None
    tests: set[str] = field(default_factory=set)

    def add(self, nodeid: str, duration: float, start: float, stop: float, cpu: float = 0.0) -> None:
        self.busy += duration
        self.cpu += cpu
        self.tests.add(nodeid)
        self.first_start = start if self.first_start is None else min(self.first_start, start)
        self.last_stop = stop if self.last_stop is None else max(self.last_stop, stop)

    @property
    def span(self) -> float:
        if self.first_start is None or self.last_stop is None:
            return 0.0
        return self.last_stop - self.first_start


@dataclass
class SuiteClock:
    """Durations per phase and per test, from pytest's reports (setup, call and teardown)."""

    phases: dict[str, PhaseTime] = field(default_factory=dict)
    by_test: dict[str, float] = field(default_factory=dict)

    def add(self, nodeid: str, duration: float, start: float, stop: float, cpu: float = 0.0) -> None:
        self.phases.setdefault(phase_of(nodeid), PhaseTime()).add(nodeid, duration, start, stop, cpu)
        self.by_test[nodeid] = self.by_test.get(nodeid, 0.0) + duration

    def slowest(self, count: int) -> list[tuple[str, float]]:
        return sorted(self.by_test.items(), key=lambda pair: pair[1], reverse=True)[:count]

    def table(self, wall: float, before: float | None) -> list[str]:
        """The phase lines printed at the end of the run; ``before``: make's time before pytest's tests."""
        lines = [f"{'phase':<14} {'tests':>5} {'busy s':>8} {'cpu s':>8} {'span s':>8}"]
        if before is not None:
            lines.append(f"{'lint, start-up':<14} {'':>5} {before:>8.1f} {'':>8} {before:>8.1f}")
        for name in [*PHASES, "other"]:
            if name in self.phases:
                phase = self.phases[name]
                label = PHASES.get(name, name)
                figures = f"{phase.busy:>8.1f} {phase.cpu:>8.1f} {phase.span:>8.1f}"
                lines.append(f"{label:<14} {len(phase.tests):>5} {figures}")
        cpu = sum(phase.cpu for phase in self.phases.values())
        lines.append(f"{'pytest wall':<14} {len(self.by_test):>5} {'':>8} {cpu:>8.1f} {wall:>8.1f}")
        if before is not None:
            lines.append(f"{'make test':<14} {'':>5} {'':>8} {'':>8} {wall + before:>8.1f}")
        return lines


def budget_verdict(
    wall: float, before: float | None, budget: float, slowest: Iterable[tuple[str, float]]
) -> str | None:
    """None when the run fits ``budget`` seconds; otherwise the failure message, naming the slowest tests.
    ``wall``: pytest's wall time; ``before``: what `make test` spent before it (lint), if make ran it."""
    total = wall + (before or 0.0)
    if total <= budget:
        return None
    measured = f"pytest {wall:.0f} s" + (f" + lint and start-up {before:.0f} s" if before is not None else "")
    lines = [
        f"make test took {total:.0f} s ({measured}), over its budget of {budget:.0f} s "
        "(suite_budget_seconds in pyproject.toml).",
        "CI on a fresh machine spends about 45 of its 90 minutes on set-up: make the new tests cheaper "
        "(share an apply, wait less) or raise the budget only with a measurement that shows CI still fits.",
        "Slowest tests (setup + call + teardown):",
    ]
    lines += [f"  {seconds:7.1f} s  {nodeid}" for nodeid, seconds in slowest]
    return "\n".join(lines)


def make_test_started(value: str | None) -> float | None:
    """When `make test` began, from its environment (absent when pytest runs on its own)."""
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"{STARTED_ENV}={value!r} is not a time in epoch seconds") from None
