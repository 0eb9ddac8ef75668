"""The suite's clock and budget (tests/suite_timing.py): phases, the verdict, and the lint time from make."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from suite_timing import SuiteClock, budget_verdict, cpu_seconds, make_test_started, phase_of


@pytest.mark.parametrize(
    ("nodeid", "phase"),
    [
        ("tests/unit/test_loader_cli.py::test_missing_file", "unit"),
        ("tests/terraform/test_apply.py::test_second_plan_is_empty[opentofu]", "terraform"),
        ("tests/localstack/test_executor.py::test_timeout", "localstack"),
        ("tests/e2e/test_e2e.py::test_lab_on_a_slice_is_idempotent_with_keep_then_destroys", "e2e"),
        ("tests/suite_timing.py::test_make_test_fits_its_budget", "other"),
    ],
)
def test_each_test_belongs_to_the_phase_of_its_folder(nodeid: str, phase: str) -> None:
    assert phase_of(nodeid) == phase


def test_phases_add_busy_time_and_span_from_setup_call_and_teardown() -> None:
    clock = SuiteClock()
    clock.add("tests/e2e/test_e2e.py::a", 2.0, start=100.0, stop=102.0, cpu=0.5)  # setup
    clock.add("tests/e2e/test_e2e.py::a", 30.0, start=102.0, stop=132.0, cpu=4.0)  # call
    clock.add("tests/e2e/test_e2e.py::b", 10.0, start=110.0, stop=120.0, cpu=2.25)  # in parallel with a
    clock.add("tests/unit/test_x.py::c", 1.5, start=101.0, stop=102.5)

    e2e = clock.phases["e2e"]
    assert (e2e.busy, e2e.cpu, e2e.span, len(e2e.tests)) == (42.0, 6.75, 32.0, 2)
    assert clock.slowest(2) == [("tests/e2e/test_e2e.py::a", 32.0), ("tests/e2e/test_e2e.py::b", 10.0)]
    table = "\n".join(clock.table(wall=40.0, before=12.5))
    assert "lint, start-up" in table and "e2e" in table and "unit (moto)" in table
    assert "52.5" in table  # make test = lint + pytest wall
    assert "6.8" in table  # the CPU of the e2e phase


def test_the_cpu_of_a_process_counts_the_children_it_waited_for() -> None:
    before = cpu_seconds()
    subprocess.run([sys.executable, "-c", "sum(range(3_000_000))"], check=True)
    assert cpu_seconds() - before > 0.01


def test_a_run_within_the_budget_passes_even_at_the_limit() -> None:
    assert budget_verdict(wall=800.0, before=100.0, budget=900.0, slowest=[]) is None
    assert budget_verdict(wall=899.0, before=None, budget=900.0, slowest=[]) is None


def test_a_run_over_the_budget_fails_naming_the_time_and_the_slowest_tests() -> None:
    verdict = budget_verdict(
        wall=850.0, before=60.5, budget=900.0, slowest=[("tests/e2e/test_e2e.py::test_lab", 400.0)]
    )
    assert verdict is not None
    assert "make test took 910 s (pytest 850 s + lint and start-up 60 s), over its budget of 900 s" in verdict
    assert "suite_budget_seconds in pyproject.toml" in verdict
    assert "400.0 s  tests/e2e/test_e2e.py::test_lab" in verdict


def test_the_start_of_make_test_comes_from_make_or_is_absent() -> None:
    assert make_test_started(None) is None
    assert make_test_started("") is None
    assert make_test_started("1796131700.374586") == 1796131700.374586
    with pytest.raises(ValueError, match="MAKE_TEST_STARTED='soon' is not a time in epoch seconds"):
        make_test_started("soon")
