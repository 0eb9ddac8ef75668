"""The event factory gives what Lambda gives: each GetRecords record as JSON, plus eventSourceARN."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import boto3

sys.path.insert(0, str(Path(__file__).parent))

from stream_events import REGION, SourceTable, moto_aws

ITEM = {
    "PK": {"S": "a"},
    "blob": {"B": b"\x00\xff"},
    "blobs": {"BS": [b"\x01", b"\x02"]},
    "m": {"M": {"l": {"L": [{"B": b"q"}, {"N": "1E-130"}]}}},
}


def raw_get_records(stream_arn: str) -> list[dict[str, Any]]:
    """The Records of one GetRecords response exactly as they came over the wire, before boto3 parsed them."""
    streams = boto3.client("dynamodbstreams", region_name=REGION)
    bodies: list[str] = []
    streams.meta.events.register(
        "after-call.dynamodbstreams.GetRecords",
        lambda http_response, **_: bodies.append(http_response.text),
    )
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]
    iterator = streams.get_shard_iterator(
        StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    streams.get_records(ShardIterator=iterator)
    records: list[dict[str, Any]] = json.loads(bodies[0])["Records"]
    return records


def test_event_records_are_the_wire_records_plus_the_stream_arn() -> None:
    with moto_aws():
        # GIVEN an insert and a delete on a NEW_IMAGE stream
        source = SourceTable.create()
        source.put(ITEM)
        source.delete({"PK": {"S": "a"}})
        # WHEN
        records = source.records()
        wire = raw_get_records(source.stream_arn)
    # THEN only the stream ARN is added; the creation time is epoch seconds either way
    assert [record.pop("eventSourceARN") for record in records] == [source.stream_arn] * 2
    for record in [*records, *wire]:
        assert isinstance(record["dynamodb"].pop("ApproximateCreationDateTime"), float)
    assert records == wire


def test_binary_arrives_as_base64_text_at_every_depth() -> None:
    with moto_aws():
        source = SourceTable.create()
        source.put(ITEM)
        (record,) = source.records()
    assert record["dynamodb"]["NewImage"] == {
        "PK": {"S": "a"},
        "blob": {"B": "AP8="},
        "blobs": {"BS": ["AQ==", "Ag=="]},
        "m": {"M": {"l": {"L": [{"B": "cQ=="}, {"N": "1E-130"}]}}},
    }
