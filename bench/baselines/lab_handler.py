"""Baseline for bench/handler_bench.py: the workshop's replica handler, one put_item per record.

Faithful to the lab's ddbreplica_lambda.py in what costs time: a boto3 resource and Table made on every
invocation, every NewImage converted to Python values and back by the resource API, one PutItem per record,
a hard-coded replica table, REMOVE ignored, any error printed and swallowed. One change: it keeps types
(numbers as Decimal rather than int(), binary decoded from base64 rather than stored as its text), so it
writes the same items as the fixed handler. The region comes from the environment instead of the code.
Not for production: it loses data silently.
"""

from __future__ import annotations

import base64
import traceback
from typing import Any

import boto3
from boto3.dynamodb.types import Binary, TypeDeserializer

REPLICA_TABLE = "logfile_replica"


class StreamTypeDeserializer(TypeDeserializer):
    """The lab's deserializer, corrected: Lambda's JSON carries binary as base64 text."""

    def _deserialize_b(self, value: str) -> Binary:
        return Binary(base64.b64decode(value))


def _lambda_handler(event: dict[str, Any], context: object) -> None:
    dynamodb = boto3.resource("dynamodb")
    table = dynamodb.Table(REPLICA_TABLE)
    deserializer = StreamTypeDeserializer()
    for record in event["Records"]:
        ddb = record["dynamodb"]
        if record["eventName"].upper() in ("INSERT", "MODIFY"):
            if "NewImage" not in ddb:
                print("Cannot process stream if it does not contain NewImage")
                continue
            table.put_item(Item=deserializer.deserialize({"M": ddb["NewImage"]}))


def lambda_handler(event: dict[str, Any], context: object) -> None:
    try:
        _lambda_handler(event, context)
    except Exception:
        print(traceback.format_exc())
