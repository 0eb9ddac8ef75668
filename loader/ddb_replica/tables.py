"""Reaching the two tables: clients, descriptions, the checks made before anything is read or written."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from replica_targets import ReplicaTarget, dynamodb_client

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

PERMISSION_ERRORS = frozenset({"AccessDeniedException", "UnrecognizedClientException"})
# Operations IAM authorises as another action: a transaction's puts need dynamodb:PutItem.
IAM_ACTIONS = {"TransactWriteItems": "PutItem"}


class OpsError(Exception):
    """A condition that stops a command before (or instead of) its work; the message says what to fix."""


@dataclass(frozen=True)
class Connection:
    """Where the tables live."""

    endpoint_url: str | None
    region: str | None

    def client(self, threads: int, target: ReplicaTarget | None = None) -> DynamoDBClient:
        """One low-level client for all threads (botocore clients are thread-safe); a connection each.

        With ``target``: a client in the target's region, through its writer role when it has one (the
        same code as the function's, replica_targets.py). Standard retries handle throttling inside a call
        first; the commands retry further with the handler's backoff (``ddbreplica_lambda.backoff_delay``).
        """
        config = Config(retries={"mode": "standard"}, max_pool_connections=max(10, threads + 2))
        session = boto3.session.Session(region_name=self.region)
        try:
            if target is None:
                return session.client("dynamodb", endpoint_url=self.endpoint_url, config=config)
            return dynamodb_client(target, config, session, self.endpoint_url)
        except ValueError as error:  # botocore's "Invalid endpoint: ..."
            raise OpsError(str(error)) from None


@dataclass(frozen=True)
class TableInfo:
    name: str
    arn: str  # names the table's region and account too
    key_names: tuple[str, ...]  # partition key, then sort key if any
    key_types: tuple[str, ...]  # S, N or B, in the same order
    item_count: int  # DynamoDB's estimate (updated about every six hours on AWS)
    size_bytes: int
    stream_view_type: str | None
    write_capacity: int | None = None  # provisioned write capacity units; None on demand
    stream_arn: str | None = None  # the latest stream's ARN, when the table has one

    def key_text(self) -> str:
        return ", ".join(
            f"{name} ({kind})" for name, kind in zip(self.key_names, self.key_types, strict=True)
        )


def where(client: DynamoDBClient) -> str:
    return f"in region {client.meta.region_name} at endpoint {client.meta.endpoint_url}"


def describe(client: DynamoDBClient, table: str) -> TableInfo:
    """DescribeTable, with one clear line for a missing table or a missing permission."""
    try:
        description: Any = client.describe_table(TableName=table)["Table"]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            raise OpsError(f"table {table} not found {where(client)}") from None
        raise
    if description.get("TableStatus") not in ("ACTIVE", "UPDATING"):
        raise OpsError(f"table {table} is {description.get('TableStatus')}; wait until it is ACTIVE")
    types = {row["AttributeName"]: row["AttributeType"] for row in description["AttributeDefinitions"]}
    schema = sorted(description["KeySchema"], key=lambda row: row["KeyType"] != "HASH")
    names = tuple(row["AttributeName"] for row in schema)
    stream = description.get("StreamSpecification") or {}
    return TableInfo(
        name=table,
        arn=str(description.get("TableArn", "")),
        key_names=names,
        key_types=tuple(types[name] for name in names),
        item_count=int(description.get("ItemCount", 0)),
        size_bytes=int(description.get("TableSizeBytes", 0)),
        stream_view_type=stream.get("StreamViewType") if stream.get("StreamEnabled") else None,
        write_capacity=_provisioned_writes(description),
        stream_arn=description.get("LatestStreamArn"),
    )


def _provisioned_writes(description: Any) -> int | None:
    if (description.get("BillingModeSummary") or {}).get("BillingMode") == "PAY_PER_REQUEST":
        return None
    units = int((description.get("ProvisionedThroughput") or {}).get("WriteCapacityUnits") or 0)
    return units or None  # an on-demand table describes its throughput as 0


def check_pair(source: TableInfo, replica: TableInfo) -> None:
    """Both tables must have the same primary key, and be two tables."""
    if source.arn == replica.arn:
        raise OpsError(
            f"source and replica are the same table ({source.name}: {source.arn}); name two tables"
        )
    if (source.key_names, source.key_types) != (replica.key_names, replica.key_types):
        raise OpsError(
            f"key schemas differ: source {source.name} has {source.key_text()}, replica {replica.name} has "
            f"{replica.key_text()}; a replica needs the same partition and sort key as its source"
        )


def permission_message(error: ClientError) -> str | None:
    """For an authorisation failure: which action to grant. None for any other error."""
    code = error.response.get("Error", {}).get("Code", "")
    if code not in PERMISSION_ERRORS:
        return None
    message = error.response.get("Error", {}).get("Message", "")
    action = IAM_ACTIONS.get(error.operation_name, error.operation_name)
    return f"missing permission dynamodb:{action} ({code}: {message}); grant it to the caller on both tables"
