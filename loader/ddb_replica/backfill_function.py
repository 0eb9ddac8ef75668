"""The backfill function of the serverless mode: one segment of a run, for one slice of its time.

The module's state machine (``backfill_mode = "serverless"``) maps over a run's segments and invokes this
function for a segment again and again until it answers ``done``. Each invocation:
 1. takes the segment's lease in the checkpoint table (segment_store.py) until its own timeout;
 2. settles the keys a killed invocation left pending, then reads, copies and settles chunks of 100 keys
    from the segment's checkpoint on, exactly as a local backfill does (``Backfill.segment``: the same
    copy, settle and checkpoints, only saved to the table);
 3. stops starting chunks when little of its time is left (STOP_MARGIN_S, or a third of a short timeout),
    saves, gives the lease up and returns.
An invocation killed in the middle of a chunk (timeout, out of memory) loses nothing: the chunk's keys were
saved as pending before its first write, and the next invocation settles them before it scans on.

An invocation of an execution that no longer owns the run (stopped by the CLI, or replaced by a resumed one:
the manifest names the execution that may work on it) stops at its next chunk and gives its segment up, so
that a resumed run goes on at once; a new invocation waits for a segment still held (up to LEASE_WAIT_S).

Event: ``{"run": "<run id>", "segment": <n>, "execution": "<name>"}`` (the state machine's item); the run's
manifest in the table names the source, the target (by name: one of this function's REPLICA_TARGETS), the copy
mode and the write budget. Environment: CHECKPOINT_TABLE, SOURCE_TABLE_ARN, the targets (lab_config.py),
MAX_CONCURRENCY (the map's; --max-wcu is split evenly between the segments that can run at once).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Mapping
from typing import Any, Protocol

import lab_config

from .backfill import Backfill, SegmentState
from .segment_store import LeaseLostError, SegmentBusyError, TableCheckpoints
from .tables import Connection, OpsError
from .writes import RateLimiter, Tables

# A chunk's writes may take 60 s under throttling (copying.BATCH_SECONDS), and its settle more.
STOP_MARGIN_S = 120.0
DEFAULT_MAX_CONCURRENCY = 8
LEASE_WAIT_S = 60.0  # how long an invocation waits for a segment that a stopping invocation still holds
LEASE_POLL_S = 1.0


class Context(Protocol):
    aws_request_id: str

    def get_remaining_time_in_millis(self) -> int: ...


def lambda_handler(event: Mapping[str, Any], context: Context) -> dict[str, Any]:
    return run_segment(event, context, os.environ)


def run_segment(event: Mapping[str, Any], context: Context, environ: Mapping[str, str]) -> dict[str, Any]:
    """Work on the event's segment until it is done or this invocation's time is nearly up."""
    run, segment = _field(event, "run", str), _field(event, "segment", int)
    execution = event.get("execution")  # None: invoked by hand, not by the state machine
    connection = Connection(None, None)  # boto3 reads the region and any endpoint from the environment
    store = TableCheckpoints(
        connection.client(threads=2), _setting(environ, "CHECKPOINT_TABLE"), run, owner=context.aws_request_id
    )
    manifest = store.manifest()
    remaining_s = context.get_remaining_time_in_millis() / 1000
    until_ms = int((time.time() + remaining_s) * 1000)
    state = _acquire(store, segment, until_ms, min(LEASE_WAIT_S, remaining_s / 3))
    owner = _owns_run(store, execution)
    if not state.done and owner:
        try:
            _work(state, store, manifest, environ, connection, execution, context)
        except LeaseLostError:
            raise  # another invocation works on the segment now: nothing of ours to save
        except Exception:
            # Give the segment up at once, so that the state machine's retry need not wait for this lease
            # to run out. Without saving: the chunk in progress is half done in memory, and the last save
            # holds its keys pending, which the next invocation settles first.
            with contextlib.suppress(Exception):
                store.let_go(state.segment)
            raise
    store.release(state)
    return {
        "run": run,
        "segment": segment,
        "execution": execution,
        "done": state.done,
        "handed_over": not owner,  # the run belongs to another execution (resumed) or to none (stopped)
        "scanned": state.scanned,
        "copied": state.copied,
    }


def _work(
    state: SegmentState,
    store: TableCheckpoints,
    manifest: Mapping[str, Any],
    environ: Mapping[str, str],
    connection: Connection,
    execution: object,
    context: Context,
) -> None:
    """Copy the segment from its checkpoint until done, out of time, or the run is handed over."""
    backfill = Backfill(
        _tables(manifest, environ, connection),
        store,
        workers=1,
        page_size=manifest.get("page_size"),
        max_refused=int(manifest["max_refused"]),
        copy_mode=str(manifest["copy"]),
    )
    # The run's limit on refused keys counts every segment's, as a local run does: read at the start, and
    # again after each chunk that the replica refused keys of.
    backfill.refused = _refused_in_run(store)
    refused_here = len(state.refused)

    def after_chunk(items: int) -> None:
        nonlocal refused_here
        if len(state.refused) != refused_here:
            refused_here = len(state.refused)
            with backfill.lock:
                backfill.refused |= _refused_in_run(store)
        if not _owns_run(store, execution):
            backfill.stop.set()  # stopped or resumed elsewhere: hand the segment over now

    backfill.on_items = after_chunk
    # From now: the lease may have taken part of the invocation's time.
    timer = threading.Timer(working_seconds(context.get_remaining_time_in_millis() / 1000), backfill.stop.set)
    timer.start()
    try:
        backfill.segment(state)
    finally:
        timer.cancel()


def _refused_in_run(store: TableCheckpoints) -> set[str]:
    return {kid for other in store.states() for kid in other.refused}


def _acquire(store: TableCheckpoints, segment: int, until_ms: int, wait_s: float) -> SegmentState:
    """The segment's lease; while another invocation holds it (one stopping), poll up to ``wait_s``."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            return store.acquire(segment, until_ms)
        except SegmentBusyError:
            if time.monotonic() + LEASE_POLL_S > deadline:
                raise
        time.sleep(LEASE_POLL_S)


def _owns_run(store: TableCheckpoints, execution: object) -> bool:
    return execution is None or store.current_execution() == execution


def working_seconds(remaining_s: float) -> float:
    """How long an invocation starts new chunks: all but STOP_MARGIN_S of its time (a third, if short)."""
    return remaining_s - min(STOP_MARGIN_S, remaining_s / 3)


def _tables(manifest: Mapping[str, Any], environ: Mapping[str, str], connection: Connection) -> Tables:
    """The run's tables, checked against this function's own: its source, and one of its targets."""
    source_arn = _setting(environ, "SOURCE_TABLE_ARN")
    source = source_arn.split("/")[1]  # arn:<partition>:dynamodb:<region>:<account>:table/<name>
    if manifest["source"] != source:
        raise OpsError(f"run's source {manifest['source']} is not this function's source table {source}")
    targets = {target.name: target for target in lab_config.load(environ).targets}
    target = targets.get(str(manifest["target"]))
    if target is None:
        raise OpsError(
            f"run's target {manifest['target']!r} is not one of this function's: {', '.join(targets)}"
        )
    max_wcu = manifest.get("max_wcu")
    concurrency = min(
        int(environ.get("MAX_CONCURRENCY") or DEFAULT_MAX_CONCURRENCY), manifest["total_segments"]
    )
    remote = target.region is not None or target.role_arn is not None
    return Tables(
        connection.client(threads=2),
        source,
        target.table_name,
        tuple(manifest["key_names"]),
        RateLimiter(float(max_wcu) / concurrency) if max_wcu else None,
        replica_client=connection.client(threads=2, target=target) if remote else None,
    )


def _field[T](event: Mapping[str, Any], name: str, kind: type[T]) -> T:
    value = event.get(name)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise OpsError(
            f"event: {name} must be a {kind.__name__}, not {value!r:.60} (the state machine's item)"
        )
    return value


def _setting(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name)
    if not value:
        raise OpsError(f"environment: {name} is not set (the module sets it)")
    return value
