"""``ddb-replica redrive``: replay the batches the function gave up on, from its on-failure destination.

For each failed batch, Lambda sends the destination an invocation record: the stream, the shard, and the
first and last sequence number of the batch, not its records (a record written to an S3 destination holds the
batch as well, under ``payload``). For each record found (an SQS message, or an S3 object):

1. read exactly the records it names from the stream: GetShardIterator ``AT_SEQUENCE_NUMBER`` of the first,
   then GetRecords up to the last;
2. apply them through the function's own code (``ddbreplica_lambda``): parse, plan (the last change of each
   key, in stream order), write() to every target;
3. settle their keys on every target (``settle.py``, the backfill's settle): records newer than the failed
   ones may have been replicated meanwhile, and the settle puts the source's current state back wherever the
   replayed write went over it;
4. delete the message, only once every key of the batch is settled on every target.

DynamoDB Streams keeps records 24 hours. When they are gone, the keys the message can still identify are
settled all the same: those of an S3 record's payload, and those of the batch's records still in the shard.
A message that cannot name every key of its batch is kept, with the ``verify --repair`` command that finds
what it misses (``--delete-expired`` removes such messages once that has run).

An SQS message is hidden from other readers while it is handled (its visibility timeout); the messages kept,
and those not reached when a run stops, are made visible again before the command ends. A run killed without
that chance leaves them hidden for VISIBILITY_SECONDS, then a rerun sees them.
"""

from __future__ import annotations

import base64
import datetime
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from ddbreplica_lambda import (
    Change,
    MalformedBatchError,
    StreamViewTypeError,
    Tally,
    Unparsed,
    parse,
    plan,
    write,
)

from .copying import handler_target
from .items import Item, key_id, key_text, same_item
from .settle import Settled, settle
from .writes import Tables

VISIBILITY_SECONDS = 900  # how long a received message stays hidden while this run handles it
MAX_SEEN_AGAIN = 10  # receives in a row of messages this run kept already, before it stops receiving
MAX_EMPTY_PAGES = 10  # GetRecords answers in a row without a record before the read is given up
RECORDS_PER_CALL = 1000  # GetRecords' limit
GONE_ERRORS = frozenset({"TrimmedDataAccessException", "ResourceNotFoundException"})
REFUSED_COORDINATES = frozenset({"ValidationException", "InvalidArgumentException"})


class NotAFailedBatchError(ValueError):
    """A message that is not Lambda's invocation record of a failed DynamoDB stream batch."""


class BatchUnreadableError(ValueError):
    """A message whose records cannot be read for a reason of its own (not the stream's retention)."""


# --- the destination's records ---------------------------------------------------------------------


@dataclass(frozen=True)
class FailedBatch:
    """One invocation record: where its batch is in the stream, and the batch when the record carries it."""

    where: str  # the message or object, for the report
    stream_arn: str
    shard_id: str
    first: str  # sequence numbers, inclusive
    last: str
    size: int | None  # batchSize: the records Lambda gave the function
    payload: tuple[dict[str, Any], ...] | None = None  # the batch's records (S3 destinations only)
    condition: str | None = None  # why Lambda gave up, e.g. RetryAttemptsExhausted


def failed_batch(body: str, where: str) -> FailedBatch:
    """Parse an invocation record (also inside an SNS notification delivered to a queue)."""
    try:
        record = json.loads(body)
        if isinstance(record, dict) and record.get("Type") == "Notification" and "Message" in record:
            record = json.loads(record["Message"])
    except (json.JSONDecodeError, TypeError) as error:
        raise NotAFailedBatchError(f"{where}: not JSON ({error})") from None
    info = record.get("DDBStreamBatchInfo") if isinstance(record, dict) else None
    if not isinstance(info, dict):
        raise NotAFailedBatchError(f"{where}: no DDBStreamBatchInfo (not a failed DynamoDB stream batch)")
    names = ("streamArn", "shardId", "startSequenceNumber", "endSequenceNumber")
    missing = [name for name in names if not isinstance(info.get(name), str) or not info[name]]
    bad = [name for name in names[2:] if not str(info.get(name)).isdigit()]
    if missing or bad:
        raise NotAFailedBatchError(f"{where}: DDBStreamBatchInfo without a valid {', '.join(missing or bad)}")
    if int(info["startSequenceNumber"]) > int(info["endSequenceNumber"]):
        raise NotAFailedBatchError(f"{where}: startSequenceNumber is after endSequenceNumber")
    payload = _object(record.get("payload")).get("Records")
    size = info.get("batchSize")
    return FailedBatch(
        where=where,
        stream_arn=info["streamArn"],
        shard_id=info["shardId"],
        first=info["startSequenceNumber"],
        last=info["endSequenceNumber"],
        size=size if isinstance(size, int) else None,
        payload=tuple(payload) if isinstance(payload, list) else None,
        condition=_object(record.get("requestContext")).get("condition"),
    )


def _object(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


@dataclass
class Message:
    """A message of the destination: a failed batch, or why it is not one."""

    handle: str  # the SQS message's id, or the S3 object's key
    where: str  # the message's id, or the object's URL, for the report
    batch: FailedBatch | None
    unreadable: str | None = None


class QueueDestination:
    """An SQS queue of invocation records, received one at a time: a message stays hidden while this run
    handles it (VISIBILITY_SECONDS) until it is deleted or released. A message received again in the same run
    (hidden longer than that) is not handled twice, and release() shows the ones kept to the next run."""

    def __init__(self, sqs: Any, queue_url: str, max_messages: int | None = None) -> None:
        self.sqs, self.queue_url, self.max_messages = sqs, queue_url, max_messages
        self.name = queue_url.rstrip("/").rsplit("/", 1)[-1]
        self.held: dict[str, str] = {}  # message id -> its latest receipt handle, not deleted
        self.not_released: list[str] = []  # ids that release() could not make visible, with the reason

    def messages(self) -> Iterator[list[Message]]:
        """One new message at a time, until a receive brings none (or max_messages were received)."""
        received = again = 0
        while (self.max_messages is None or received < self.max_messages) and again < MAX_SEEN_AGAIN:
            answer = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=1,
                WaitTimeSeconds=1,  # long polling asks every SQS server: an empty answer means empty
                VisibilityTimeout=VISIBILITY_SECONDS,
            )
            found = answer.get("Messages") or []
            if not found:
                return
            message = found[0]
            seen = message["MessageId"] in self.held
            self.held[message["MessageId"]] = message["ReceiptHandle"]
            if seen:  # kept earlier in this run, visible again: not handled twice
                again += 1
                continue
            received, again = received + 1, 0
            where = f"queue {self.name} message {message['MessageId']}"
            yield [_message(message["MessageId"], message.get("Body", ""), where)]

    def delete(self, handle: str) -> None:
        self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=self.held.pop(handle))

    def release(self) -> None:
        """Make every message received and not deleted visible again; never raises (it runs as the command
        ends, whatever ended it): a message it cannot release is named in not_released."""
        held = list(self.held.items())
        self.held.clear()
        for start in range(0, len(held), 10):
            group = held[start : start + 10]
            entries = [
                {"Id": str(index), "ReceiptHandle": receipt, "VisibilityTimeout": 0}
                for index, (_, receipt) in enumerate(group)
            ]
            try:
                answer = self.sqs.change_message_visibility_batch(QueueUrl=self.queue_url, Entries=entries)
            except (ClientError, BotoCoreError) as error:
                self.not_released += [f"{message_id} ({error})" for message_id, _ in group]
                continue
            for failure in answer.get("Failed", []):
                message_id = group[int(failure["Id"])][0]
                self.not_released.append(
                    f"{message_id} ({failure.get('Code')}: {failure.get('Message', '')})"
                )


class BucketDestination:
    """An S3 bucket of invocation records (aws/lambda/<mapping UUID>/<shard>/YYYY/MM/DD/...); each carries its
    batch's records."""

    def __init__(self, s3: Any, bucket: str, prefix: str, max_messages: int | None = None) -> None:
        self.s3, self.bucket, self.prefix, self.max_messages = s3, bucket, prefix, max_messages
        self.name = f"s3://{bucket}/{prefix}"
        self.not_released: list[str] = []

    def messages(self) -> Iterator[list[Message]]:
        received = 0
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix):
            batch = []
            for entry in page.get("Contents", []):
                if self.max_messages is not None and received >= self.max_messages:
                    break
                received += 1
                body = self.s3.get_object(Bucket=self.bucket, Key=entry["Key"])["Body"].read()
                batch.append(
                    _message(
                        entry["Key"], body.decode("utf-8", "replace"), f"s3://{self.bucket}/{entry['Key']}"
                    )
                )
            if batch:
                yield batch

    def delete(self, handle: str) -> None:
        self.s3.delete_object(Bucket=self.bucket, Key=handle)

    def release(self) -> None:
        """Nothing to do: an object stays where it is until deleted."""


def _message(handle: str, body: str, where: str) -> Message:
    try:
        return Message(handle, where, failed_batch(body, where))
    except NotAFailedBatchError as error:
        return Message(handle, where, None, str(error))


# --- the stream --------------------------------------------------------------------------------------


@dataclass
class Read:
    """The batch's records found in the stream, as Lambda delivers them; why some are missing, if they are."""

    records: list[dict[str, Any]]
    gone: str | None = None  # None: every record from the first to the last sequence number was read
    expired: bool = False  # gone because the stream no longer keeps them (not for another reason)


def read_batch(streams: Any, batch: FailedBatch) -> Read:
    """The records of the shard from ``batch.first`` to ``batch.last``: AT_SEQUENCE_NUMBER, while the stream
    still holds them; else those still in the shard (from its trim horizon)."""
    try:
        iterator = _iterator(streams, batch, "AT_SEQUENCE_NUMBER")
    except ClientError as error:
        if _code(error) not in GONE_ERRORS:
            raise
        if _code(error) != "TrimmedDataAccessException":
            return Read([], _gone(error), expired=True)
        try:  # the first records are past the stream's retention: the later ones may still be there
            iterator = _iterator(streams, batch, "TRIM_HORIZON")
        except ClientError as again:
            if _code(again) not in GONE_ERRORS:
                raise
            return Read([], _gone(again), expired=True)
        records, _ = _records_until(streams, iterator, batch)
        return Read(records, _gone(error), expired=True)
    records, reached = _records_until(streams, iterator, batch)
    if not reached or not records:
        return Read(records, f"the shard has no record {batch.last} after {batch.first}")
    return Read(records)


def _iterator(streams: Any, batch: FailedBatch, kind: str) -> str:
    arguments = {"StreamArn": batch.stream_arn, "ShardId": batch.shard_id, "ShardIteratorType": kind}
    if kind == "AT_SEQUENCE_NUMBER":
        arguments["SequenceNumber"] = batch.first
    try:
        return str(streams.get_shard_iterator(**arguments)["ShardIterator"])
    except ClientError as error:
        if _code(error) in REFUSED_COORDINATES:
            reason = f"the stream refuses the message's shard or sequence number: {error}"
            raise BatchUnreadableError(reason) from None
        raise


def _records_until(
    streams: Any, iterator: str | None, batch: FailedBatch
) -> tuple[list[dict[str, Any]], bool]:
    """The records with sequence numbers in [first, last]; True when the last one was reached."""
    first, last = int(batch.first), int(batch.last)
    records: list[dict[str, Any]] = []
    empty = 0
    while iterator and empty < MAX_EMPTY_PAGES:
        page = streams.get_records(ShardIterator=iterator, Limit=RECORDS_PER_CALL)
        empty = 0 if page.get("Records") else empty + 1
        for record in page.get("Records", []):
            sequence = int(record["dynamodb"]["SequenceNumber"])
            if sequence > last:
                return records, True
            if sequence >= first:
                records.append(lambda_record(record, batch.stream_arn))
            if sequence == last:
                return records, True
        iterator = page.get("NextShardIterator")
    return records, False


def lambda_record(record: Mapping[str, Any], stream_arn: str) -> dict[str, Any]:
    """A GetRecords record as Lambda gives it to the function: JSON (binary as base64 text, the creation
    time in epoch seconds), plus the stream's ARN."""
    wire: dict[str, Any] = json.loads(json.dumps(record, default=_json_value))
    return wire | {"eventSourceARN": stream_arn}


def _json_value(value: object) -> object:
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    raise TypeError(f"not JSON serializable: {value!r}")


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _gone(error: ClientError) -> str:
    if _code(error) == "TrimmedDataAccessException":
        return "its records are older than the stream keeps them (24 hours)"
    if _code(error) == "ResourceNotFoundException":
        return "its stream or shard no longer exists (a stream is readable 24 hours after it is disabled)"
    return f"{_code(error)}: {error}"


# --- one batch -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Replication:
    """The source table and, per target, the tables that the writes and the settle use."""

    source_arn: str
    targets: Sequence[tuple[str, Tables]]  # (label, tables)
    verify_commands: Sequence[str]  # per target: the verify --repair that finds what a message cannot name
    stream_arn: str = ""  # the source's current stream


@dataclass
class Outcome:
    """What the redrive of one message did, for the report."""

    where: str
    batch: FailedBatch | None
    records: int = 0  # read from the stream (or the payload)
    keys: int = 0
    written: dict[str, int] = field(default_factory=dict)  # target -> keys its write landed
    settled: dict[str, Settled] = field(default_factory=dict)  # target -> the settle of the batch's keys
    problems: list[str] = field(default_factory=list)  # why the message is kept
    unnamed: str | None = None  # why the message cannot name every key of its batch (expired records)
    source: str = "stream"  # where the records came from: stream, payload, stream in part, or none
    would_correct: dict[str, int] = field(default_factory=dict)  # --dry-run: target -> keys that differ now
    deleted: bool = False

    def done(self, delete_expired: bool = False) -> bool:
        """Every key of the batch settled on every target (``delete_expired``: every key it names)."""
        return not self.problems and (self.unnamed is None or delete_expired)


def redrive_message(
    message: Message,
    replication: Replication,
    streams: Any,
    dry_run: bool = False,
) -> Outcome:
    """Read, write, settle one failed batch; the caller deletes the message when the outcome is done."""
    if message.batch is None:
        return Outcome(message.where, None, problems=[message.unreadable or "unreadable"])
    batch = message.batch
    outcome = Outcome(message.where, batch)
    if not batch.stream_arn.startswith(replication.source_arn + "/stream/"):
        outcome.problems.append(
            f"the batch is from {batch.stream_arn}, not from a stream of {replication.source_arn}: "
            "redrive it with that table's replication"
        )
        return outcome
    try:
        records, replay = _records(streams, batch, outcome, replication, dry_run)
        parsed = list(parse(records, replication.source_arn))
    except (BatchUnreadableError, MalformedBatchError, StreamViewTypeError) as error:
        outcome.problems.append(str(error))
        return outcome
    changes = plan(item for item in parsed if isinstance(item, Change))
    outcome.records, outcome.keys = len(parsed), len(changes)
    outcome.problems.extend(
        f"record {item.sequence}: {item.reason}" for item in parsed if isinstance(item, Unparsed)
    )
    keys = [dict(change.key) for change in changes]
    if dry_run:
        outcome.would_correct = {label: _differing(tables, keys) for label, tables in replication.targets}
        return outcome
    for label, tables in replication.targets:
        _apply(label, tables, changes if replay else None, keys, outcome)
    return outcome


def _records(
    streams: Any, batch: FailedBatch, outcome: Outcome, replication: Replication, dry_run: bool
) -> tuple[list[dict[str, Any]], bool]:
    """The batch's records, and whether to replay them (read from the stream in full) or only settle their
    keys (from the payload, or the part of the stream left)."""
    read = read_batch(streams, batch)
    if read.gone is None:
        return read.records, True
    if read.expired and batch.payload is not None:  # the record carries the batch: every key is known
        outcome.source = "payload"
        return list(batch.payload), False
    outcome.source = "stream, in part" if read.records else "none"
    if read.expired:
        outcome.unnamed = _unnamed(read, replication, dry_run)
    else:
        outcome.problems.append(f"{read.gone}: run {'; '.join(replication.verify_commands)}")
    return read.records, False


def _apply(
    label: str, tables: Tables, changes: Sequence[Change] | None, keys: list[Item], outcome: Outcome
) -> None:
    """Write ``changes`` (None: none) to one target, then settle ``keys`` there. If anything stops it after
    the write began, the keys are settled still: a replayed image must not stay over a newer change."""
    began = False
    try:
        if changes is not None:  # the records as the function would have written them; the settle decides
            tally = Tally()
            began = True
            landed = write(changes, handler_target(tables, name=label), tally)
            if tally.unavailable is not None:  # a missing table, a denied write: stop, the message stays
                raise tally.unavailable
            outcome.written[label] = len(landed)
        settled = settle(tables, keys)
    except BaseException as error:
        if began:
            _settle_after(error, label, tables, keys)
        raise
    outcome.settled[label] = settled
    for key in settled.unresolved:
        reason = settled.refused.get(key_id(key))
        outcome.problems.append(
            f"{label}: {key_text(key, tables.key_names)} "
            + (f"refused by the replica: {reason}" if reason else "still changing")
        )


def _settle_after(error: BaseException, label: str, tables: Tables, keys: list[Item]) -> None:
    """Settle the keys a stopped replay may have written over newer changes; say on ``error`` if it fails."""
    try:
        settle(tables, keys)
    except Exception as again:
        error.add_note(
            f"{label}: the replay stopped, and settling its {len(keys)} key(s) failed too ({again}): some "
            f"may hold an older image than the source; run ddb-replica verify --repair for {tables.replica}"
        )


def _unnamed(read: Read, replication: Replication, dry_run: bool) -> str:
    found = (
        f"{len(read.records)} of its records are still in the stream (their keys are "
        + ("to be settled)" if dry_run else "settled)")
        if read.records
        else "the message names no key"
    )
    commands = "; ".join(replication.verify_commands)
    return f"{read.gone}; {found}: run {commands} for the rest, then redrive --delete-expired"


def _differing(tables: Tables, keys: Sequence[Item]) -> int:
    """How many of ``keys`` differ between source and replica now (what a settle would write)."""
    source, replica = tables.source_items(keys), tables.replica_items(keys)
    return sum(not same_item(source.get(key_id(key)), replica.get(key_id(key))) for key in keys)


# --- the run -----------------------------------------------------------------------------------------


@dataclass
class Run:
    """Every message of a destination, in stream order per batch of messages received."""

    destination: QueueDestination | BucketDestination
    replication: Replication
    streams: Any
    dry_run: bool = False
    delete_expired: bool = False
    on_outcome: Callable[[Outcome], object] = lambda outcome: None
    outcomes: list[Outcome] = field(default_factory=list)
    begun: bool = False  # a message's handling has begun (before: an error means nothing was done)

    def run(self) -> list[Outcome]:
        try:
            for messages in self.destination.messages():
                for message in sorted(messages, key=_stream_order):
                    self.begun = True
                    outcome = redrive_message(message, self.replication, self.streams, self.dry_run)
                    if outcome.done(self.delete_expired) and not self.dry_run:
                        self.destination.delete(message.handle)
                        outcome.deleted = True
                    self.outcomes.append(outcome)
                    self.on_outcome(outcome)
        finally:
            self.destination.release()
        return self.outcomes


def _stream_order(message: Message) -> tuple[str, str, int]:
    if message.batch is None:
        return ("", "", 0)
    return (message.batch.stream_arn, message.batch.shard_id, int(message.batch.first))
