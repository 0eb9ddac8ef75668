"""Copy the scanned items the replica lacks: the write step of a backfill, in one of three ways.

The backfill reads, copies and settles a page in chunks of at most 100 keys (``backfill.py``): the settle
that follows each copy (``settle.py``) compares every key of the chunk in both tables and writes the
source's state conditionally, so every way ends in the source's state. They differ in calls, capacity and
what a reader of the replica may see in between:

``batch`` (default)
    BatchWriteItem, 25 items per call, through the handler's own ``write()`` (its retries of unprocessed
    items, its split of a request the replica refuses). One write unit per KB, as the stream's writes. The
    puts are unconditional: when the stream writes a newer version of a key between the chunk's read of the
    replica and this write, the older scanned image overwrites it until the chunk's settle puts the
    source's state back, right after the chunk's writes (a reader may see the item go back for that time).
``transact``
    TransactWriteItems of up to 100 puts, each on condition that the replica still has no item: a stream
    write is never overwritten. Transactional writes cost twice the write units, and a stream write to a key
    inside a running transaction gets TransactionConflictException, which the handler retries.
``item``
    One conditional PutItem per item (the first implementation): no overwrite either, one write unit per
    KB, but one call per item.

In every way, an item the stream deleted after the scan but before the copy comes back until the chunk's
settle deletes it: no condition can tell "deleted" from "never copied".

A key that ``batch`` or ``transact`` did not land (refused by the replica, throttled past their retries) is
put by the settle, or reported by it with the replica's reason: nothing is lost here, and nothing is counted
copied that DynamoDB did not acknowledge.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from ddbreplica_lambda import Tally, Target, backoff_delay, is_refused, is_retryable, put_change, write

from .items import Item, unchanged_condition, write_units
from .writes import MAX_ATTEMPTS, Tables

COPY_MODES = ("batch", "transact", "item")
DEFAULT_COPY_MODE = "batch"
TRANSACT_ITEMS = 100  # TransactWriteItems' limit on actions per call
TRANSACT_BYTES = 4 * 1024 * 1024  # and on the size of one call's items
BATCH_SECONDS = 60.0  # the time one copy's BatchWriteItem calls may take with their retries; then settle
# Errors after which a transaction may or may not have been committed: it is sent again with the same
# ClientRequestToken, so that DynamoDB answers for the first one (idempotent for 10 minutes).
UNKNOWN_OUTCOME_ERRORS = frozenset(
    {"TransactionInProgressException", "InternalServerError", "ServiceUnavailable"}
)


@dataclass
class Copied:
    copied: int = 0  # landed by this copy
    present: int = 0  # the replica had an item by the time of the write (the stream's): left as it was


def copy_missing(tables: Tables, items: Sequence[Item], mode: str = DEFAULT_COPY_MODE) -> Copied:
    """Write ``items`` (scanned; the replica had none of them when read) to the replica."""
    if mode == "batch":
        return _batch(tables, items)
    if mode == "transact":
        return _transact(tables, items)
    if mode == "item":
        return _each(tables, items)
    raise ValueError(f"unknown copy mode {mode!r}: one of {', '.join(COPY_MODES)}")


# --- batch ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Deadline:
    """The part of Lambda's context that write() reads, for a run outside Lambda."""

    at: float

    def get_remaining_time_in_millis(self) -> int:
        return int((self.at - time.monotonic()) * 1000)


def _no_alarm(seconds: float) -> contextlib.AbstractContextManager[None]:
    # The handler's alarm is SIGALRM, which only the main thread may set; the CLI keeps Ctrl-C for itself.
    return contextlib.nullcontext()


def handler_target(tables: Tables, seconds: float = BATCH_SECONDS, name: str | None = None) -> Target:
    """The replica of ``tables`` as the handler's write() sees a target, with ``seconds`` for the writes and
    their retries: the backfill's copy and the redrive write through the function's own code."""
    return Target(
        tables.replica_side,
        tables.replica,
        _Deadline(time.monotonic() + seconds),
        sleep=tables.sleep,
        margin_ms=0,
        alarm=_no_alarm,
        name=name,
    )


def _batch(tables: Tables, items: Sequence[Item]) -> Copied:
    if not items:
        return Copied()
    # Charged before the first call, so the calls (and the settle after them) follow one another.
    tables.take_capacity(sum(write_units(item) for item in items))
    target = handler_target(tables)
    tally = Tally()
    landed = write([put_change(item, tables.key_names) for item in items], target, tally)
    if tally.unavailable is not None:  # a missing replica, a denied write: the run stops and says which
        raise tally.unavailable
    return Copied(copied=len(landed))


# --- transact ------------------------------------------------------------------------------------------


def _transact(tables: Tables, items: Sequence[Item]) -> Copied:
    result = Copied()
    for chunk in _transaction_chunks(items):
        tables.take_capacity(2 * sum(write_units(item) for item in chunk))  # once, whatever the retries
        _transaction(tables, chunk, result)
    return result


def _transaction_chunks(items: Sequence[Item]) -> Iterator[list[Item]]:
    """Up to 100 items and 4 MB per transaction (write units count started KB: the size is over-estimated)."""
    chunk: list[Item] = []
    size = 0
    for item in items:
        item_bytes = write_units(item) * 1024
        if chunk and (len(chunk) == TRANSACT_ITEMS or size + item_bytes > TRANSACT_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append(item)
        size += item_bytes
    if chunk:
        yield chunk


def _transaction(tables: Tables, chunk: list[Item], result: Copied) -> None:
    """Put the items that are still absent, all or none per call; drop the keys the stream wrote first and
    try the rest again. After MAX_ATTEMPTS, what is left goes to the settle."""
    todo, token = chunk, str(uuid.uuid4())
    for attempt in range(MAX_ATTEMPTS):
        if attempt:
            tables.sleep(backoff_delay(attempt - 1))
        try:
            tables.replica_side.transact_write_items(
                TransactItems=_puts(tables, todo), ClientRequestToken=token
            )
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
            if code in UNKNOWN_OUTCOME_ERRORS or status >= 500:
                continue  # the same token: if the first call was committed, DynamoDB says so now
            if code == "TransactionCanceledException":
                todo = _still_to_put(todo, error.response.get("CancellationReasons") or [], result)
            elif is_refused(error):
                _split(tables, todo, result)  # one item refuses the whole request: find it by halves
                return
            elif not is_retryable(error):
                raise
            if not todo:
                return
            token = str(uuid.uuid4())  # answered: nothing was written, and the next request may differ
            continue
        except BotoCoreError as error:
            if not is_retryable(error):
                raise
            continue  # a lost answer: the same token
        result.copied += len(todo)
        return


def _split(tables: Tables, todo: list[Item], result: Copied) -> None:
    """Send each half of a request the replica refused on its own; a single refused item is left to the
    settle, which reports it with the replica's reason."""
    if len(todo) == 1:
        return
    middle = len(todo) // 2
    for half in (todo[:middle], todo[middle:]):
        _transaction(tables, half, result)


def _puts(tables: Tables, items: Sequence[Item]) -> Any:
    condition = unchanged_condition(None, tables.key_names)
    return [{"Put": {"TableName": tables.replica, "Item": item, **condition}} for item in items]


# Cancellation reasons that end an item's copy here: the stream wrote it first, or the replica refuses it (the
# settle then reports the key with the replica's reason).
_PRESENT = "ConditionalCheckFailed"
_REFUSED = frozenset({"ValidationError", "ItemCollectionSizeLimitExceeded"})


def _still_to_put(todo: list[Item], reasons: Sequence[Any], result: Copied) -> list[Item]:
    """The items of a cancelled transaction to try again: those cancelled for another item's reason, a
    conflict with a stream write, or throttling."""
    if len(reasons) != len(todo):  # cannot tell the items apart: try them all again
        return todo
    left = []
    for item, reason in zip(todo, reasons, strict=True):
        code = reason.get("Code")
        if code == _PRESENT:
            result.present += 1
        elif code not in _REFUSED:
            left.append(item)
    return left


# --- item ----------------------------------------------------------------------------------------------


def _each(tables: Tables, items: Sequence[Item]) -> Copied:
    result = Copied()
    for item in items:
        try:
            copied = tables.put_if_absent(item)
        except ClientError as error:
            if not is_refused(error):
                raise
            continue  # the settle tries it again, and reports it with the replica's reason
        if copied:
            result.copied += 1
        else:
            result.present += 1  # the stream wrote it first
    return result
