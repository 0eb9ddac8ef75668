"""moto_serializer.py changes how fast moto serializes items, never what it sends: every DynamoDB and
DynamoDB Streams response that carries items is byte for byte the one moto's own serializer sends."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, ClassVar
from unittest import mock

import boto3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent))

from moto.core import serialize
from moto_serializer import SERVICES, AttributeValueSerializer
from stream_events import REGION, create_table, dynamodb, moto_aws

TABLE = "serialized"
Item = dict[str, Any]

NUMBERS = st.decimals(allow_nan=False, allow_infinity=False, places=3).map(lambda d: str(d.normalize()))
SCALARS = st.one_of(
    st.text(min_size=1, max_size=8).map(lambda s: {"S": s}),
    NUMBERS.map(lambda n: {"N": n}),
    st.binary(min_size=1, max_size=8).map(lambda b: {"B": b}),
    st.booleans().map(lambda b: {"BOOL": b}),
    st.just({"NULL": True}),
    st.lists(st.text(min_size=1, max_size=4), min_size=1, max_size=3, unique=True).map(lambda s: {"SS": s}),
    st.lists(st.integers(-999, 999).map(str), min_size=1, max_size=3, unique=True).map(lambda n: {"NS": n}),
    st.lists(st.binary(min_size=1, max_size=4), min_size=1, max_size=3, unique=True).map(lambda b: {"BS": b}),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda values: {"L": values}),
        st.dictionaries(st.text(min_size=1, max_size=4), inner, max_size=3).map(lambda m: {"M": m}),
    ),
    max_leaves=8,
)
ATTRIBUTES = st.dictionaries(st.text(min_size=1, max_size=6).filter(lambda n: n != "PK"), VALUES, max_size=5)


class BothSerializers(AttributeValueSerializer):
    """Serializes each result twice, with moto_serializer.py and with moto's own serializer, and keeps both
    bodies: the same result object goes through both, so responses can be compared byte for byte."""

    bodies: ClassVar[list[tuple[str, str, str]]] = []  # (operation, fast, moto's)

    def serialize(self, result: Any) -> Any:
        fast = super().serialize(result)
        own = serialize.JSONSerializer(
            operation_model=self.operation_model,
            pretty_print=self.pretty_print,
            value_picker=self._value_picker,
        ).serialize(result)
        self.bodies.append((self.operation_name, fast["body"], own["body"]))
        return fast


def exchange(items: list[Item]) -> list[tuple[str, str, str]]:
    """Write ``items`` to a new table with a stream and read them back every way there is; return every
    response body as serialized both ways."""
    BothSerializers.bodies = []
    services = {service: {protocol: BothSerializers} for service, protocol in SERVICES.items()}
    with moto_aws(fast_items=False), mock.patch.dict(serialize.SERVICE_SPECIFIC_SERIALIZERS, services):
        stream_arn = create_table(TABLE, stream_view_type="NEW_AND_OLD_IMAGES")
        ddb, streams = dynamodb(), boto3.client("dynamodbstreams", region_name=REGION)
        keys = [{"PK": item["PK"]} for item in items]
        for item in items:
            ddb.put_item(TableName=TABLE, Item=item)
            ddb.put_item(TableName=TABLE, Item=item, ReturnValues="ALL_OLD")
            ddb.get_item(TableName=TABLE, Key={"PK": item["PK"]}, ConsistentRead=True)
            ddb.query(
                TableName=TABLE,
                KeyConditionExpression="PK = :pk",
                ExpressionAttributeValues={":pk": item["PK"]},
            )
        ddb.scan(TableName=TABLE, ConsistentRead=True)
        ddb.batch_get_item(RequestItems={TABLE: {"Keys": keys, "ConsistentRead": True}})
        ddb.update_item(
            TableName=TABLE,
            Key=keys[0],
            UpdateExpression="SET touched = :yes",
            ExpressionAttributeValues={":yes": {"BOOL": True}},
            ReturnValues="ALL_NEW",
        )
        ddb.delete_item(TableName=TABLE, Key=keys[-1], ReturnValues="ALL_OLD")
        shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
        iterator = streams.get_shard_iterator(
            StreamArn=stream_arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        records = streams.get_records(ShardIterator=iterator)["Records"]
        # every item read back is the item written (the copy of moto's own that the client parsed)
        assert ddb.scan(TableName=TABLE, ConsistentRead=True)["Count"] == len(items) - 1
    assert len(records) == 2 * len(items) + 2, "every write is in the stream"
    return BothSerializers.bodies


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ATTRIBUTES, min_size=1, max_size=4))
def test_responses_with_items_are_the_bytes_moto_sends(attributes: list[Item]) -> None:
    items = [{"PK": {"S": f"item#{n}"}, **extra} for n, extra in enumerate(attributes)]
    bodies = exchange(items)
    operations = {operation for operation, _, _ in bodies}
    assert {"PutItem", "GetItem", "Query", "Scan", "BatchGetItem", "UpdateItem", "DeleteItem"} <= operations
    assert "GetRecords" in operations
    for operation, fast, own in bodies:
        assert fast == own, operation
