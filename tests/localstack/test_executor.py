"""The air-gapped LocalStack: moto-backed DynamoDB/Streams and the subprocess Lambda executor.

Each test drives LocalStack through its public API only, the way Terraform and the lab do."""

from __future__ import annotations

import base64
import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from helpers import client, create_function, create_stream_table, scan_all, unique, wait_for

pytestmark = pytest.mark.localstack


@pytest.fixture(scope="module")
def lam(localstack: str) -> Any:
    return client("lambda", localstack)


@pytest.fixture(scope="module")
def ddb(localstack: str) -> Any:
    return client("dynamodb", localstack)


def invoke(lam: Any, name: str, event: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    response = lam.invoke(FunctionName=name, Payload=json.dumps(event), LogType="Tail")
    return response, json.loads(response["Payload"].read())


@pytest.mark.parametrize("runtime", ["python3.12", "python3.13"])
def test_invoke_runs_handler_with_aws_environment(lam: Any, localstack: str, runtime: str) -> None:
    name = unique("echo")
    create_function(lam, name, "probe.echo", ("probe.py",), runtime=runtime, env={"MY_SETTING": "x"})

    response, body = invoke(lam, name, {"hello": "world"})

    assert "FunctionError" not in response
    assert body["event"] == {"hello": "world"}
    assert body["env"]["AWS_LAMBDA_FUNCTION_NAME"] == name
    assert body["env"]["AWS_REGION"] == "us-east-1"
    assert body["env"]["AWS_ENDPOINT_URL"] == localstack.replace("localhost", "127.0.0.1")
    assert body["env"]["AWS_ACCESS_KEY_ID"]
    assert body["env"]["MY_SETTING"] == "x"
    assert 0 < body["remaining_ms"] <= 10_000
    tail = base64.b64decode(response["LogResult"]).decode()
    assert f"START RequestId: {body['request_id']}" in tail
    assert 'echo {"hello": "world"}' in tail


def test_handler_output_reaches_cloudwatch_logs(lam: Any, localstack: str) -> None:
    name = unique("echo")
    create_function(lam, name, "probe.echo", ("probe.py",))
    invoke(lam, name, {"marker": "log-me"})
    logs = client("logs", localstack)

    def events() -> list[str]:
        found = logs.filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
        return [event["message"] for event in found]

    messages = wait_for(lambda: [m for m in events() if "log-me" in m] and events())
    assert any(message.startswith("START RequestId:") for message in messages)
    assert any(message.startswith("REPORT RequestId:") for message in messages)


def test_timeout_cuts_the_function_off_and_is_reported(lam: Any) -> None:
    name = unique("sleeper")
    create_function(lam, name, "probe.sleeper", ("probe.py",), timeout=2)

    response, body = invoke(lam, name, {"seconds": 30})

    assert response["FunctionError"] == "Unhandled"
    assert "Task timed out after 2.00 seconds" in body["errorMessage"]
    # The sandbox is re-initialised: the next invocation works.
    response, body = invoke(lam, name, {"seconds": 0})
    assert "FunctionError" not in response
    assert body == "woke up"


def test_import_error_is_a_function_error(lam: Any) -> None:
    name = unique("broken")
    create_function(lam, name, "broken_import.handler", ("broken_import.py",))

    response, body = invoke(lam, name, {})

    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.ImportModuleError"
    assert "No module named 'module_that_does_not_exist'" in body["errorMessage"]


def test_handler_exception_is_a_function_error(lam: Any) -> None:
    name = unique("boom")
    create_function(lam, name, "probe.boom", ("probe.py",))

    response, body = invoke(lam, name, {})

    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "ValueError"
    assert body["errorMessage"] == "boom: this handler always fails"


def test_stream_mapping_replicates_puts_updates_deletes(lam: Any, ddb: Any) -> None:
    source, target = unique("src"), unique("dst")
    stream_arn = create_stream_table(ddb, source)
    create_stream_table(ddb, target, stream=False)
    name = unique("copy")
    create_function(lam, name, "stream_copy.handler", ("stream_copy.py",), env={"TARGET_TABLE": target})
    lam.create_event_source_mapping(
        FunctionName=name, EventSourceArn=stream_arn, StartingPosition="TRIM_HORIZON", BatchSize=100
    )

    for i in range(20):
        ddb.put_item(TableName=source, Item={"PK": {"S": f"k{i}"}, "v": {"N": "1"}})
    for i in range(5):
        ddb.update_item(
            TableName=source,
            Key={"PK": {"S": f"k{i}"}},
            UpdateExpression="SET v = :v",
            ExpressionAttributeValues={":v": {"N": "2.5"}},
        )
    for i in range(15, 20):
        ddb.delete_item(TableName=source, Key={"PK": {"S": f"k{i}"}})

    expected = scan_all(ddb, source)
    assert len(expected) == 15
    wait_for(lambda: scan_all(ddb, target) == expected)


def test_partial_batch_failure_resumes_from_the_failed_record(lam: Any, ddb: Any) -> None:
    source, target = unique("src"), unique("dst")
    stream_arn = create_stream_table(ddb, source)
    create_stream_table(ddb, target, stream=False)
    for i in range(10):
        ddb.put_item(TableName=source, Item={"PK": {"S": f"k{i}"}})
    name = unique("partial")
    create_function(
        lam, name, "stream_copy.handler", ("stream_copy.py",), env={"TARGET_TABLE": target, "FAIL_PK": "k5"}
    )
    lam.create_event_source_mapping(
        FunctionName=name,
        EventSourceArn=stream_arn,
        StartingPosition="TRIM_HORIZON",
        BatchSize=100,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )

    def replicated() -> dict[str, Any] | None:
        items = scan_all(ddb, target)
        return items if all(f"k{i}" in items for i in range(10)) else None

    items = wait_for(replicated)
    firsts = [value["S"] for value in items["#batches"]["firsts"]["L"]]
    assert firsts == ["k0", "k5"]


def test_failing_function_goes_to_on_failure_queue_after_retries(lam: Any, ddb: Any, localstack: str) -> None:
    sqs = client("sqs", localstack)
    source = unique("src")
    stream_arn = create_stream_table(ddb, source)
    queue_url = sqs.create_queue(QueueName=unique("dlq"))["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    name = unique("boom")
    create_function(lam, name, "probe.boom", ("probe.py",))
    ddb.put_item(TableName=source, Item={"PK": {"S": "poison"}})
    lam.create_event_source_mapping(
        FunctionName=name,
        EventSourceArn=stream_arn,
        StartingPosition="TRIM_HORIZON",
        BatchSize=100,
        MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": queue_arn}},
    )

    def messages() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
        ).get("Messages", [])
        return found

    received = wait_for(messages, timeout=60)
    assert len(received) == 1
    body = json.loads(received[0]["Body"])
    batch = body["DDBStreamBatchInfo"]
    assert batch["streamArn"] == stream_arn
    assert batch["batchSize"] == 1
    assert batch["startSequenceNumber"] == batch["endSequenceNumber"]
    assert body["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert body["requestContext"]["approximateInvokeCount"] == 2
    assert messages() == []


def test_index_key_type_mismatch_is_rejected_like_aws(ddb: Any) -> None:
    """moto accepts an N value for an S-typed index key; AWS (and so our provider) rejects the write."""
    table = unique("drift")
    ddb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": "PK", "AttributeType": "S"},
            {"AttributeName": "GSI_1_PK", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "GSI_1",
                "KeySchema": [{"AttributeName": "GSI_1_PK", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    good = {"PK": {"S": "good"}, "GSI_1_PK": {"S": "host#a"}}
    bad = {"PK": {"S": "bad"}, "GSI_1_PK": {"N": "42"}}

    with pytest.raises(ddb.exceptions.ClientError, match="Type mismatch for Index Key GSI_1_PK"):
        ddb.put_item(TableName=table, Item=bad)
    with pytest.raises(ddb.exceptions.ClientError, match="ValidationException"):
        ddb.batch_write_item(
            RequestItems={table: [{"PutRequest": {"Item": good}}, {"PutRequest": {"Item": bad}}]}
        )

    with pytest.raises(ddb.exceptions.TransactionCanceledException) as cancelled:
        ddb.transact_write_items(
            TransactItems=[{"Put": {"TableName": table, "Item": item}} for item in (good, bad)]
        )
    reasons = cancelled.value.response["CancellationReasons"]
    assert [reason["Code"] for reason in reasons] == ["None", "ValidationError"]
    assert "Type mismatch for Index Key GSI_1_PK" in reasons[1]["Message"]

    assert scan_all(ddb, table) == {}  # the rejected batch and transaction wrote nothing, as on AWS
    ddb.put_item(TableName=table, Item=good)
    assert scan_all(ddb, table) == {"good": good}


def test_stream_records_carry_every_type_exactly(ddb: Any, localstack: str) -> None:
    """GetRecords (served straight from moto by our provider) returns the item as written."""
    table = unique("types")
    stream_arn = create_stream_table(ddb, table)
    item = {
        "PK": {"S": "all-types"},
        "s": {"S": "héllo, wörld"},
        "empty": {"S": ""},
        "n": {"N": "-1.2345678901234567890123456789012345678E+125"},
        "tiny": {"N": "1E-130"},
        "b": {"B": bytes(range(256))},
        "ss": {"SS": ["a", "b"]},
        "ns": {"NS": ["1", "2.5"]},
        "bs": {"BS": [b"\x00", b"\xff"]},
        "m": {"M": {"inner": {"L": [{"NULL": True}, {"BOOL": False}, {"B": b"\x01\x02"}]}}},
    }
    ddb.put_item(TableName=table, Item=item)
    streams = client("dynamodbstreams", localstack)
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(
        StreamArn=stream_arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )

    response = streams.get_records(ShardIterator=iterator["ShardIterator"], Limit=10)

    (record,) = response["Records"]
    assert record["eventName"] == "INSERT"
    assert record["dynamodb"]["NewImage"] == item
    assert record["dynamodb"]["Keys"] == {"PK": {"S": "all-types"}}
    assert abs(record["dynamodb"]["ApproximateCreationDateTime"].timestamp() - time.time()) < 60
    assert streams.get_records(ShardIterator=response["NextShardIterator"])["Records"] == []
