"""Property: whatever the changes, batching, redeliveries and faults, the replica ends equal to the source.

Lambda is simulated as it behaves with ReportBatchItemFailures: it delivers a batch from its checkpoint,
moves the checkpoint past the batch when nothing failed, or to the earliest failed record otherwise, and
may deliver a batch again (e.g. after a timeout).
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "lambda_src"))
sys.path.insert(0, str(Path(__file__).parent))

import ddbreplica_lambda as replica
from stream_events import (
    REPLICA,
    FakeContext,
    FaultyClient,
    LambdaRecord,
    SourceTable,
    create_table,
    dynamodb,
    failures,
    lambda_event,
    moto_aws,
    scan,
    sequence_numbers,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

type Operation = tuple[str, str, dict[str, Any] | None]

KEYS = ["a", "b", "c", "d"]
VALUES = st.one_of(
    st.integers(-(10**38) + 1, 10**38 - 1).map(lambda n: {"N": str(n)}),
    st.binary(max_size=6).map(lambda b: {"B": b}),
    st.text(max_size=6).map(lambda s: {"S": s}),
    st.lists(st.binary(min_size=1, max_size=3), min_size=1, max_size=3, unique=True).map(lambda b: {"BS": b}),
)
OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("put"), st.sampled_from(KEYS), VALUES),
        st.tuples(st.just("update"), st.sampled_from(KEYS), VALUES),
        st.tuples(st.just("delete"), st.sampled_from(KEYS), st.none()),
    ),
    min_size=1,
    max_size=20,
)
FAULTS = st.lists(st.sampled_from(["ok", "throttle", "unprocessed", "invalid"]), max_size=10)
MAX_INVOCATIONS = 300


def apply(client: DynamoDBClient, source: SourceTable, operation: Operation) -> None:
    kind, key, value = operation
    pk = {"PK": {"S": key}}
    if kind == "put":
        client.put_item(TableName=source.name, Item=pk | {"v": value or {}})
    elif kind == "update":
        client.update_item(
            TableName=source.name,
            Key=pk,
            UpdateExpression="SET v = :v ADD updates :one",
            ExpressionAttributeValues={":v": value or {}, ":one": {"N": "1"}},
        )
    else:
        client.delete_item(TableName=source.name, Key=pk)


@dataclass(frozen=True)
class Lambda:
    """How the simulated Lambda delivers: batch sizes, which deliveries it repeats, time per invocation."""

    sizes: list[int]
    redeliver: list[bool]
    time_ms: int


def deliver(records: list[LambdaRecord], lambda_: Lambda, faulty: FaultyClient, table: str) -> None:
    """Feed the records to the handler as Lambda does; check every response on the way."""
    checkpoint, invocation = 0, 0
    while checkpoint < len(records):
        assert invocation < MAX_INVOCATIONS, "no progress"
        batch = records[checkpoint : checkpoint + lambda_.sizes[invocation % len(lambda_.sizes)]]
        context = FakeContext(replica.SAFETY_MARGIN_MS + lambda_.time_ms)
        target = replica.Target(faulty.as_client(), table, context, sleep=context.sleep, alarm=context.alarm)
        response = replica.replicate(lambda_event(batch), target)
        failed = [failure["itemIdentifier"] for failure in response["batchItemFailures"]]
        in_batch = sequence_numbers(batch)
        assert failed == [sequence for sequence in in_batch if sequence in failed]  # in order, from the batch
        if failed:
            checkpoint += in_batch.index(failed[0])
        elif not (invocation < len(lambda_.redeliver) and lambda_.redeliver[invocation]):
            checkpoint += len(batch)
        invocation += 1


def test_the_replica_ends_equal_to_the_source() -> None:
    # One moto for all examples, each with tables of its own: starting moto per example doubles the run time.
    with moto_aws():
        every_history_replicates(dynamodb(), itertools.count())


@settings(max_examples=60, deadline=None)
@given(
    operations=OPERATIONS,
    lambda_=st.builds(
        Lambda,
        sizes=st.lists(st.integers(1, 10), min_size=1, max_size=6),
        redeliver=st.lists(st.booleans(), max_size=6),
        time_ms=st.integers(1, 300),  # beyond the safety margin: from one call only to a few retries
    ),
    faults=FAULTS,
    replay_from=st.integers(0, 30),
)
def every_history_replicates(
    client: DynamoDBClient,
    numbers: Iterator[int],
    operations: list[Operation],
    lambda_: Lambda,
    faults: list[str],
    replay_from: int,
) -> None:
    # GIVEN random changes over a few keys, as real stream records
    number = next(numbers)
    replica_table = f"{REPLICA}_{number}"
    create_table(replica_table)
    source = SourceTable.create(f"logfile_{number}")
    for operation in operations:
        apply(client, source, operation)
    records = source.records()
    # WHEN Lambda delivers them in random batches, some twice, through a replica with random faults
    deliver(records, lambda_, FaultyClient(client, faults), replica_table)
    # THEN
    assert scan(replica_table) == source.items()
    # AND delivering any suffix once more changes nothing
    context = FakeContext()
    target = replica.Target(client, replica_table, context, sleep=context.sleep)
    suffix = records[replay_from % max(len(records), 1) :]
    assert replica.replicate(lambda_event(suffix), target) == failures()
    assert scan(replica_table) == source.items()
