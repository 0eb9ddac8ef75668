"""Lambda events built from real stream records, and what the handler tests need around them.

A moto table with a stream is written to; its stream is read with GetShardIterator(TRIM_HORIZON) and
GetRecords; each record is wrapped as Lambda delivers it: the GetRecords record serialized as JSON (binary
becomes base64 text, ApproximateCreationDateTime epoch seconds) plus eventSourceARN.

Import with ``sys.path`` pointing at this folder (tests/unit has no package, and a second ``conftest`` module
would clash with tests/conftest.py under mypy).
"""

from __future__ import annotations

import base64
import datetime
import functools
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast
from unittest import mock

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "lambda_src"))

import aws_limits
import boto3
import botocore.handlers
import replica_targets
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectTimeoutError, ReadTimeoutError
from ddbreplica_lambda import OutOfTime
from moto import mock_aws
from moto_serializer import fast_attribute_values
from replica_targets import ReplicaTarget

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.literals import ScalarAttributeTypeType
    from mypy_boto3_dynamodbstreams import DynamoDBStreamsClient

REGION = "us-east-1"
SOURCE = "logfile"
REPLICA = "logfile_replica"
OTHER_ACCOUNT = "222222222222"  # a replica's account in the cross-account tests
WRITER_ROLE = f"arn:aws:iam::{OTHER_ACCOUNT}:role/logfile-writer"

type LambdaRecord = dict[str, Any]
type KeySchema = Sequence[tuple[str, ScalarAttributeTypeType]]

PK: KeySchema = (("PK", "S"),)


@contextmanager
def moto_aws(fast_items: bool = True) -> Iterator[None]:
    """In-process moto, with any endpoint from the developer's shell (e.g. LocalStack) out of the way,
    DynamoDB's expression limits enforced on every client made inside (aws_limits.py), and items serialized
    by moto's own code without its per-member lookups (moto_serializer.py), unless ``fast_items`` is False."""
    environ = {name: value for name, value in os.environ.items() if not name.startswith("AWS_ENDPOINT_URL")}
    serializer = fast_attribute_values() if fast_items else nullcontext()
    handlers = [*botocore.handlers.BUILTIN_HANDLERS, aws_limits.HANDLER]
    limits = mock.patch.object(botocore.handlers, "BUILTIN_HANDLERS", handlers)
    with mock.patch.dict(os.environ, environ, clear=True), mock_aws(), limits, serializer:
        yield


def dynamodb(region: str = REGION) -> DynamoDBClient:
    """A new client, e.g. for the handler or for hooks that must not outlive a test."""
    return boto3.client("dynamodb", region_name=region)


@functools.cache
def _shared(region: str = REGION) -> DynamoDBClient:
    """The helpers' own client; creating one per call would double the run time of the property test."""
    return dynamodb(region)


def other_account(region: str) -> DynamoDBClient:
    """DynamoDB in account OTHER_ACCOUNT, through its writer role (moto keeps one backend per account)."""
    target = ReplicaTarget("other-account", "any", region, WRITER_ROLE)
    return replica_targets.dynamodb_client(target, Config(), boto3.session.Session(region_name=REGION))


def client(service: str) -> Any:
    """A client of any service in REGION (the status and redrive tests reach Lambda, SQS, CloudWatch...)."""
    session: Any = boto3.session.Session(region_name=REGION)  # Any: one function for every service
    return session.client(service)


def function_with_mapping(stream_arn: str, function: str, filters: Sequence[str] = ()) -> str:
    """A function (an empty zip: moto never runs it here) and its mapping on the stream, with these filter
    patterns; the mapping's UUID. Make it after reading the stream: moto's own mapping takes new records."""
    role = client("iam").create_role(RoleName="replicator", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    client("lambda").create_function(
        FunctionName=function,
        Runtime="python3.12",
        Role=role,
        Handler="ddbreplica_lambda.lambda_handler",
        Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
    )
    criteria = {"FilterCriteria": {"Filters": [{"Pattern": p} for p in filters]}} if filters else {}
    mapping = client("lambda").create_event_source_mapping(
        EventSourceArn=stream_arn, FunctionName=function, StartingPosition="TRIM_HORIZON", **criteria
    )
    return str(mapping["UUID"])


def create_table(
    name: str,
    *,
    keys: KeySchema = PK,
    stream_view_type: str | None = None,
    index_key: tuple[str, ScalarAttributeTypeType] | None = None,
    region: str = REGION,
    client: DynamoDBClient | None = None,
) -> str:
    """A pay-per-request table: keys as (name, type), hash first; optional stream and GSI. Its stream ARN.
    ``client``: in another account (other_account()), else this account's in ``region``."""
    client = client or _shared(region)
    attributes = dict(keys) | dict([index_key] if index_key else [])
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": t} for n, t in attributes.items()],
        KeySchema=[
            {"AttributeName": n, "KeyType": "HASH" if i == 0 else "RANGE"} for i, (n, _) in enumerate(keys)
        ],
        **_stream_specification(stream_view_type),
        **_index(index_key),
    )
    return client.describe_table(TableName=name)["Table"].get("LatestStreamArn", "")


def _stream_specification(view_type: str | None) -> dict[str, Any]:
    if view_type is None:
        return {}
    return {"StreamSpecification": {"StreamEnabled": True, "StreamViewType": view_type}}


def _index(index_key: tuple[str, ScalarAttributeTypeType] | None) -> dict[str, Any]:
    if index_key is None:
        return {}
    index = {
        "IndexName": "GSI_1",
        "KeySchema": [{"AttributeName": index_key[0], "KeyType": "HASH"}],
        "Projection": {"ProjectionType": "ALL"},
    }
    return {"GlobalSecondaryIndexes": [index]}


@dataclass(frozen=True)
class SourceTable:
    """A moto table with a stream; records() gives what was written to it, as Lambda would deliver it."""

    name: str
    stream_arn: str

    @classmethod
    def create(
        cls,
        name: str = SOURCE,
        *,
        keys: KeySchema = PK,
        view_type: str = "NEW_IMAGE",
        index_key: tuple[str, ScalarAttributeTypeType] | None = None,
    ) -> SourceTable:
        return cls(name, create_table(name, keys=keys, stream_view_type=view_type, index_key=index_key))

    def put(self, *items: Mapping[str, Any]) -> None:
        for item in items:
            _shared().put_item(TableName=self.name, Item=item)

    def delete(self, key: Mapping[str, Any]) -> None:
        _shared().delete_item(TableName=self.name, Key=key)

    def records(self) -> list[LambdaRecord]:
        return [lambda_record(record, self.stream_arn) for record in get_records(self.stream_arn)]

    def items(self) -> list[dict[str, Any]]:
        return scan(self.name)


def get_records(stream_arn: str) -> list[Mapping[str, Any]]:
    """Every record of the stream's shards, from TRIM_HORIZON, as boto3 parses them."""
    streams: DynamoDBStreamsClient = boto3.client("dynamodbstreams", region_name=REGION)
    records: list[Mapping[str, Any]] = []
    for shard in streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while True:
            page = streams.get_records(ShardIterator=iterator)
            if not page["Records"]:
                break
            records.extend(cast(list[Mapping[str, Any]], page["Records"]))
            iterator = page["NextShardIterator"]
    return records


def lambda_record(record: Mapping[str, Any], stream_arn: str) -> LambdaRecord:
    """A GetRecords record as Lambda passes it to the function: JSON, plus the stream ARN."""
    wire: LambdaRecord = json.loads(json.dumps(record, default=_json_value))
    return wire | {"eventSourceARN": stream_arn}


def _json_value(value: object) -> object:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    raise TypeError(f"not JSON serializable: {value!r}")


def lambda_event(records: Iterable[LambdaRecord]) -> dict[str, Any]:
    return {"Records": list(records)}


def sequence_numbers(records: Iterable[LambdaRecord]) -> list[str]:
    return [record["dynamodb"]["SequenceNumber"] for record in records]


def failures(*sequences: str) -> dict[str, list[dict[str, str]]]:
    """The handler response that reports these records (an empty list: nothing failed)."""
    return {"batchItemFailures": [{"itemIdentifier": sequence} for sequence in sequences]}


def scan(table: str, region: str = REGION, client: DynamoDBClient | None = None) -> list[dict[str, Any]]:
    """Every item of a table in DynamoDB JSON (low-level client, binary as bytes), in a stable order.
    ``client``: in another account (other_account()), else this account's in ``region``."""
    client = client or _shared(region)
    items: list[dict[str, Any]] = []
    request: dict[str, Any] = {"TableName": table}
    while True:
        page = client.scan(**request)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            return sorted(items, key=_canonical)
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _canonical(item: Mapping[str, Any]) -> str:
    return json.dumps(item, sort_keys=True, default=_json_value)


@dataclass
class FakeContext:
    """Lambda's context, with a clock that moves only when sleep() is called, and the handler's alarm on
    that clock: a sleep that reaches it raises OutOfTime there, as SIGALRM would."""

    remaining_ms: float = 60_000.0
    sleeps: list[float] = field(default_factory=list)
    alarm_at_ms: float | None = None  # the remaining time at which the alarm rings

    def get_remaining_time_in_millis(self) -> int:
        return int(self.remaining_ms)

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.remaining_ms -= seconds * 1000
        if self.alarm_at_ms is not None and self.remaining_ms <= self.alarm_at_ms:
            self.remaining_ms = self.alarm_at_ms
            raise OutOfTime

    @contextmanager
    def alarm(self, seconds: float) -> Iterator[None]:
        if seconds <= 0:
            raise OutOfTime
        self.alarm_at_ms = self.remaining_ms - seconds * 1000
        try:
            yield
        finally:
            self.alarm_at_ms = None


@dataclass
class FaultyClient:
    """A DynamoDB client whose write calls follow a script of faults, then `then` for every later call.

    "ok" passes the call through; "throttle" raises ProvisionedThroughputExceededException without writing;
    "unprocessed" writes every second request of a BatchWriteItem and returns the others as UnprocessedItems
    (a PutItem/DeleteItem is throttled instead), listed under the table key of the request, or under
    ``unprocessed_under`` when set; "empty-answer" answers a BatchWriteItem with an empty HTTP 200 and writes
    nothing; any name in ``ERRORS`` raises that error ("invalid": ValidationException;
    HTTP 503, an untyped 504, a transaction conflict, a full item collection, connect and read timeouts).
    """

    client: DynamoDBClient
    script: list[str] = field(default_factory=list)
    then: str = "ok"
    calls: list[str] = field(default_factory=list)
    unprocessed_under: str | None = None

    def batch_write_item(self, **request: Any) -> Any:
        fault = self._next("BatchWriteItem")
        if fault == "empty-answer":  # an HTTP 200 without DynamoDB's body (a proxy's), nothing written
            return {"ResponseMetadata": {"HTTPStatusCode": 200}}
        if fault != "unprocessed":
            return self.client.batch_write_item(**request)
        ((table, writes),) = request["RequestItems"].items()
        kept, held = writes[1::2], writes[::2]
        if kept:
            self.client.batch_write_item(RequestItems={table: kept})
        listed_under = self.unprocessed_under or table
        return {"UnprocessedItems": {listed_under: held}, "ResponseMetadata": {"RetryAttempts": 0}}

    def put_item(self, **request: Any) -> Any:
        self._next("PutItem")
        return self.client.put_item(**request)

    def delete_item(self, **request: Any) -> Any:
        self._next("DeleteItem")
        return self.client.delete_item(**request)

    def as_client(self) -> DynamoDBClient:
        return cast("DynamoDBClient", self)

    def _next(self, operation: str) -> str:
        self.calls.append(operation)
        fault = self.script.pop(0) if self.script else self.then
        if fault == "throttle" or (fault == "unprocessed" and operation != "BatchWriteItem"):
            raise _error("ProvisionedThroughputExceededException", operation)
        if fault in ERRORS:
            raise ERRORS[fault](operation)
        return fault


def _error(code: str, operation: str, status: int = 400) -> ClientError:
    response: Any = {
        "Error": {"Code": code, "Message": f"injected {code}"},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, operation)


ENDPOINT = "https://dynamodb.us-east-1.amazonaws.com/"
ERRORS: dict[str, Callable[[str], Exception]] = {
    "invalid": lambda operation: _error("ValidationException", operation),
    "unavailable": lambda operation: _error("ServiceUnavailable", operation, 503),
    # An HTTP 5xx without a typed body (a proxy's 504, a bare 503): botocore names it after the status
    "gateway": lambda operation: _error("504", operation, 504),
    "conflict": lambda operation: _error("TransactionConflictException", operation),
    "collection-full": lambda operation: _error("ItemCollectionSizeLimitExceededException", operation),
    "read-timeout": lambda _: ReadTimeoutError(endpoint_url=ENDPOINT),
    "connect-timeout": lambda _: ConnectTimeoutError(endpoint_url=ENDPOINT),
}
