"""The serverless backfill's function and checkpoints on moto: a run in slices of invocations, a worker
killed mid-chunk, the segment lease, the write budget split, and what the function refuses to do. The state
machine and ``backfill --serverless`` run on LocalStack (tests/localstack/test_serverless_backfill.py)."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from botocore.exceptions import ClientError
from replica_ops_fixtures import (
    Item,
    Lab,
    hook_put,
    key,
    make_lab,
    refuse_writes_of,
    replica_equals_source,
    replica_item,
    seed,
)
from stream_events import REPLICA, SOURCE, create_table, dynamodb, moto_aws

from loader.ddb_replica import backfill as backfill_module
from loader.ddb_replica import cli, serverless
from loader.ddb_replica.backfill import Backfill, SegmentState, TooManyRefusedError
from loader.ddb_replica.backfill_function import run_segment, working_seconds
from loader.ddb_replica.segment_store import LeaseLostError, SegmentBusyError, TableCheckpoints
from loader.ddb_replica.tables import Connection, OpsError
from loader.ddb_replica.writes import Tables
from loader.load_logfile import Console

CHECKPOINTS = "logfile_replica-backfill-checkpoints"
RUN = "bf-test"


@dataclass
class Invocation:
    """Lambda's context: a request id, and the time left."""

    aws_request_id: str
    remaining_ms: int = 900_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@dataclass
class Function:
    """The backfill function as the state machine invokes it, with the module's environment."""

    environ: dict[str, str]
    invocations: int = 0

    def invoke(
        self, segment: int, remaining_ms: int = 900_000, run: str = RUN, execution: str | None = None
    ) -> dict[str, Any]:
        self.invocations += 1
        context = Invocation(f"request-{self.invocations}", remaining_ms)
        event = {"run": run, "segment": segment} | ({"execution": execution} if execution else {})
        return run_segment(event, context, self.environ)

    def until_done(self, segment: int) -> int:
        """Invoke for ``segment`` until it answers done (the state machine's loop); the invocations."""
        for count in range(1, 1000):
            if self.invoke(segment)["done"]:
                return count
        raise AssertionError("the segment never finished")


def store(owner: str | None = None, clock: Any = time.time) -> TableCheckpoints:
    return TableCheckpoints(dynamodb(), CHECKPOINTS, RUN, owner=owner, clock=clock)


def start_run(segments: int, **manifest: Any) -> list[SegmentState]:
    """What backfill --serverless writes before it starts the execution."""
    document = {
        "source": SOURCE,
        "replica": REPLICA,
        "target": REPLICA,
        "key_names": ["PK"],
        "copy": "batch",
        "max_wcu": None,
        "page_size": 100,
        "max_refused": 100,
        "started": "2026-12-02T00:00:00Z",
    }
    return store().start(document | manifest, segments)


def create_checkpoint_table() -> None:
    create_table(CHECKPOINTS, keys=(("run", "S"), ("segment", "N")))


@pytest.fixture
def lab(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Lab]:
    with moto_aws():
        lab = make_lab(tmp_path / "state", capsys)
        create_checkpoint_table()
        yield lab


@pytest.fixture
def function(lab: Lab) -> Function:
    source_arn = dynamodb().describe_table(TableName=SOURCE)["Table"]["TableArn"]
    return Function(
        {
            "CHECKPOINT_TABLE": CHECKPOINTS,
            "SOURCE_TABLE_ARN": source_arn,
            "REPLICA_TABLE": REPLICA,
            "MAX_CONCURRENCY": "4",
        }
    )


def stop_after_chunks(monkeypatch: pytest.MonkeyPatch, chunks: int) -> None:
    """Each invocation's time is up after ``chunks`` chunks (the timer of a short invocation, made exact)."""
    original = Backfill._chunk
    done: dict[int, int] = {}

    def chunk(self: Backfill, *args: Any) -> None:
        original(self, *args)
        done[id(self)] = done.get(id(self), 0) + 1
        if done[id(self)] >= chunks:
            self.stop.set()

    monkeypatch.setattr(Backfill, "_chunk", chunk)


def row(segment: int) -> dict[str, Any]:
    item: dict[str, Any] = dynamodb().get_item(
        TableName=CHECKPOINTS, Key={"run": {"S": RUN}, "segment": {"N": str(segment)}}
    )["Item"]
    return item


# --- a run in slices --------------------------------------------------------------------------------


def test_a_run_in_slices_of_invocations_copies_every_item_once(
    lab: Lab, function: Function, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(SOURCE, 500)
    lab.stream.skip_history()
    start_run(2)
    stop_after_chunks(monkeypatch, 1)
    invocations = [function.until_done(segment) for segment in (0, 1)]
    assert all(count >= 3 for count in invocations), f"each segment took several invocations: {invocations}"
    states = store().states()
    assert all(state.done and not state.pending for state in states)
    assert sum(state.scanned for state in states) == 500, "no chunk was read twice across invocations"
    assert sum(state.copied for state in states) == 500
    assert all("owner" not in row(segment) for segment in (0, 1)), "every invocation gave its lease up"
    assert replica_equals_source()


def test_a_done_segment_answers_done_at_once(lab: Lab, function: Function) -> None:
    seed(SOURCE, 30)
    lab.stream.skip_history()
    start_run(1)
    done = {"run": RUN, "segment": 0, "execution": None, "done": True, "handed_over": False}
    done |= {"scanned": 30, "copied": 30}
    assert function.invoke(0) == done
    assert function.invoke(0)["scanned"] == 30, "nothing read again"


def test_the_invocation_stops_starting_chunks_before_its_time_is_up() -> None:
    assert working_seconds(900) == 780
    assert working_seconds(30) == 20


# --- a worker killed mid-chunk ------------------------------------------------------------------------


class Killed(BaseException):
    """The Lambda sandbox is gone (timeout, out of memory): nothing of the invocation runs on."""


def test_a_worker_killed_between_copy_and_settle_loses_nothing_and_revives_nothing(
    lab: Lab, function: Function, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(SOURCE, 20)
    lab.stream.skip_history()
    start_run(1)

    def delete_then_stream(item: Item) -> None:
        if item["PK"] == key(4)["PK"] and dynamodb().get_item(TableName=SOURCE, Key=key(4)).get("Item"):
            dynamodb().delete_item(TableName=SOURCE, Key=key(4))
            lab.stream.apply()  # the REMOVE reaches the replica before the copy's put

    def kill(*args: Any, **kwargs: Any) -> Any:
        raise Killed

    hook_put(monkeypatch, delete_then_stream)
    with monkeypatch.context() as patch, pytest.raises(Killed):
        patch.setattr(backfill_module, "settle", kill)
        function.invoke(0, remaining_ms=5_000)
    assert replica_item(4) is not None, "the copy put the deleted item back, and no settle ran"
    assert {"PK": {"S": "item#000004"}} in json.loads(row(0)["document"]["S"])["pending"]

    with pytest.raises(SegmentBusyError, match="request-1"):
        function.invoke(0, remaining_ms=1_500)  # the killed one's lease lasts until its timeout: 5 s
    assert function.until_done(0) == 1, "the next invocation waited for the lease to end"
    assert replica_item(4) is None, "the pending keys were settled first"
    state = store().states()[0]
    # The killed chunk is read again (its checkpoint was never saved): its items are in the replica by now, so
    # nothing is copied twice; the killed invocation's copies are not counted (its tally died with it).
    assert (state.scanned, state.copied, state.present, state.corrected) == (19, 0, 19, 1)
    assert replica_equals_source()


# --- the lease ------------------------------------------------------------------------------------------


def test_a_segment_is_worked_on_by_one_invocation_at_a_time(lab: Lab) -> None:
    start_run(2)
    now = [1_000.0]
    first, second = store("first", lambda: now[0]), store("second", lambda: now[0])
    state = first.acquire(0, until_ms=1_060_000)
    assert second.acquire(1, until_ms=1_060_000).segment == 1, "other segments are free"
    with pytest.raises(SegmentBusyError, match=r"held by invocation first for 60 s more"):
        second.acquire(0, until_ms=1_060_000)
    first.save(state)  # the holder saves
    first.release(state)
    assert second.acquire(0, until_ms=1_060_000).segment == 0, "released: the next invocation starts at once"


def test_an_invocation_whose_lease_passed_on_cannot_save(lab: Lab) -> None:
    start_run(1)
    now = [1_000.0]
    first, second = store("first", lambda: now[0]), store("second", lambda: now[0])
    state = first.acquire(0, until_ms=1_010_000)
    now[0] = 1_011.0  # past the first invocation's timeout
    second.acquire(0, until_ms=1_100_000)
    state.scanned = 99
    with pytest.raises(LeaseLostError):
        first.save(state)
    assert json.loads(row(0)["document"]["S"])["scanned"] == 0


def test_an_invocation_of_a_stopped_or_replaced_execution_hands_its_segment_over(
    lab: Lab, function: Function, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(SOURCE, 500)
    lab.stream.skip_history()
    start_run(1)
    store().hand_over("execution-1")

    def resumed_elsewhere(item: Item) -> None:
        if store().current_execution() == "execution-1":
            store().hand_over("execution-2")  # backfill --resume started another execution

    with monkeypatch.context() as patch:
        hook_put(patch, resumed_elsewhere)  # during the first chunk's copy
        result = function.invoke(0, execution="execution-1")
    assert (result["done"], result["handed_over"], result["scanned"]) == (False, False, 100), (
        "the chunk in progress was finished, then the segment handed over"
    )
    assert "owner" not in row(0), "the segment was given up at once"
    stale = function.invoke(0, execution="execution-1")
    assert (stale["scanned"], stale["handed_over"]) == (100, True), (
        "a replaced execution does nothing, and ends"
    )
    store().hand_over(None)  # Ctrl-C
    assert function.invoke(0, execution="execution-2")["handed_over"], "a stopped run: nothing either"
    store().hand_over("execution-2")
    assert function.invoke(0, execution="execution-2") | {"run": RUN} == {
        "run": RUN,
        "segment": 0,
        "execution": "execution-2",
        "done": True,
        "handed_over": False,
        "scanned": 500,
        "copied": 500,
    }
    assert replica_equals_source()


def test_a_run_id_is_started_once(lab: Lab) -> None:
    start_run(1)
    with pytest.raises(OpsError, match="exists already"):
        start_run(1)


def test_an_unknown_run_or_segment_is_named(lab: Lab) -> None:
    with pytest.raises(OpsError, match=f"no backfill run 'other'.*{CHECKPOINTS}|{CHECKPOINTS}.*'other'"):
        TableCheckpoints(dynamodb(), CHECKPOINTS, "other").manifest()
    start_run(1)
    with pytest.raises(OpsError, match="has no segment 5"):
        store("first").acquire(5, until_ms=int(time.time() * 1000) + 60_000)


# --- what the function does with its run ---------------------------------------------------------------


@pytest.mark.parametrize(("max_wcu", "segments", "rate"), [(80.0, 8, 20.0), (80.0, 2, 40.0), (None, 8, None)])
def test_the_write_budget_is_split_between_the_segments_that_run_at_once(
    lab: Lab, function: Function, max_wcu: float | None, segments: int, rate: float | None
) -> None:
    from loader.ddb_replica.backfill_function import _tables

    manifest = {"source": SOURCE, "target": REPLICA, "key_names": ["PK"], "max_wcu": max_wcu}
    tables = _tables(manifest | {"total_segments": segments}, function.environ, Connection(None, None))
    assert (tables.limiter.rate if tables.limiter else None) == rate, "MAX_CONCURRENCY 4"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"target": "analytics"}, "target 'analytics' is not one of this function's: logfile_replica"),
        ({"source": "orders"}, "source orders is not this function's source table logfile"),
    ],
)
def test_the_function_copies_only_from_its_source_to_its_targets(
    lab: Lab, function: Function, change: dict[str, str], message: str
) -> None:
    start_run(1, **change)
    with pytest.raises(OpsError, match=message):
        function.invoke(0)


@pytest.mark.parametrize("event", [{"run": RUN}, {"run": RUN, "segment": "0"}, {"segment": 0}])
def test_an_event_without_its_run_or_segment_is_refused(function: Function, event: dict[str, Any]) -> None:
    with pytest.raises(OpsError, match=r"event: (run|segment) must be"):
        run_segment(event, Invocation("request"), function.environ)


def test_the_refused_keys_of_every_segment_count_toward_the_limit(
    lab: Lab, function: Function, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(SOURCE, 40)
    lab.stream.skip_history()
    start_run(2, max_refused=1)
    earlier = store("earlier")
    state = earlier.acquire(0, until_ms=int(time.time() * 1000) + 60_000)
    state.refused = {"an earlier key": "ValidationException: ..."}
    earlier.release(state)
    in_segment_1 = dynamodb().scan(TableName=SOURCE, Segment=1, TotalSegments=2, Limit=1)["Items"][0]
    refuse_writes_of(monkeypatch, int(in_segment_1["n"]["N"]))
    with pytest.raises(TooManyRefusedError, match="refused the writes of 2 keys"):
        function.invoke(1)


# --- faults of a run ------------------------------------------------------------------------------------


def test_a_failed_invocation_gives_its_segment_up_at_once(
    lab: Lab, function: Function, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(SOURCE, 30)
    lab.stream.skip_history()
    start_run(1)

    def denied(*args: Any, **kwargs: Any) -> Any:
        error: Any = {"Error": {"Code": "AccessDeniedException", "Message": "no"}}
        raise ClientError(error, "BatchWriteItem")

    with monkeypatch.context() as patch, pytest.raises(ClientError):
        patch.setattr(backfill_module, "copy_missing", denied)
        function.invoke(0)
    assert "owner" not in row(0), "the state machine's retry need not wait for the lease to run out"
    saved = json.loads(row(0)["document"]["S"])
    assert saved["pending"] and saved["copied"] == 0, "the last save stands: the chunk's keys pending"
    assert function.until_done(0) == 1
    assert replica_equals_source()


def test_an_interrupted_start_is_completed_on_resume(lab: Lab) -> None:
    start_run(3)
    for segment in (1, 2):  # Ctrl-C while the first states were written
        dynamodb().delete_item(TableName=CHECKPOINTS, Key={"run": {"S": RUN}, "segment": {"N": str(segment)}})
    owner = store("earlier")
    state = owner.acquire(0, until_ms=int(time.time() * 1000) + 60_000)
    state.scanned = 7
    owner.release(state)
    store().fill_missing(3)
    assert [(state.segment, state.scanned, state.done) for state in store().states()] == [
        (0, 7, False),
        (1, 0, False),
        (2, 0, False),
    ]


def test_a_resume_replaces_the_runs_limits_and_keeps_its_owner(lab: Lab) -> None:
    start_run(1)
    store().hand_over("execution-1")
    manifest = store().update_manifest({"max_refused": 500, "max_wcu": 40.0})
    assert (manifest["max_refused"], manifest["max_wcu"], manifest["copy"]) == (500, 40.0, "batch")
    assert store().manifest() == manifest
    assert store().current_execution() == "execution-1"


def test_a_checkpoint_too_large_for_an_item_stops_with_a_clear_error(lab: Lab) -> None:
    start_run(1)
    owner = store("first")
    state = owner.acquire(0, until_ms=int(time.time() * 1000) + 60_000)
    state.unresolved = [{"PK": {"S": f"item#{number:06d}" + "x" * 100}} for number in range(4_000)]
    with pytest.raises(
        OpsError, match=r"segment 0 of run bf-test: its checkpoint would be \d+ KB.*4000 unresolved"
    ):
        owner.save(state)


# --- the CLI's report of an execution -------------------------------------------------------------------

FAILED_SEGMENT = [{"segment": 0, "done": True}, {"segment": 1, "error": {"Error": "OpsError", "Cause": "no"}}]


@pytest.mark.parametrize(
    ("status", "output", "second_done", "code", "said"),
    [
        ("SUCCEEDED", [{"segment": 0, "done": True}, {"segment": 1, "done": True}], True, 0, []),
        ("ABORTED", None, False, 130, ["execution stopped; rerun with --serverless --resume (run bf-test)"]),
        (
            "FAILED",
            None,
            False,
            3,
            ["segment 1: not done when the execution ended (FAILED)", "execution FAILED"],
        ),
        (
            "SUCCEEDED",
            FAILED_SEGMENT,
            False,
            3,
            ["segment 1: OpsError: no; checkpoint: 40 scanned, resumes after PK=item#000039"],
        ),
    ],
)
def test_the_execution_outcome_decides_the_exit_code(
    status: str,
    output: Any,
    second_done: bool,
    code: int,
    said: list[str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    states = [
        SegmentState(0, 2, done=True, scanned=50),
        SegmentState(1, 2, last_key={"PK": {"S": "item#000039"}}, scanned=40, done=second_done),
    ]
    description: dict[str, Any] = {"status": status, "error": "States.Runtime"}
    if output is not None:
        description["output"] = json.dumps(output)
    tables = Tables(cast(Any, None), SOURCE, REPLICA, ("PK",))
    console = Console(sys.stdout, sys.stderr, quiet=True)
    assert cli.serverless_outcome(description, states, RUN, tables, console, 0) == code
    err = capsys.readouterr().err
    assert all(text in err for text in said), err
    assert (err == "") == (code == 0), err


# --- the CLI's side -------------------------------------------------------------------------------------


def test_segment_failures_come_from_the_map_results() -> None:
    cause = json.dumps({"errorMessage": "the replica refused the writes of 101 keys", "errorType": "X"})
    output = [
        {"run": RUN, "segment": 0, "done": True, "scanned": 10, "copied": 10},
        {"run": RUN, "segment": 1, "error": {"Error": "TooManyRefusedError", "Cause": cause}},
        {"run": RUN, "segment": 2, "error": {"Error": "Lambda.ResourceNotFoundException", "Cause": "no fn"}},
    ]
    assert serverless.segment_failures({"output": json.dumps(output)}) == {
        1: "TooManyRefusedError: the replica refused the writes of 101 keys",
        2: "Lambda.ResourceNotFoundException: no fn",
    }
    assert serverless.segment_failures({"status": "ABORTED"}) == {}


def test_the_backend_comes_from_the_module_output_or_the_flags(tmp_path: Path) -> None:
    arn = "arn:aws:states:eu-west-1:123456789012:stateMachine:logfile_replica-backfill"
    output = tmp_path / "backfill.json"
    value = {"state_machine_arn": arn, "checkpoint_table_name": CHECKPOINTS, "max_concurrency": 8}
    output.write_text(json.dumps({"sensitive": False, "type": ["object", {}], "value": value}))
    assert serverless.backend_from(output, None, None) == serverless.Backend(arn, CHECKPOINTS)
    assert serverless.backend_from(None, arn, CHECKPOINTS).region == "eu-west-1"
    output.write_text("null")
    with pytest.raises(OpsError, match=r"not the module's backfill output.*backfill_mode = \"serverless\""):
        serverless.backend_from(output, None, None)
    with pytest.raises(OpsError, match="--backfill-json FILE"):
        serverless.backend_from(None, arn, None)
    with pytest.raises(OpsError, match="is not a state machine ARN"):
        serverless.backend_from(None, "logfile_replica-backfill", CHECKPOINTS)
    with pytest.raises(OpsError, match="cannot read"):
        serverless.backend_from(tmp_path / "missing.json", None, None)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--workers", "4"], "--workers: not with --serverless"),
        (["--state-dir", "x"], "--state-dir: not with --serverless"),
        (["--segments", "1001"], "--segments 1001: at most 1000 with --serverless"),
        (["--run-id", "bf-1"], "--run-id names the run to continue: give --resume too"),
    ],
)
def test_local_flags_and_too_many_segments_are_refused_with_serverless(
    lab: Lab, flags: list[str], message: str
) -> None:
    code, _, err = lab.run("backfill", "--source", SOURCE, "--replica", REPLICA, "--serverless", *flags)
    assert code == 2 and message in err
