"""DynamoDB and DynamoDB Streams providers that send every operation to moto.

LocalStack's own providers run DynamoDB Local (a Java download we may not use). These providers are
empty subclasses of the generated API classes, so every operation raises ``NotImplementedError`` and
``MotoFallbackDispatcher`` forwards it to moto. Operations moto lacks but the Terraform AWS provider
calls are answered here the way AWS answers them, and one check AWS makes but moto skips (index key
types on writes, single, batched or in a transaction, which is how schema drift between a source and its
replica shows) is added. A stream
can be enabled again after it was disabled, with a new ARN, as on AWS (moto refuses it).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from localstack.aws.api import CommonServiceException, RequestContext, handler
from localstack.aws.api.dynamodb import (
    BatchWriteItemInput,
    BatchWriteItemOutput,
    CancellationReason,
    DescribeKinesisStreamingDestinationOutput,
    DynamodbApi,
    PutItemInput,
    PutItemOutput,
    ResourceNotFoundException,
    TableArn,
    TransactionCanceledException,
    TransactWriteItemsInput,
    TransactWriteItemsOutput,
    UpdateTableInput,
    UpdateTableOutput,
)
from localstack.aws.api.dynamodbstreams import DynamodbstreamsApi, GetRecordsInput
from localstack.services.plugins import Service, aws_provider


def _table_name(table: str) -> str:
    """Accept a table name or a table ARN, as AWS does."""
    return table.split(":table/", 1)[1].split("/", 1)[0] if ":table/" in table else table


def _moto_table(context: RequestContext, table: str) -> Any:
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends[context.account_id][context.region].tables.get(_table_name(table))


def _check_index_key_types(context: RequestContext, table_name: str, item: dict[str, Any]) -> None:
    """Reject an item whose index key attribute has another type than the index defines, as AWS does
    ("Type mismatch for Index Key"). moto accepts such items silently."""
    table = _moto_table(context, table_name)
    if table is None:
        return  # moto answers ResourceNotFoundException itself
    types = {definition["AttributeName"]: definition["AttributeType"] for definition in table.attr}
    for index in [*table.indexes, *table.global_indexes]:
        for key in index.schema:
            name = key["AttributeName"]
            actual = next(iter(item[name]), None) if isinstance(item.get(name), dict) else None
            if actual is not None and actual != types.get(name, actual):
                raise CommonServiceException(
                    "ValidationException",
                    "One or more parameter values were invalid: Type mismatch for Index Key "
                    f"{name} Expected: {types[name]} Actual: {actual} IndexName: {index.name}",
                )


class MotoDynamoDBProvider(DynamodbApi):
    """DynamoDB served by moto."""

    @handler("PutItem", expand=False)
    def put_item(self, context: RequestContext, put_item_input: PutItemInput) -> PutItemOutput:
        from localstack.services.moto import call_moto

        _check_index_key_types(context, put_item_input["TableName"], put_item_input["Item"])
        return call_moto(context)

    @handler("UpdateTable", expand=False)
    def update_table(
        self, context: RequestContext, update_table_input: UpdateTableInput
    ) -> UpdateTableOutput:
        """Enabling the stream of a table whose stream is off starts a new stream (new label, new ARN) on
        AWS; that is how a view type changes (the AWS provider disables, then enables). moto refuses any
        enable once a table has had a stream: forget the old label while the stream is off."""
        from localstack.services.moto import call_moto

        enable = (update_table_input.get("StreamSpecification") or {}).get("StreamEnabled")
        table = _moto_table(context, update_table_input["TableName"])
        if not enable or table is None or (table.stream_specification or {}).get("StreamEnabled"):
            return call_moto(context)
        label, table.latest_stream_label = table.latest_stream_label, None
        try:
            return call_moto(context)
        except Exception:
            table.latest_stream_label = label  # moto refused the request: the table stays as it was
            raise

    @handler("BatchWriteItem", expand=False)
    def batch_write_item(
        self, context: RequestContext, batch_write_item_input: BatchWriteItemInput
    ) -> BatchWriteItemOutput:
        from localstack.services.moto import call_moto

        # AWS validates the whole request before writing any of it.
        for table_name, requests in batch_write_item_input["RequestItems"].items():
            for request in requests:
                if put := request.get("PutRequest"):
                    _check_index_key_types(context, table_name, put["Item"])
        return call_moto(context)

    @handler("TransactWriteItems", expand=False)
    def transact_write_items(
        self, context: RequestContext, transact_write_items_input: TransactWriteItemsInput
    ) -> TransactWriteItemsOutput:
        """AWS cancels a transaction with a Put whose index key has another type than the index defines:
        ValidationError is the reason of that item, None of the others, and nothing is written."""
        from localstack.services.moto import call_moto

        reasons: list[CancellationReason] = []
        for action in transact_write_items_input["TransactItems"]:
            put = action.get("Put")
            try:
                if put:
                    _check_index_key_types(context, put["TableName"], put["Item"])
                reasons.append(CancellationReason(Code="None"))
            except CommonServiceException as error:
                reasons.append(CancellationReason(Code="ValidationError", Message=error.message))
        codes = [str(reason.get("Code")) for reason in reasons]
        if any(code != "None" for code in codes):
            raise TransactionCanceledException(
                "Transaction cancelled, please refer cancellation reasons for specific reasons "
                f"[{', '.join(codes)}]",
                CancellationReasons=reasons,
            )
        return call_moto(context)

    def describe_kinesis_streaming_destination(
        self, context: RequestContext, table_name: TableArn, **kwargs: object
    ) -> DescribeKinesisStreamingDestinationOutput:
        # moto has no Kinesis streaming destinations; the AWS provider reads them for every table.
        name = _table_name(table_name)
        if _moto_table(context, name) is None:
            raise ResourceNotFoundException(f"Requested resource not found: Table: {name} not found")
        return DescribeKinesisStreamingDestinationOutput(TableName=name, KinesisDataStreamDestinations=[])


class MotoDynamoDBStreamsProvider(DynamodbstreamsApi):
    """DynamoDB Streams served by moto."""

    @handler("GetRecords", expand=False)
    def get_records(self, context: RequestContext, get_records_input: GetRecordsInput) -> Any:
        """Answer GetRecords straight from moto's backend, in the JSON wire format.

        Through the generic fallback a 100-record batch is serialised by moto, parsed by botocore and
        serialised again by LocalStack: ~150 ms per poll on our machines, on the path of every
        event source mapping. moto's own encoder already writes the wire format; only the timestamp
        needs converting (moto keeps an ISO string, the JSON protocol sends epoch seconds).
        """
        from localstack.http import Response
        from localstack.services.moto import call_moto
        from moto.dynamodb.models.utilities import dynamo_json_dump
        from moto.dynamodbstreams.models import dynamodbstreams_backends

        backend = dynamodbstreams_backends[context.account_id][context.region]
        iterator = get_records_input["ShardIterator"]
        if iterator not in backend.shard_iterators:
            return call_moto(context)  # moto's own error answer
        result = backend.get_records(iterator, get_records_input.get("Limit") or 1000)
        records = [_with_epoch_time(record) for record in result["Records"]]
        body = dynamo_json_dump({"Records": records, "NextShardIterator": result["NextShardIterator"]})
        return Response(body, status=200, content_type="application/x-amz-json-1.0")


def _with_epoch_time(record: dict[str, Any]) -> dict[str, Any]:
    created = record["dynamodb"].get("ApproximateCreationDateTime")
    if not isinstance(created, str):
        return record
    moment = datetime.fromisoformat(created)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # moto writes naive UTC times
    return {**record, "dynamodb": {**record["dynamodb"], "ApproximateCreationDateTime": moment.timestamp()}}


@aws_provider(api="dynamodb", name="moto")
def dynamodb_moto() -> Service:
    from localstack.services.moto import MotoFallbackDispatcher

    provider = MotoDynamoDBProvider()
    return Service.for_provider(provider, dispatch_table_factory=MotoFallbackDispatcher)


@aws_provider(api="dynamodbstreams", name="moto")
def dynamodbstreams_moto() -> Service:
    from localstack.services.moto import MotoFallbackDispatcher

    provider = MotoDynamoDBStreamsProvider()
    return Service.for_provider(provider, dispatch_table_factory=MotoFallbackDispatcher)
