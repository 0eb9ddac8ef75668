"""The lab end to end on LocalStack (Terraform apply, loader, stream, function, replica), on a slice of
the workshop data, plus the failure path: a record the replica rejects reaches the on-failure queue, status
and the queue's alarm say so, and once the cause is fixed, redrive replays it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
from e2e import client, setup_env

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
DRIFT = Path(__file__).parent / "schema_drift"
SUMMARY = ROOT / "build" / "e2e-summary.json"
PRE_STREAM_ROWS = 40  # written to logfile before its stream: 36 new items and 4 older versions of CSV rows

pytestmark = pytest.mark.localstack


def tool_env(endpoint: str) -> dict[str, str]:
    """The environment `make` gives tools: TF / TF_CLI_CONFIG_FILE from `make setup`'s build/*.env."""
    env = {**os.environ, "AWS_ENDPOINT_URL": endpoint, **setup_env()}
    env["TF_CMD"] = env.get("TF", "terraform")
    return env


def run_e2e(endpoint: str, csv: Path, keep: bool) -> dict[str, Any]:
    command = [sys.executable, "tools/e2e.py", "--csv", str(csv), "--pre-stream-rows", str(PRE_STREAM_ROWS)]
    command += ["--keep"] if keep else []
    result = subprocess.run(command, cwd=ROOT, env=tool_env(endpoint), capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    summary: dict[str, Any] = json.loads(SUMMARY.read_text())
    return summary


def test_lab_on_a_slice_is_idempotent_with_keep_then_destroys(localstack: str, tmp_path: Path) -> None:
    # GIVEN the first 150 rows of the workshop data, and 40 rows in logfile before its stream is enabled
    rows = (ROOT / "data" / "logfile_stream.csv").read_text(encoding="utf-8").splitlines(keepends=True)[:150]
    csv = tmp_path / "slice.csv"
    csv.write_text("".join(rows), encoding="utf-8")

    # WHEN the lab runs with KEEP=1, then again on the stack it kept, without KEEP (a third run would add
    # nothing: the second already re-applies a kept stack and loads into full tables, then destroys)
    first = run_e2e(localstack, csv, keep=True)
    second = run_e2e(localstack, csv, keep=False)

    # THEN every run verified the replica item by item, with the same counts: the pre-stream rows reached
    # the replica through the backfill, and ddb-replica verify caught and repaired a hand edit
    for summary in (first, second):
        assert summary["verified"] is True
        assert summary["mismatches"] == 0
        assert summary["rows_loaded"] == 150
        assert summary["source_items"] == summary["replica_items"] == 150 + PRE_STREAM_ROWS - 4
        assert summary["invocations"] >= 2  # 150 records: at least two batches of at most 100
        assert "unresolved 0;" in summary["backfill_output"]
        assert (
            summary["ops_verify_exit"],
            summary["ops_verify_after_edit_exit"],
            summary["ops_repair_exit"],
        ) == (
            0,
            1,
            0,
        )
    # the 36 new pre-stream items can only have come from the backfill (the stream may have beaten it to
    # some CSV rows, which it then copies too, or finds in place)
    copied = int(re.search(r"copied (\d+),", first["backfill_output"])[1])  # type: ignore[index]
    assert 36 <= copied <= 186 and "scanned 186," in first["backfill_output"]
    # AND the second run destroyed the stack
    ddb = client("dynamodb", localstack)
    assert not {"logfile", "logfile_replica"} & set(ddb.list_tables()["TableNames"])


def tflocal(endpoint: str, *args: str) -> str:
    result = subprocess.run(
        [str(VENV_BIN / "tflocal"), *args], cwd=DRIFT, env=tool_env(endpoint), capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return result.stdout


def test_a_record_the_replica_rejects_is_failed_alarmed_then_redriven_once_fixed(
    localstack: str, tmp_path: Path
) -> None:
    name = f"drift-{uuid.uuid4().hex[:6]}"
    variables = [
        "-var",
        f"name={name}",
        "-var",
        f"lambda_package_path={ROOT / 'dist' / 'ddbreplica_lambda.zip'}",
    ]
    tflocal(localstack, "init", "-input=false", "-no-color")
    tflocal(localstack, "apply", "-auto-approve", "-input=false", "-no-color", *variables)
    try:
        outputs_json = tmp_path / "outputs.json"
        outputs_json.write_text(tflocal(localstack, "output", "-json"))
        outputs = {k: v["value"] for k, v in json.loads(outputs_json.read_text()).items()}
        ddb, sqs = client("dynamodb", localstack), client("sqs", localstack)
        source, replica = outputs["source_table_name"], outputs["replica_table_name"]

        # GIVEN 20 items, one of which has a numeric GSI_1_PK the replica's string-keyed GSI refuses
        for i in range(20):
            gsi = {"N": "42"} if i == 7 else {"S": f"host#{i}"}
            ddb.put_item(
                TableName=source, Item={"PK": {"S": f"k{i:02d}"}, "GSI_1_PK": gsi, "n": {"N": str(i)}}
            )
        poison_sequence = _sequence_of(localstack, outputs["source_table_stream_arn"], "k07")

        # THEN the poison record's batch reaches the on-failure queue, with the stream coordinates
        message = _peek_message(sqs, outputs["on_failure_queue_url"])
        info = message["DDBStreamBatchInfo"]
        assert info["streamArn"] == outputs["source_table_stream_arn"]
        assert int(info["startSequenceNumber"]) <= int(poison_sequence) <= int(info["endSequenceNumber"])
        assert message["requestContext"]["condition"] == "RetryAttemptsExhausted"
        # AND every other item replicates, exactly (records after the poison batch may still be in flight)
        expected = {
            item["PK"]["S"]: item for item in ddb.scan(TableName=source)["Items"] if item["PK"]["S"] != "k07"
        }
        assert len(expected) == 19
        assert _wait_for_items(ddb, replica, expected) == expected

        # AND status needs attention for the failed batch, and the queue's alarm fires
        code, out = ddb_replica(localstack, "status", "--outputs-json", str(outputs_json))
        assert code == 1, out
        assert f"failed batches in {name}-fn-dlq: fix the cause, then ddb-replica redrive" in out
        alarm = _queue_alarm(client("cloudwatch", localstack), outputs["alarm_names"]["on-failure-queue"])
        assert (alarm["MetricName"], alarm["Namespace"]) == ("ApproximateNumberOfMessagesVisible", "AWS/SQS")
        assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": f"{name}-fn-dlq"}]
        assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0.0)
        assert _wait_for_alarm(client("cloudwatch", localstack), alarm["AlarmName"], "ALARM") == "ALARM"

        # WHEN the cause is fixed (the replica's index keyed by another attribute), and the batch redriven
        tflocal(
            localstack,
            "apply",
            "-auto-approve",
            "-input=false",
            "-no-color",
            *variables,
            "-var",
            "replica_index_key=GSI_1_HOST",
        )
        code, out = ddb_replica(localstack, "redrive", "--outputs-json", str(outputs_json))
        # THEN the queue is empty, the replica equals the source, and status is healthy again
        assert code == 0, out
        assert "deleted" in out and "1 redriven, 0 kept" in out
        assert _queue_depth(sqs, outputs["on_failure_queue_url"]) == 0
        code, out = ddb_replica(localstack, "verify", "--source", source, "--replica", replica)
        assert code == 0, out
        assert "identical: yes" in out
        # (the queue's alarm may still be in ALARM until its next metrics: status names it as clearing)
        code, out = ddb_replica(localstack, "status", "--outputs-json", str(outputs_json))
        assert code == 0, out
        assert f"{name}-fn-dlq: empty" in out and out.splitlines()[-1] == "healthy"
    finally:
        tflocal(localstack, "destroy", "-auto-approve", "-input=false", "-no-color", *variables)


def ddb_replica(endpoint: str, *args: str) -> tuple[int, str]:
    """The CLI as an operator runs it; its exit code and everything it printed."""
    result = subprocess.run(
        [str(VENV_BIN / "ddb-replica"), *args],
        cwd=ROOT,
        env=tool_env(endpoint),
        capture_output=True,
        text=True,
    )
    return result.returncode, result.stdout + result.stderr


def _queue_alarm(cloudwatch: Any, alarm_name: str) -> dict[str, Any]:
    alarms: list[dict[str, Any]] = cloudwatch.describe_alarms(AlarmNames=[alarm_name])["MetricAlarms"]
    assert len(alarms) == 1, alarms
    return alarms[0]


def _wait_for_alarm(cloudwatch: Any, alarm_name: str, state: str, timeout: float = 150.0) -> str:
    """The alarm's state once it is ``state`` or ``timeout`` has passed (LocalStack evaluates an alarm once
    per period, 60 s here, on the SQS metrics it reports every 10 s: tools/localstack.sh)."""
    deadline = time.monotonic() + timeout
    while True:
        current = str(_queue_alarm(cloudwatch, alarm_name)["StateValue"])
        if current == state or time.monotonic() > deadline:
            return current
        time.sleep(2)


def _queue_depth(sqs: Any, queue_url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def _sequence_of(endpoint: str, stream_arn: str, pk: str) -> str:
    streams = client("dynamodbstreams", endpoint)
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(
        StreamArn=stream_arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )
    records = streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"]
    sequence: str = next(
        r["dynamodb"]["SequenceNumber"] for r in records if r["dynamodb"]["Keys"]["PK"]["S"] == pk
    )
    return sequence


def _wait_for_items(ddb: Any, table: str, expected: dict[str, Any], timeout: float = 60.0) -> dict[str, Any]:
    """The table's items by PK, once they equal ``expected`` or ``timeout`` has passed."""
    deadline = time.monotonic() + timeout
    while True:
        items = {item["PK"]["S"]: item for item in ddb.scan(TableName=table, ConsistentRead=True)["Items"]}
        if items == expected or time.monotonic() > deadline:
            return items
        time.sleep(0.5)


def _peek_message(sqs: Any, queue_url: str, timeout: float = 90.0) -> dict[str, Any]:
    """The queue's one message, left visible for the commands that follow."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages"
        )
        if found:
            assert len(found) == 1, found
            sqs.change_message_visibility(
                QueueUrl=queue_url, ReceiptHandle=found[0]["ReceiptHandle"], VisibilityTimeout=0
            )
            body: dict[str, Any] = json.loads(found[0]["Body"])
            return body
    raise AssertionError(f"no message on {queue_url} within {timeout} s")
