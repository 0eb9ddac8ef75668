"""Replicate a DynamoDB stream into one or more tables: parse -> plan -> write (each target) -> report.

Lambda hands the function a batch of stream records (DynamoDB JSON; binary values as base64 text).
The last change of each key is written to every replica target with BatchWriteItem, through the low-level
client so every value lands exactly as it left the source. The response names every record whose change did
not land in all targets (ReportBatchItemFailures), and Lambda resumes from the earliest of them. The writes
are full-image puts and deletes by key, so replaying a batch, or any suffix of it, leaves each replica as it
is: a target that already has a change is written again, harmlessly.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import math
import os
import random
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, NoReturn, Protocol, TypedDict

import boto3
import lab_config
import replica_targets
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as TransportConnectionError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import WriteRequestOutputTypeDef, WriteRequestTypeDef

type AttributeValue = dict[str, Any]
type Item = Mapping[str, AttributeValue]

MAX_BATCH = 25  # BatchWriteItem takes at most 25 requests per call
SAFETY_MARGIN_MS = 1_500  # stop retrying this long before Lambda's timeout, to return the report in time
BASE_DELAY_S = 0.05
MAX_DELAY_S = 2.0
RETRYABLE_ERRORS = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",  # HTTP 503
        "TransactionConflictException",  # a transaction writing the same item (e.g. a batched backfill)
    }
)
# Refusals of one item: a request that holds it is written item by item, and only that key fails.
REFUSED_ERRORS = frozenset({"ValidationException", "ItemCollectionSizeLimitExceededException"})
# A target that cannot be written at all (its table is missing, its writer role cannot be assumed, the writes
# or its key are denied): its records fail, the other targets are written; the invocation fails only when no
# target could be written. Any other error (a defect of the request) still fails the invocation at once.
UNAVAILABLE_TARGET_ERRORS = frozenset(
    {
        "ResourceNotFoundException",
        "AccessDeniedException",
        "UnrecognizedClientException",
        "KMSAccessDeniedException",
        "KMSDisabledException",
        "KMSInvalidStateException",
        "KMSNotFoundException",
        "ExpiredTokenException",
    }
)
# Connect and read timeouts, dropped connections: retried like throttling, within the time left.
TRANSIENT_TRANSPORT_ERRORS = (TransportConnectionError, HTTPClientError)


# One HTTP attempt per call, so that no retry sleeps inside botocore where the handler cannot see the clock
# (write() retries instead). The timeouts abandon a hung attempt so that write() can try again; urllib3
# applies them per socket operation, so they bound no call: the alarm (OutOfTime) does.
CLIENT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=2, read_timeout=5
)
FULL_IMAGE_VIEW_TYPES = ("NEW_IMAGE", "NEW_AND_OLD_IMAGES")
MAX_LOGGED_ERRORS = 10
# CloudWatch Embedded Metric Format: the log line declares some of its own fields as metrics, which CloudWatch
# Logs extracts (no PutMetricData call, no extra dependency). METRICS_NAMESPACE is set by the module.
DEFAULT_METRICS_NAMESPACE = "DdbReplica"
COUNT_METRICS = ("records", "puts", "deletes", "failures", "retries")
METRIC_DIMENSIONS = ("function", "target")


class StreamViewTypeError(RuntimeError):
    """The stream carries no new images, so the replica cannot be written: a configuration error."""


class MalformedBatchError(ValueError):
    """The event or a record has no usable shape or sequence number, so it cannot even be reported."""


class MalformedRecordError(ValueError):
    """A record that cannot be understood; it is reported as failed."""


class OutOfTime(BaseException):
    """The time for writing is up: raised by the alarm wherever the handler is (a blocked socket, botocore's
    serialization, a sleep). A BaseException, so that no ``except Exception`` on the way swallows it."""


class LambdaContext(Protocol):
    """The part of Lambda's context object used here."""

    def get_remaining_time_in_millis(self) -> int: ...


class ItemFailure(TypedDict):
    itemIdentifier: str


class BatchResponse(TypedDict):
    batchItemFailures: list[ItemFailure]


@dataclass(frozen=True, slots=True)
class Change:
    """One stream record, as the replica write it asks for."""

    sequence: str
    event_name: str  # INSERT, MODIFY or REMOVE
    key: Item
    key_id: str  # the key as canonical text: equal keys, equal text
    image: Item | None  # the item to put; None for a delete by key
    created: float | None = None  # the record's ApproximateCreationDateTime (epoch seconds), if it has one


@dataclass(frozen=True, slots=True)
class Unparsed:
    """A record that could not be parsed; it is reported as failed."""

    sequence: str
    reason: str
    foreign: bool = False  # from another table's stream (not a damaged record)


type Parsed = Change | Unparsed


@contextmanager
def alarm_after(seconds: float) -> Iterator[None]:
    """Raise OutOfTime after ``seconds`` of wall time, wherever the code is then.

    SIGALRM interrupts a socket call that trickles or hangs (urllib3's timeouts apply per socket operation,
    and not to the DNS lookup) and CPU-bound work alike (botocore validating a 16 MB request takes seconds
    at 128 MB). Lambda runs the handler in its main thread; in any other thread no signal can be used, and
    only the checks between calls remain.
    """
    if seconds <= 0:
        raise OutOfTime
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def ring(signum: int, frame: object) -> None:
        raise OutOfTime

    previous = signal.signal(signal.SIGALRM, ring)
    try:
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    finally:
        signal.signal(signal.SIGALRM, previous)


@dataclass(frozen=True)
class Target:
    """A replica table, and the time this invocation may spend writing to it."""

    client: DynamoDBClient
    table: str
    context: LambdaContext
    sleep: Callable[[float], None] = time.sleep
    margin_ms: int = SAFETY_MARGIN_MS
    source_table_arn: str | None = None  # when set, records from any other table's stream are failed
    alarm: Callable[[float], AbstractContextManager[None]] = alarm_after  # tests pass their fake clock's
    name: str | None = None  # the target's name in the log line (default: the table's)
    role_arn: str | None = None  # the writer role assumed for it, named when it cannot be assumed
    clock: Callable[[], float] = time.time  # wall clock, for the replication latency (tests pass their own)

    @property
    def label(self) -> str:
        return self.name or self.table

    def time_left_ms(self) -> int:
        return self.context.get_remaining_time_in_millis() - self.margin_ms


@dataclass(frozen=True)
class _Share:
    """Lambda's clock minus the time kept for the targets still to be written."""

    context: LambdaContext
    kept_ms: int

    def get_remaining_time_in_millis(self) -> int:
        return self.context.get_remaining_time_in_millis() - self.kept_ms


def _share(target: Target, targets_left: int) -> Target:
    """The target with an equal part of the time left, so a target that throttles cannot take the time of
    the ones after it (what one leaves unused goes to the next)."""
    if targets_left <= 1:
        return target
    left = max(target.time_left_ms(), 0)
    return replace(target, context=_Share(target.context, left * (targets_left - 1) // targets_left))


@dataclass
class Tally:
    """What one invocation did, for its log line."""

    records: int = 0
    malformed: int = 0
    foreign: int = 0  # records from another table's stream (failed, never written)
    puts: int = 0
    deletes: int = 0
    write_calls: int = 0
    retries: int = 0
    failures: int = 0
    latency_ms: float | None = None  # from the oldest landed record's creation to the end of the writes
    out_of_time: bool = False  # the alarm ended the writing
    errors: list[dict[str, str]] = field(default_factory=list)
    target_error: str | None = None  # why the target could not be written at all (logged on its own)
    unavailable: Exception | None = None  # that error, raised when no target could be written


# --- parse -------------------------------------------------------------------------------------------


def parse(records: Iterable[object], source_table_arn: str | None = None) -> Iterator[Parsed]:
    """Turn stream records into changes; a record that cannot be understood, or that comes from another
    table's stream than ``source_table_arn`` (when given), becomes Unparsed."""
    for record in records:
        sequence = _sequence_number(record)
        if source_table_arn is not None and (foreign := _foreign(record, source_table_arn)):
            yield Unparsed(sequence, foreign, foreign=True)
            continue
        try:
            yield _change(record, sequence)
        except MalformedRecordError as error:
            yield Unparsed(sequence, str(error))


def _foreign(record: object, source_table_arn: str) -> str | None:
    """Why the record is not from the source table's stream, or None when it is. A second event source
    mapping on this function (another table, or the replica's own stream) would otherwise merge that
    table's items into the replica."""
    arn = record.get("eventSourceARN") if isinstance(record, dict) else None
    if isinstance(arn, str) and arn.startswith(source_table_arn + "/stream/"):
        return None
    return (
        f"record from {arn!r}, not from the stream of {source_table_arn}; not written "
        "(remove the function's other event source mapping)"
    )


def _sequence_number(record: object) -> str:
    dynamodb = record.get("dynamodb") if isinstance(record, dict) else None
    sequence = dynamodb.get("SequenceNumber") if isinstance(dynamodb, dict) else None
    if not isinstance(sequence, str) or not sequence:
        raise MalformedBatchError(
            f"stream record without a SequenceNumber, cannot report it: {record!r:.200}"
        )
    return sequence


def _change(record: Any, sequence: str) -> Change:
    dynamodb = record["dynamodb"]
    event_name = record.get("eventName")
    key = _decode_image(dynamodb.get("Keys"), "Keys")
    if not key:
        raise MalformedRecordError("Keys is empty")
    created = _created(dynamodb.get("ApproximateCreationDateTime"))
    if event_name == "REMOVE":
        # LocalStack and moto send REMOVE records with "NewImage": {}; a REMOVE is a delete all the same.
        return Change(sequence, event_name, key, _key_id(key), None, created)
    if event_name not in ("INSERT", "MODIFY"):
        raise MalformedRecordError(f"unknown eventName {event_name!r}")
    new_image = dynamodb.get("NewImage")
    if not new_image:
        _missing_new_image(dynamodb.get("StreamViewType"), event_name, sequence)
    return Change(sequence, event_name, key, _key_id(key), _decode_image(new_image, "NewImage"), created)


def _created(value: object) -> float | None:
    """ApproximateCreationDateTime as Lambda delivers it (epoch seconds); None when absent or not a finite
    number (it only feeds the latency metric, so a record is never failed for it)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        seconds = float(value)
    except OverflowError:  # an int too large for a float
        return None
    return seconds if math.isfinite(seconds) else None


def put_change(item: Item, key_names: Sequence[str], sequence: str = "") -> Change:
    """A put of a whole item, as an INSERT record asks for: the backfill copies through write() too."""
    key = {name: item[name] for name in key_names}
    return Change(sequence, "INSERT", key, _key_id(key), item)


def _missing_new_image(view_type: object, event_name: str, sequence: str) -> NoReturn:
    """A stream without new images is a configuration error: fail the whole batch loudly."""
    if view_type in FULL_IMAGE_VIEW_TYPES:
        raise MalformedRecordError(f"{event_name} record without NewImage on a {view_type} stream")
    raise StreamViewTypeError(
        f"{event_name} record {sequence} has no NewImage: the source table's stream view type is "
        f"{view_type!r}, which carries no item images to replicate. Set the stream view type to "
        "NEW_IMAGE or NEW_AND_OLD_IMAGES (stream_view_type in Terraform)."
    )


def _decode_image(image: object, what: str) -> Item:
    if not isinstance(image, dict):
        raise MalformedRecordError(f"{what} is not a map: {image!r:.80}")
    return {name: _decode_value(value) for name, value in image.items()}


_SCALAR_TYPES: dict[str, type] = {"S": str, "N": str, "BOOL": bool, "NULL": bool}


def _decode_value(value: object) -> AttributeValue:
    """Lambda sends binary as base64 text; the low-level client wants bytes. Anything else passes as is."""
    if not isinstance(value, dict) or len(value) != 1:
        raise MalformedRecordError(f"not an attribute value: {value!r:.80}")
    ((tag, data),) = value.items()
    if tag == "B":
        return {"B": _bytes(data)}
    if tag == "BS":
        return {"BS": [_bytes(member) for member in _list(data)]}
    if tag == "M":
        return {"M": _decode_image(data, "M")}
    if tag == "L":
        return {"L": [_decode_value(member) for member in _list(data)]}
    if tag in ("SS", "NS") and all(isinstance(member, str) for member in _list(data)):
        return {tag: data}
    if tag in _SCALAR_TYPES and isinstance(data, _SCALAR_TYPES[tag]):
        return {tag: data}
    raise MalformedRecordError(f"not an attribute value: {value!r:.80}")


def _bytes(data: object) -> bytes:
    if not isinstance(data, str):
        raise MalformedRecordError(f"binary value is not base64 text: {data!r:.80}")
    try:
        return base64.b64decode(data, validate=True)
    except binascii.Error as error:
        raise MalformedRecordError(f"binary value is not base64 text: {data!r:.80}") from error


def _list(data: object) -> list[Any]:
    if not isinstance(data, list):
        raise MalformedRecordError(f"not a list: {data!r:.80}")
    return data


def _key_id(key: Mapping[str, Any]) -> str:
    """Canonical JSON of a key: the same for the decoded event key and for a key in a boto3 response."""
    return json.dumps(key, sort_keys=True, default=_base64_text)


def _base64_text(value: object) -> str:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"not a key value: {value!r:.80}")


# --- plan --------------------------------------------------------------------------------------------


def plan(changes: Iterable[Change]) -> list[Change]:
    """Keep the last change of each key (a put then a delete is a delete), in stream order."""
    last: dict[str, Change] = {}
    for change in changes:
        last.pop(change.key_id, None)  # re-insert, so the order follows each key's last change
        last[change.key_id] = change
    return list(last.values())


# --- write -------------------------------------------------------------------------------------------


def write(changes: Sequence[Change], target: Target, tally: Tally) -> frozenset[str]:
    """Write changes of distinct keys in BatchWriteItem requests; return the key ids that landed.

    Hand-written rather than boto3's batch_writer: that one works on the resource API, which converts every
    value through Decimal and TypeSerializer and back, it retries UnprocessedItems without a time limit, and
    it cannot tell which item failed. Here DynamoDB JSON passes through untouched, retries stop before the
    Lambda timeout, and a rejected request is split to find the item the replica refuses.

    The alarm ends the writing when the time left (before the safety margin) runs out, even inside a call;
    a key counts as landed only once DynamoDB has answered for it.
    """
    landed: set[str] = set()
    try:
        with target.alarm(target.time_left_ms() / 1000):
            _write_batches(changes, target, tally, landed)
    except OutOfTime:
        tally.out_of_time = True
    except ClientError as error:
        if not is_unavailable(error):
            raise
        # A missing table, a role that cannot be assumed, a denied write: this target's records fail; the
        # other targets are written all the same.
        tally.target_error, tally.unavailable = unwritable(error, target), error
    return frozenset(landed)


def is_unavailable(error: ClientError) -> bool:
    """The target cannot be written at all: see UNAVAILABLE_TARGET_ERRORS; any failure to assume its role."""
    return error.operation_name == "AssumeRole" or _error_code(error) in UNAVAILABLE_TARGET_ERRORS


def unwritable(error: ClientError, target: Target) -> str:
    """One line that names the target, and the role when assuming it failed."""
    text = f"{type(error).__name__}: {error}"
    if error.operation_name == "AssumeRole":
        return (
            f"target {target.label}: cannot assume {target.role_arn} ({text}); check that the role "
            "exists and trusts this function's role, with the same external ID"
        )
    return f"target {target.label} (table {target.table}): {text}"


def _write_batches(changes: Sequence[Change], target: Target, tally: Tally, landed: set[str]) -> None:
    pending = deque(_chunks(changes, MAX_BATCH))
    attempt = 0
    while pending and target.time_left_ms() > 0:
        batch = pending.popleft()
        try:
            unprocessed = _batch_write(batch, target, tally)
        except (ClientError, BotoCoreError) as error:
            if is_refused(error):
                # DynamoDB rejects the whole request for one bad item: write them one by one to find it.
                # (moto, and so our LocalStack, may have applied part of it first: harmless, writes are
                # idempotent.)
                _write_each(batch, target, tally, landed)
                continue
            if not is_retryable(error):
                raise
            unprocessed = batch
        landed.update({change.key_id for change in batch} - {change.key_id for change in unprocessed})
        if not unprocessed:
            attempt = 0
            continue
        pending.appendleft(unprocessed)
        if not _back_off(attempt, target, tally):
            break
        attempt += 1


def _chunks(changes: Sequence[Change], size: int) -> Iterator[list[Change]]:
    for start in range(0, len(changes), size):
        yield list(changes[start : start + size])


def _batch_write(batch: list[Change], target: Target, tally: Tally) -> list[Change]:
    """One BatchWriteItem call; return the changes DynamoDB left unprocessed."""
    tally.write_calls += 1
    response = target.client.batch_write_item(
        RequestItems={target.table: [_request(change) for change in batch]}
    )
    # Every request in UnprocessedItems was not written, whatever table key it is listed under: DynamoDB
    # answers under the key the request used, which may be the table's name or its ARN. DynamoDB always
    # sends UnprocessedItems; an answer without it (an empty 200 from a proxy) says nothing was written.
    unprocessed = response.get("UnprocessedItems")
    if unprocessed is None:
        return batch
    return _unprocessed(batch, [request for requests in unprocessed.values() for request in requests])


def _request(change: Change) -> WriteRequestTypeDef:
    if change.image is None:
        return {"DeleteRequest": {"Key": change.key}}
    return {"PutRequest": {"Item": change.image}}


def _unprocessed(batch: list[Change], requests: Sequence[WriteRequestOutputTypeDef]) -> list[Change]:
    """Map the requests DynamoDB returned as unprocessed back to their changes."""
    by_key = {change.key_id: change for change in batch}
    names = batch[0].key.keys()
    left = []
    for request in requests:
        put, delete = request.get("PutRequest"), request.get("DeleteRequest")
        attributes: Mapping[str, Any] = put["Item"] if put else delete["Key"] if delete else {}
        change = by_key.get(_key_id({name: attributes[name] for name in names if name in attributes}))
        if change is None:
            return batch  # cannot tell which change it was: send them all again, the writes are idempotent
        left.append(change)
    return left


def _write_each(batch: list[Change], target: Target, tally: Tally, landed: set[str]) -> None:
    for change in batch:
        if _write_one(change, target, tally):
            landed.add(change.key_id)


def _write_one(change: Change, target: Target, tally: Tally) -> bool:
    """PutItem or DeleteItem with retries; False if the replica rejects it or time runs out."""
    attempt = 0
    while target.time_left_ms() > 0:
        try:
            _single_write(change, target, tally)
            return True
        except (ClientError, BotoCoreError) as error:
            if is_refused(error):
                tally.errors.append({"sequence": change.sequence, "error": str(error)})
                return False
            if not is_retryable(error):
                raise
        if not _back_off(attempt, target, tally):
            return False
        attempt += 1
    return False


def _single_write(change: Change, target: Target, tally: Tally) -> None:
    tally.write_calls += 1
    if change.image is None:
        target.client.delete_item(TableName=target.table, Key=change.key)
    else:
        target.client.put_item(TableName=target.table, Item=change.image)


def _back_off(attempt: int, target: Target, tally: Tally) -> bool:
    """Sleep before a retry; False if the time left would be over by then."""
    delay = backoff_delay(attempt)
    if delay * 1000 >= target.time_left_ms():
        return False
    target.sleep(delay)
    tally.retries += 1
    return True


def backoff_delay(attempt: int) -> float:
    """Seconds to wait before retry ``attempt`` (0-based): exponential backoff with full jitter.

    Shared with the ``ddb-replica`` CLI (backfill, repair), so both retry the replica the same way.
    """
    return random.uniform(0, min(MAX_DELAY_S, BASE_DELAY_S * 2 ** min(attempt, 10)))


def is_retryable(error: Exception) -> bool:
    """Throttling, server errors, timeouts and dropped connections: worth another attempt after a backoff.

    Any HTTP 5xx is a server error, whatever its code: an answer without a typed body (a 503 from DynamoDB,
    a 502 or 504 from a proxy on the way) is named after its status ("503") by botocore.
    """
    if isinstance(error, ClientError):
        return _error_code(error) in RETRYABLE_ERRORS or _http_status(error) >= 500
    return isinstance(error, TRANSIENT_TRANSPORT_ERRORS)


def is_refused(error: Exception) -> bool:
    """The replica refuses an item of the request: retrying the same request cannot help.

    Shared with the ``ddb-replica`` CLI: a key it cannot write is reported with the reason, not retried.
    A ValidationException about an expression (the CLI's conditions) is a defect of the request, not a
    refusal of the item: it is raised.
    """
    if not isinstance(error, ClientError) or _error_code(error) not in REFUSED_ERRORS:
        return False
    return "Expression" not in str(error.response.get("Error", {}).get("Message", ""))


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _http_status(error: ClientError) -> int:
    return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


# --- report ------------------------------------------------------------------------------------------


def report(parsed: Sequence[Parsed], landed: frozenset[str]) -> BatchResponse:
    """Fail every unparsed record and every record of a key whose last change did not land, in order."""
    failed = {item.sequence for item in parsed if isinstance(item, Unparsed) or item.key_id not in landed}
    return {"batchItemFailures": [{"itemIdentifier": sequence} for sequence in sorted(failed, key=_in_order)]}


def _in_order(sequence: str) -> tuple[int, str]:
    """Sequence numbers are decimal strings of varying length: order by length, then by text."""
    return (len(sequence), sequence)


# --- handler -----------------------------------------------------------------------------------------


def replicate(event: Mapping[str, Any], *targets: Target) -> BatchResponse:
    """parse -> plan -> write to each target -> report, and one JSON log line per target.

    A key counts as landed only when every target has its last change; the targets are written one after
    the other, each with an equal part of the time left.
    """
    if not targets:
        raise ValueError("replicate() needs at least one target")
    started = time.perf_counter()
    tallies = [Tally() for _ in targets]
    try:
        parsed = list(parse(_records(event), targets[0].source_table_arn))
        changes = plan(item for item in parsed if isinstance(item, Change))
        landed_everywhere: frozenset[str] | None = None
        for index, (target, tally) in enumerate(zip(targets, tallies, strict=True)):
            _count(tally, parsed, changes)
            landed = write(changes, _share(target, len(targets) - index), tally)
            tally.latency_ms = latency_ms(parsed, landed, target.clock())
            tally.failures = len(report(parsed, landed)["batchItemFailures"])
            landed_everywhere = landed if landed_everywhere is None else landed_everywhere & landed
        unavailable = [tally.unavailable for tally in tallies if tally.unavailable is not None]
        if changes and len(unavailable) == len(tallies):
            # No target could be written: a function error (Lambda's Errors metric, bisection), as a
            # single replica's missing table always was.
            raise unavailable[0]
        return report(parsed, landed_everywhere or frozenset())
    except Exception as error:
        # Lambda retries the whole batch: every record failed, for every target (the log line's metrics too).
        records = event.get("Records")
        failed = len(records) if isinstance(records, list) else 0
        for tally in tallies:
            tally.records, tally.failures = max(tally.records, failed), max(tally.records, failed)
            tally.errors.append({"error": f"{type(error).__name__}: {error}"})
        raise
    finally:
        for target, tally in zip(targets, tallies, strict=True):
            _log(target, tally, started)


def _records(event: Mapping[str, Any]) -> list[object]:
    records = event.get("Records")
    if not isinstance(records, list):
        raise MalformedBatchError("the event has no Records list: is this a DynamoDB stream event?")
    return records


def _count(tally: Tally, parsed: Sequence[Parsed], changes: Sequence[Change]) -> None:
    tally.records = len(parsed)
    tally.puts = sum(change.image is not None for change in changes)
    tally.deletes = len(changes) - tally.puts
    unparsed = [item for item in parsed if isinstance(item, Unparsed)]
    tally.foreign = sum(item.foreign for item in unparsed)
    tally.malformed = len(unparsed) - tally.foreign
    tally.errors.extend({"sequence": item.sequence, "error": item.reason} for item in unparsed)


def latency_ms(parsed: Sequence[Parsed], landed: frozenset[str], now: float) -> float | None:
    """Replication latency of a batch on one target: from the creation of the oldest record whose key landed
    (a record that a later change of its key replaced counts too: it reached the replica through that change)
    to ``now``, the end of the target's writes, in milliseconds; None when no record with a creation time
    landed. Stream creation times have a precision of one second."""
    created = [
        item.created
        for item in parsed
        if isinstance(item, Change) and item.key_id in landed and item.created is not None
    ]
    if not created:
        return None
    return round(max(now - min(created), 0.0) * 1000, 1)


def _log(target: Target, tally: Tally, started: float) -> None:
    line = {
        "message": "replicate",
        "function": os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "local"),
        "target": target.label,
        "table": target.table,
        "records": tally.records,
        "malformed": tally.malformed,
        "foreign": tally.foreign,
        "puts": tally.puts,
        "deletes": tally.deletes,
        "write_calls": tally.write_calls,
        "retries": tally.retries,
        "failures": tally.failures,
        "latency_ms": tally.latency_ms,
        "out_of_time": tally.out_of_time,
        "target_error": tally.target_error,
        "errors": tally.errors[:MAX_LOGGED_ERRORS],
        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
    }
    namespace = os.environ.get("METRICS_NAMESPACE", DEFAULT_METRICS_NAMESPACE)
    if namespace:  # set empty (the module's metrics_namespace = null): a log line without metrics
        line["_aws"] = embedded_metrics(line, namespace, target.clock())
    print(json.dumps(line), flush=True)


def embedded_metrics(line: Mapping[str, object], namespace: str, now: float) -> dict[str, object]:
    """The Embedded Metric Format directive for the log line: its counts, and its latency when it has one,
    as metrics by function and target in ``namespace``."""
    metrics = [{"Name": name, "Unit": "Count"} for name in COUNT_METRICS]
    if line["latency_ms"] is not None:
        metrics.append({"Name": "latency_ms", "Unit": "Milliseconds"})
    directive = {"Namespace": namespace, "Dimensions": [list(METRIC_DIMENSIONS)], "Metrics": metrics}
    return {"Timestamp": int(now * 1000), "CloudWatchMetrics": [directive]}


@functools.cache
def replica_client(target: replica_targets.ReplicaTarget) -> DynamoDBClient:
    """One low-level client per container and target: creating one costs tens of milliseconds (over a second
    at 128 MB), so the container makes them in Lambda's init phase, which the timeout does not count. A
    target's writer role is assumed on its first write, and again before its credentials expire."""
    return replica_targets.dynamodb_client(target, CLIENT_CONFIG, _session())


@functools.cache
def _session() -> boto3.session.Session:
    """One session for every target's client: each session loads botocore's service models again."""
    return boto3.session.Session()


if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):  # running in Lambda (or our LocalStack executor): init phase
    for _target in lab_config.load().targets:
        replica_client(_target)


def lambda_handler(event: Mapping[str, Any], context: LambdaContext) -> BatchResponse:
    """Lambda entry point: settings from the environment, the container's clients, then replicate."""
    settings = lab_config.load()
    targets = [
        Target(
            replica_client(target),
            target.table_name,
            context,
            source_table_arn=settings.source_table_arn,
            name=target.name,
            role_arn=target.role_arn,
        )
        for target in settings.targets
    ]
    return replicate(event, *targets)
