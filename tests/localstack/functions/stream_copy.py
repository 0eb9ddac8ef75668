"""Copies stream records into the table named by TARGET_TABLE, one call per record.

With FAIL_PK set, the first delivery of that key is reported through ReportBatchItemFailures (the
records after it are not processed), and the first key of every batch is appended to the item
``#batches``, so a test can see where LocalStack resumed."""

import os
from typing import Any

import boto3

ddb = boto3.client("dynamodb")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    target = os.environ["TARGET_TABLE"]
    fail_pk = os.environ.get("FAIL_PK")
    records = event["Records"]
    if fail_pk:
        _append(target, "#batches", records[0]["dynamodb"]["Keys"]["PK"]["S"])
    for record in records:
        change = record["dynamodb"]
        if change["Keys"]["PK"]["S"] == fail_pk and _first_attempt(target):
            return {"batchItemFailures": [{"itemIdentifier": change["SequenceNumber"]}]}
        if record["eventName"] == "REMOVE":
            ddb.delete_item(TableName=target, Key=change["Keys"])
        else:
            ddb.put_item(TableName=target, Item=change["NewImage"])
    return {"batchItemFailures": []}


def _append(target: str, pk: str, value: str) -> None:
    ddb.update_item(
        TableName=target,
        Key={"PK": {"S": pk}},
        UpdateExpression="SET firsts = list_append(if_not_exists(firsts, :empty), :value)",
        ExpressionAttributeValues={":empty": {"L": []}, ":value": {"L": [{"S": value}]}},
    )


def _first_attempt(target: str) -> bool:
    item = ddb.update_item(
        TableName=target,
        Key={"PK": {"S": "#failures"}},
        UpdateExpression="ADD n :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
        ReturnValues="UPDATED_NEW",
    )
    return item["Attributes"]["n"]["N"] == "1"
