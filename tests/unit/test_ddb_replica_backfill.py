"""``ddb-replica backfill`` on moto: parallel segments over 20,000 items, checkpoints, and the races with a
live stream (staged with the real handler on real stream records)."""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from replica_ops_fixtures import (
    Item,
    Lab,
    counts,
    hook_put,
    key,
    make_lab,
    refuse_writes_of,
    replica_equals_source,
    replica_item,
    replica_tables,
    seed,
    seeded_item,
)
from stream_events import REPLICA, SOURCE, dynamodb, moto_aws

from loader.ddb_replica import backfill as backfill_module
from loader.ddb_replica import settle as settle_module
from loader.ddb_replica.backfill import Backfill, Checkpoints
from loader.ddb_replica.copying import COPY_MODES
from loader.ddb_replica.scanning import default_segments
from loader.ddb_replica.tables import Connection, TableInfo
from loader.ddb_replica.writes import Tables


@pytest.fixture
def lab(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Lab]:
    with moto_aws():
        yield make_lab(tmp_path / "state", capsys)


# --- the parallel path on 20,000 items -------------------------------------------------------------


@pytest.mark.slow  # about 2 minutes: started first, beside the LocalStack tests' waits
def test_backfill_copies_20000_items_across_segments_and_verify_agrees(lab: Lab) -> None:
    seed(SOURCE, 20_000)
    code, out, err = lab.backfill("--segments", "8", "--workers", "4")
    assert (code, err) == (0, "")
    assert counts(out) == {"scanned": 20_000, "copied": 20_000, "replica": 0, "corrected": 0, "unresolved": 0}
    assert replica_equals_source()
    manifest = json.loads((lab.state_dir / "backfill.json").read_text())
    assert manifest["total_segments"] == 8
    segments = [json.loads(path.read_text()) for path in sorted(lab.state_dir.glob("segment-*.json"))]
    assert len(segments) == 8 and all(segment["done"] for segment in segments)
    assert sum(segment["scanned"] for segment in segments) == 20_000
    assert all(segment["scanned"] > 0 for segment in segments), "every segment had a share of the keys"

    code, out, _ = lab.verify("--segments", "8")
    assert code == 0
    assert "source 20000 items, replica 20000 items" in out and "identical: yes" in out


def test_default_segments_follow_the_table_size() -> None:
    def info(items: int) -> TableInfo:
        return TableInfo(
            "t", "arn:aws:dynamodb:us-east-1:123456789012:table/t", ("PK",), ("S",), items, items * 100, None
        )

    assert [default_segments(info(n)) for n in (0, 2_000, 2_501, 20_000, 10**9)] == [1, 1, 2, 8, 32]


def test_items_already_in_the_replica_are_left_as_the_stream_wrote_them(lab: Lab) -> None:
    seed(SOURCE, 50)
    lab.stream.apply()  # these 50 went through the stream
    seed(SOURCE, 30, start=50)  # and these predate it
    lab.stream.skip_history()
    code, out, _ = lab.backfill()
    assert code == 0
    assert counts(out) == {"scanned": 80, "copied": 30, "replica": 50, "corrected": 0, "unresolved": 0}
    assert replica_equals_source()


# --- races with the live stream ---------------------------------------------------------------------


# Every copy mode (copying.py) ends in the source's state; batch may overwrite a newer stream write for a
# moment, which the chunk's settle then corrects, the conditional modes keep it.
MODES = pytest.mark.parametrize("mode", COPY_MODES)


@MODES
def test_update_applied_by_the_stream_before_the_copy_is_the_final_replica_item(
    lab: Lab, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    seed(SOURCE, 40)
    lab.stream.skip_history()
    newer = seeded_item(7) | {"text": {"S": "updated during the backfill"}}

    def update_then_stream(item: Item) -> None:
        if item["PK"] == key(7)["PK"] and replica_item(7) is None:
            dynamodb().put_item(TableName=SOURCE, Item=newer)
            lab.stream.apply()  # the mapping delivers the update before the backfill's put of the old image

    hook_put(monkeypatch, update_then_stream)
    code, out, _ = lab.backfill("--copy", mode)
    assert code == 0
    assert replica_item(7) == newer
    if mode == "batch":
        assert counts(out) | {"copied": 40, "replica": 0, "corrected": 1} == counts(out), (
            "the batch overwrote the stream's newer item, and the settle put it back"
        )
    else:
        assert counts(out) | {"copied": 39, "replica": 1, "corrected": 0} == counts(out), (
            "the conditional write saw the stream's newer item and kept it"
        )
    assert replica_equals_source()


@MODES
def test_delete_applied_by_the_stream_before_the_copy_is_not_undone(
    lab: Lab, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    seed(SOURCE, 40)
    lab.stream.skip_history()

    def delete_then_stream(item: Item) -> None:
        if item["PK"] == key(9)["PK"] and dynamodb().get_item(TableName=SOURCE, Key=key(9)).get("Item"):
            dynamodb().delete_item(TableName=SOURCE, Key=key(9))
            lab.stream.apply()  # the REMOVE reaches the replica first (nothing to delete there yet)

    hook_put(monkeypatch, delete_then_stream)
    code, out, _ = lab.backfill("--copy", mode)
    assert code == 0
    assert replica_item(9) is None, "the scanned image of a deleted item was put back"
    assert counts(out)["corrected"] == 1
    assert replica_equals_source()


@MODES
def test_changes_delivered_after_the_copy_end_in_the_source_state(
    lab: Lab, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    seed(SOURCE, 40)
    lab.stream.skip_history()
    changed: list[bool] = []

    def change_later(item: Item) -> None:
        if not changed:
            changed.append(True)
            client = dynamodb()
            client.put_item(TableName=SOURCE, Item=seeded_item(30) | {"n": {"N": "-1"}})
            client.delete_item(TableName=SOURCE, Key=key(31))
            client.put_item(TableName=SOURCE, Item=seeded_item(999))  # a new item, after the scan

    hook_put(monkeypatch, change_later)
    assert lab.backfill("--copy", mode)[0] == 0
    lab.stream.apply()  # the mapping catches up afterwards
    assert replica_equals_source()
    assert replica_item(30) == seeded_item(30) | {"n": {"N": "-1"}} and replica_item(31) is None


# --- checkpoints -------------------------------------------------------------------------------------


def test_interrupted_run_resumes_after_the_last_completed_page(lab: Lab) -> None:
    seed(SOURCE, 600)
    checkpoints = Checkpoints(lab.state_dir, SOURCE, REPLICA)
    first = Backfill(replica_tables(threads=4), checkpoints, workers=2, page_size=50)
    pages_done: list[int] = []

    def stop_after_three_pages(count: int) -> None:
        pages_done.append(count)
        if len(pages_done) >= 3:
            first.stop.set()

    first.on_items = stop_after_three_pages
    states = first.run(checkpoints.start(3))
    assert not all(state.done for state in states)
    copied_first = sum(state.copied for state in states)
    assert 0 < copied_first < 600

    code, out, _ = lab.backfill("--resume", "--page-size", "50")
    assert code == 0
    figures = counts(out)
    assert figures["scanned"] == 600 and figures["copied"] == 600, "each item copied once over both runs"
    assert figures["replica"] == 0, "no page was read twice"
    assert replica_equals_source()


@MODES
def test_crash_between_copy_and_check_is_checked_on_resume(
    lab: Lab, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    """The pending keys of a page are settled first on resume: a delete that raced the copy still wins."""
    seed(SOURCE, 20)
    lab.stream.skip_history()

    def delete_then_stream(item: Item) -> None:
        if item["PK"] == key(4)["PK"] and dynamodb().get_item(TableName=SOURCE, Key=key(4)).get("Item"):
            dynamodb().delete_item(TableName=SOURCE, Key=key(4))
            lab.stream.apply()

    def crash(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("power cut")

    hook_put(monkeypatch, delete_then_stream)
    with monkeypatch.context() as patch:
        patch.setattr(backfill_module, "settle", crash)
        code, _, err = lab.backfill("--copy", mode)
    assert code == 3 and "power cut" in err and "--resume" in err
    assert replica_item(4) is not None, "copied after the REMOVE, and the check never ran"
    pending = json.loads((lab.state_dir / "segment-00000.json").read_text())["pending"]
    assert {"PK": {"S": "item#000004"}} in pending

    code, out, _ = lab.backfill("--resume")
    assert code == 0 and counts(out)["corrected"] == 1
    assert replica_item(4) is None
    assert replica_equals_source()


@MODES
def test_a_failure_between_the_chunks_of_a_page_resumes_at_the_chunk(
    lab: Lab, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    """A page of 250 keys is copied and settled 100 keys at a time, each with its checkpoint."""
    seed(SOURCE, 250)
    settled: list[int] = []
    original = settle_module.settle

    def fail_on_the_second_chunk(tables: Tables, keys: Any, **kwargs: Any) -> Any:
        settled.append(len(keys))
        if len(settled) == 2:
            raise RuntimeError("power cut")
        return original(tables, keys, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(backfill_module, "settle", fail_on_the_second_chunk)
        code, _, err = lab.backfill("--copy", mode)
    assert code == 3 and "power cut" in err and settled == [100, 100]
    segment = json.loads((lab.state_dir / "segment-00000.json").read_text())
    assert (segment["scanned"], segment["copied"], len(segment["pending"])) == (100, 100, 100)
    assert segment["last_key"] is not None and not segment["done"]

    code, out, _ = lab.backfill("--resume")
    figures = counts(out)
    assert code == 0 and figures["scanned"] == 250, "no chunk scanned twice"
    # the second chunk was copied before the failure: its keys are found in place on resume
    assert (figures["copied"], figures["replica"], figures["corrected"]) == (150, 100, 0)
    assert replica_equals_source()


def test_a_resume_after_the_refusals_were_fixed_goes_on(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    seed(SOURCE, 40)
    with monkeypatch.context() as patch:
        for number in range(40):
            refuse_writes_of(patch, number)
        code, _, err = lab.backfill("--max-refused", "5", "--page-size", "4")
    assert code == 3 and "more than --max-refused 5" in err
    # the replica takes them now: the resume settles the refused keys of the last page and copies the rest
    code, out, err = lab.backfill("--resume", "--max-refused", "5", "--page-size", "4")
    assert code == 1, err  # the keys refused before the fix stay listed: verify --repair settles them
    assert counts(out)["scanned"] == 40 and "unresolved: PK=item#" in err
    assert lab.verify("--repair")[0] == 0 and replica_equals_source()


def test_resume_needs_matching_checkpoints(lab: Lab) -> None:
    code, _, err = lab.backfill("--resume")
    assert code == 2 and "nothing to resume" in err and str(lab.state_dir) in err

    seed(SOURCE, 10)
    assert lab.backfill("--segments", "2")[0] == 0
    code, _, err = lab.backfill("--resume", "--segments", "3")
    assert code == 2 and "--segments 2" in err

    code, _, err = lab.run(
        "backfill", "--source", REPLICA, "--replica", SOURCE, "--state-dir", str(lab.state_dir), "--resume"
    )
    assert code == 2 and f"backfill of {SOURCE} -> {REPLICA}" in err


def test_a_resumed_run_keeps_its_copy_mode(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    seed(SOURCE, 10)

    def crash(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("power cut")

    with monkeypatch.context() as patch:
        patch.setattr(backfill_module, "settle", crash)
        assert lab.backfill("--copy", "transact")[0] == 3
    manifest = json.loads((lab.state_dir / "backfill.json").read_text())
    assert manifest["copy"] == "transact"
    code, _, err = lab.backfill("--resume", "--copy", "batch")
    assert code == 2 and "was started with --copy transact; resume with the same (or drop --copy)" in err
    code, out, _ = lab.backfill("--resume")
    assert code == 0 and "--copy transact" in out and replica_equals_source()


def test_a_run_started_before_the_copy_modes_resumes_with_conditional_puts(lab: Lab) -> None:
    seed(SOURCE, 10)
    checkpoints = Checkpoints(lab.state_dir, SOURCE, REPLICA)
    checkpoints.start(1)
    manifest = json.loads(checkpoints.manifest.read_text())
    del manifest["copy"]  # as an earlier version wrote it
    checkpoints.manifest.write_text(json.dumps(manifest))
    code, out, _ = lab.backfill("--resume")
    assert code == 0 and "--copy item" in out and counts(out)["copied"] == 10


def test_finished_run_resumed_does_nothing_more(lab: Lab) -> None:
    seed(SOURCE, 10)
    assert lab.backfill()[0] == 0
    code, out, _ = lab.backfill("--resume")
    assert code == 0 and counts(out)["copied"] == 10  # the figures of the finished run, nothing new
    assert replica_equals_source()


@pytest.mark.parametrize(("mode", "units"), [("batch", [30]), ("transact", [60]), ("item", [1] * 30)])
def test_max_wcu_charges_the_write_units_of_each_copy(lab: Lab, mode: str, units: list[int]) -> None:
    """One unit per small item, charged per chunk of up to 100 keys (per put with --copy item), twice that
    in a transaction."""
    seed(SOURCE, 30)
    charged: list[float] = []
    waited: list[bool] = []

    class Meter:
        def acquire(self, units: float, wait: bool = True) -> None:
            charged.append(units)
            waited.append(wait)

    tables = replica_tables(threads=4)
    tables.limiter = Meter()  # type: ignore[assignment]
    checkpoints = Checkpoints(lab.state_dir, SOURCE, REPLICA)
    Backfill(tables, checkpoints, workers=1, copy_mode=mode).run(checkpoints.start(1))
    assert charged == units
    big = seeded_item(1) | {"blob": {"B": b"x" * 3000}}
    dynamodb().put_item(TableName=SOURCE, Item=big)  # 4 KB: 4 units per write
    charged.clear()
    Backfill(tables, checkpoints, workers=1, copy_mode=mode).run(checkpoints.start(1))
    # items already in the replica cost no write; the one that changed is corrected by the settle (4 units),
    # charged without waiting: the copy's charge waited before it
    assert charged == [4] and waited[-1] is False
    assert replica_item(1) == big


@pytest.mark.parametrize(
    ("mode", "calls"),
    [("batch", {"BatchWriteItem": 5}), ("transact", {"TransactWriteItems": 2}), ("item", {"PutItem": 120})],
)
def test_second_run_over_a_replicated_table_writes_nothing(
    lab: Lab, monkeypatch: pytest.MonkeyPatch, mode: str, calls: dict[str, int]
) -> None:
    """The write calls of each mode (batch: 5 for 120 items, 0.04 per item), then none on a second run."""
    seed(SOURCE, 120)
    writes: list[str] = []
    original = Connection.client

    def counting(self: Connection, threads: int, target: Any = None) -> Any:
        return _counting(original(self, threads, target), writes)

    monkeypatch.setattr(Connection, "client", counting)
    assert lab.backfill("--copy", mode)[0] == 0
    assert Counter(writes) == calls, "the hook sees the first run's writes"
    writes.clear()

    code, out, _ = lab.backfill("--copy", mode)
    assert code == 0
    assert counts(out) == {"scanned": 120, "copied": 0, "replica": 120, "corrected": 0, "unresolved": 0}
    assert writes == []


def _counting(client: Any, writes: list[str]) -> Any:
    """Record the name of every write call the client makes."""
    for operation in ("PutItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"):
        client.meta.events.register(
            f"before-call.dynamodb.{operation}", lambda name=operation, **kwargs: writes.append(name)
        )
    return client
