"""DynamoDB and DynamoDB Streams providers that send every operation to moto.

LocalStack's own providers run DynamoDB Local (a Java download we may not use). These providers are
empty subclasses of the generated API classes, so every operation raises ``NotImplementedError`` and
``MotoFallbackDispatcher`` forwards it to moto. Operations moto lacks but the Terraform AWS provider
calls are answered here the way AWS answers them.
"""

from __future__ import annotations

from localstack.aws.api import RequestContext
from localstack.aws.api.dynamodb import (
    DescribeKinesisStreamingDestinationOutput,
    DynamodbApi,
    ResourceNotFoundException,
    TableArn,
)
from localstack.aws.api.dynamodbstreams import DynamodbstreamsApi
from localstack.services.plugins import Service, aws_provider


def _table_name(table: str) -> str:
    """Accept a table name or a table ARN, as AWS does."""
    return table.split(":table/", 1)[1].split("/", 1)[0] if ":table/" in table else table


class MotoDynamoDBProvider(DynamodbApi):
    """DynamoDB served by moto."""

    def describe_kinesis_streaming_destination(
        self, context: RequestContext, table_name: TableArn, **kwargs: object
    ) -> DescribeKinesisStreamingDestinationOutput:
        # moto has no Kinesis streaming destinations; the AWS provider reads them for every table.
        from moto.dynamodb.models import dynamodb_backends

        name = _table_name(table_name)
        backend = dynamodb_backends[context.account_id][context.region]
        if name not in backend.tables:
            raise ResourceNotFoundException(f"Requested resource not found: Table: {name} not found")
        return DescribeKinesisStreamingDestinationOutput(TableName=name, KinesisDataStreamDestinations=[])


class MotoDynamoDBStreamsProvider(DynamodbstreamsApi):
    """DynamoDB Streams served by moto."""


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
