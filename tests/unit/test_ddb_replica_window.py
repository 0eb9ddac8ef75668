"""The 24-hour window guard of ``ddb-replica backfill`` (window.py): the estimate from the table's item count,
its average item size and the tightest write budget; the refusal, which writes nothing; --force."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from replica_ops_fixtures import Lab, counts, make_lab, replica_equals_source, seed
from stream_events import REPLICA, SOURCE, dynamodb, moto_aws

from loader.ddb_replica.tables import OpsError, TableInfo, describe
from loader.ddb_replica.window import STREAM_RETENTION_SECONDS, check_window, estimate


@pytest.fixture
def lab(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Lab]:
    with moto_aws():
        yield make_lab(tmp_path / "state", capsys)


def table(items: int, size_bytes: int, write_capacity: int | None = None, name: str = "t") -> TableInfo:
    arn = f"arn:aws:dynamodb:us-east-1:123456789012:table/{name}"
    return TableInfo(name, arn, ("PK",), ("S",), items, size_bytes, None, write_capacity)


def test_the_estimate_takes_the_tightest_budget_and_the_average_item() -> None:
    source = table(1_000_000, 1_000_000 * 2_500)  # 2.5 KB on average: 3 write units per put
    assert estimate(source, table(0, 0), 1_000_000, None, "batch").seconds is None, "on demand, no --max-wcu"
    provisioned = table(0, 0, write_capacity=100, name="replica")
    guess = estimate(source, provisioned, 1_000_000, 500.0, "batch")
    assert (guess.units_per_item, guess.budget, guess.seconds) == (3, 100.0, 30_000.0)
    assert "replica's 100 provisioned WCU" in guess.text()
    guess = estimate(source, provisioned, 1_000_000, 50.0, "transact")
    assert (guess.units_per_item, guess.budget, guess.seconds) == (6, 50.0, 120_000.0)
    assert estimate(table(0, 0), provisioned, 0, None, "batch").seconds == 0


def test_a_backfill_longer_than_the_stream_keeps_changes_is_refused_unless_forced() -> None:
    source = table(10_000_000, 10_000_000 * 900)
    too_slow = estimate(source, table(0, 0), 10_000_000, 100.0, "batch")  # 100,000 s
    assert too_slow.seconds is not None and too_slow.seconds > STREAM_RETENTION_SECONDS
    with pytest.raises(OpsError) as refused:
        check_window(too_slow, force=False)
    assert str(refused.value) == (
        "this backfill would take 27.8 h or more (10000000 item(s) at 1 write unit(s) each within --max-wcu "
        "100), longer than the 24 h a stream keeps its changes; raise --max-wcu or the replica's write "
        "capacity, or pass --force to run it anyway"
    )
    check_window(too_slow, force=True)
    check_window(estimate(source, table(0, 0), 10_000_000, 200.0, "batch"), force=False)  # 13.9 h


def test_describe_reads_the_provisioned_write_capacity(lab: Lab) -> None:
    dynamodb().create_table(
        TableName="provisioned",
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 7},
    )
    assert describe(dynamodb(), "provisioned").write_capacity == 7
    assert describe(dynamodb(), REPLICA).write_capacity is None  # pay per request


def test_the_cli_refuses_before_writing_anything_and_states_its_estimate(lab: Lab) -> None:
    seed(SOURCE, 100)
    code, out, err = lab.backfill("--max-wcu", "0.001")  # 100 units at 0.001 per second: 27.8 h
    assert code == 2 and err.startswith("error: this backfill would take 27.8 h or more (100 item(s)")
    assert dynamodb().scan(TableName=REPLICA)["Count"] == 0 and not lab.state_dir.exists()

    code, out, err = lab.backfill("--max-wcu", "100000")
    assert (code, err) == (0, "")
    assert "estimate: about 100 item(s) to copy at 1 write unit(s) each within --max-wcu 100000" in out
    assert counts(out)["copied"] == 100 and replica_equals_source()


def test_a_second_run_over_a_replicated_table_is_not_refused(lab: Lab) -> None:
    seed(SOURCE, 100)
    assert lab.backfill()[0] == 0
    code, out, _ = lab.backfill("--max-wcu", "0.001")  # nothing left to write, whatever the budget
    assert code == 0 and "estimate: about 0 item(s) to copy" in out and counts(out)["copied"] == 0
