"""``ddb-replica status`` on moto: a healthy replication exits 0; a failed batch in the queue, a lag over the
threshold, an alarm in ALARM and a disabled mapping each need attention (exit 1, one reason each); the
failures shown come from the handler's own log line, written by the handler on real stream records."""

from __future__ import annotations

import io
import json
import sys
import time
from collections.abc import Iterator
from contextlib import redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "lambda_src"))
sys.path.insert(0, str(Path(__file__).parent))

import ddbreplica_lambda as handler
from stream_events import (
    REPLICA,
    FakeContext,
    SourceTable,
    client,
    create_table,
    dynamodb,
    function_with_mapping,
    lambda_event,
    moto_aws,
)

from loader.ddb_replica import cli

FUNCTION = "ddbreplica_lambda"
LOG_GROUP = f"/aws/lambda/{FUNCTION}"


@dataclass
class Replication:
    """The module's parts on moto: tables, function, mapping, on-failure queue, log group, one alarm; and the
    handler's log lines for two items, with one replica (``written``) and with a second, missing one
    (``failed``)."""

    source: SourceTable
    mapping_uuid: str
    queue_url: str
    written: list[str]
    failed: list[str]

    def status(self, *extra: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
        capsys.readouterr()
        code = cli.main(
            [
                "status",
                "--function",
                FUNCTION,
                "--source",
                self.source.name,
                "--replica",
                REPLICA,
                "--queue-url",
                self.queue_url,
                *extra,
            ]
        )
        captured = capsys.readouterr()
        return code, captured.out, captured.err


def handler_lines(records: list[Any], *tables: str) -> list[str]:
    """The handler's log lines for these stream records, written to these tables (a missing one fails)."""
    out = io.StringIO()
    with redirect_stdout(out):
        targets = [handler.Target(dynamodb(), table, FakeContext()) for table in tables]
        handler.replicate(lambda_event(records), *targets)
    return [line for line in out.getvalue().splitlines() if line.startswith("{")]


@pytest.fixture
def replication() -> Iterator[Replication]:
    with moto_aws():
        source = SourceTable.create()
        create_table(REPLICA)
        source.put({"PK": {"S": "a"}}, {"PK": {"S": "b"}})
        # before the mapping exists: moto's own mapping would take the stream's records
        records = source.records()
        written, failed = handler_lines(records, REPLICA), handler_lines(records, REPLICA, "missing_replica")
        mapping = function_with_mapping(source.stream_arn, FUNCTION)
        queue = client("sqs").create_queue(QueueName=f"{FUNCTION}-dlq")["QueueUrl"]
        client("logs").create_log_group(logGroupName=LOG_GROUP)
        client("logs").create_log_stream(logGroupName=LOG_GROUP, logStreamName=LOG_STREAM)
        client("cloudwatch").put_metric_alarm(
            AlarmName=f"{FUNCTION}-errors",
            Namespace="AWS/Lambda",
            MetricName="Errors",
            Dimensions=[{"Name": "FunctionName", "Value": FUNCTION}],
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=0,
            ComparisonOperator="GreaterThanThreshold",
        )
        yield Replication(source, mapping, queue, written, failed)


LOG_STREAM = "2026/12/02/[$LATEST]abc"


def log(lines: list[str]) -> None:
    now = int(time.time() * 1000)
    events = [{"timestamp": now, "message": line} for line in lines]
    client("logs").put_log_events(logGroupName=LOG_GROUP, logStreamName=LOG_STREAM, logEvents=events)


def test_a_healthy_replication_exits_0_and_labels_item_counts_approximate(
    replication: Replication, capsys: pytest.CaptureFixture[str]
) -> None:
    log(replication.written)
    code, out, err = replication.status(capsys=capsys)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == f"replication {FUNCTION}: logfile -> {REPLICA}"
    assert any(line.split()[:2] == ["mapping", "Enabled,"] for line in lines), out
    assert f"{FUNCTION}-dlq: empty" in out
    assert "1 alarms, 0 in ALARM" in out
    assert "no failed records in the last 60 min" in out
    assert "(approximate: DynamoDB updates item counts about every 6 hours)" in out
    assert lines[-1] == "healthy"


def test_each_problem_needs_attention_with_its_reason(
    replication: Replication, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a batch the handler could not write to one target (its log line), its metadata in the queue,
    log(replication.failed)
    client("sqs").send_message(
        QueueUrl=replication.queue_url, MessageBody=json.dumps({"DDBStreamBatchInfo": {}})
    )
    # a lag of 15 minutes, and the errors alarm firing
    client("cloudwatch").put_metric_data(
        Namespace="AWS/Lambda",
        MetricData=[
            {
                "MetricName": "IteratorAge",
                "Dimensions": [{"Name": "FunctionName", "Value": FUNCTION}],
                "Value": 900_000.0,
                "Unit": "Milliseconds",
            }
        ],
    )
    client("cloudwatch").set_alarm_state(
        AlarmName=f"{FUNCTION}-errors", StateValue="ALARM", StateReason="test"
    )
    # WHEN
    code, out, _ = replication.status(capsys=capsys)
    # THEN one reason per problem, and the failure from the log line named
    assert code == 1
    reasons = out.split("needs attention:\n", 1)[1].splitlines()
    assert reasons == [
        "  - the replica is 900 s behind, over 600 s",
        f"  - 1 failed batches in {FUNCTION}-dlq: fix the cause, then ddb-replica redrive",
        f"  - in ALARM: {FUNCTION}-errors",
    ]
    assert (
        "2 failed records in 1 invocations" in out
        and "missing_replica 2 failed: target missing_replica" in out
    )
    # AND the same as one JSON document
    code, out, _ = replication.status("--json", "--max-lag-seconds", "1000", capsys=capsys)
    document = json.loads(out)
    assert code == 1 and document["healthy"] is False and len(document["reasons"]) == 2
    assert document["checks"]["lag"]["iterator_age_seconds"] == 900.0
    assert document["checks"]["queue"]["messages"] == 1
    assert document["checks"]["failures"]["recent"][0]["target"] == "missing_replica"
    assert document["checks"]["items"]["approximate_item_counts"] == {"logfile": 2, REPLICA: 2}


def test_a_disabled_mapping_needs_attention(
    replication: Replication, capsys: pytest.CaptureFixture[str]
) -> None:
    client("lambda").update_event_source_mapping(UUID=replication.mapping_uuid, Enabled=False)
    code, out, _ = replication.status("--mapping-uuid", replication.mapping_uuid, capsys=capsys)
    assert code == 1
    assert "  - the mapping is Disabled, not Enabled: nothing is replicated" in out


def test_the_replication_is_read_from_terraform_outputs(
    replication: Replication, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    outputs = {
        "lambda_function_name": {"value": FUNCTION, "type": "string", "sensitive": False},
        "source_table_name": {"value": "logfile", "type": "string", "sensitive": False},
        "replica_targets": {
            "value": {
                REPLICA: {
                    "table_name": REPLICA,
                    "region": None,
                    "role_arn": None,
                    "external_id": None,
                    "table_arn": "x",
                }
            },
            "type": ["object", {}],
            "sensitive": False,
        },
        "event_source_mapping_uuid": {
            "value": replication.mapping_uuid,
            "type": "string",
            "sensitive": False,
        },
        "on_failure_queue_url": {"value": replication.queue_url, "type": "string", "sensitive": False},
        "alarm_names": {
            "value": {"errors": f"{FUNCTION}-errors"},
            "type": ["map", "string"],
            "sensitive": False,
        },
    }
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(outputs))
    assert cli.main(["status", "--outputs-json", str(path), "--quiet"]) == 0
    assert capsys.readouterr().out == "healthy\n"
    # an output missing, or a flag beside the file: nothing checked, the fix named
    del outputs["lambda_function_name"]
    path.write_text(json.dumps(outputs))
    assert cli.main(["status", "--outputs-json", str(path)]) == 2
    assert f"--outputs-json {path}: no lambda_function_name" in capsys.readouterr().err
    assert cli.main(["status", "--outputs-json", str(path), "--function", FUNCTION]) == 2
    assert "--function: --outputs-json says where the replication is" in capsys.readouterr().err
    assert cli.main(["status", "--function", FUNCTION]) == 2
    assert "name the replication" in capsys.readouterr().err


def firing_depth_alarm(name: str, queue: str) -> None:
    """An alarm on the visible messages of ``queue``, as the module makes it, set to ALARM."""
    client("cloudwatch").put_metric_alarm(
        AlarmName=name,
        Namespace="AWS/SQS",
        MetricName="ApproximateNumberOfMessagesVisible",
        Dimensions=[{"Name": "QueueName", "Value": queue}],
        Statistic="Maximum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=0,
        ComparisonOperator="GreaterThanThreshold",
    )
    client("cloudwatch").set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="test")


def test_the_queue_alarm_of_an_emptied_queue_is_clearing_not_attention(
    replication: Replication, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN the queue's alarm still in ALARM (SQS metrics lag) while the queue is empty (just redriven)
    firing_depth_alarm(f"{FUNCTION}-on-failure-queue", f"{FUNCTION}-dlq")
    code, out, _ = replication.status(capsys=capsys)
    assert code == 0, out
    assert (
        f"{FUNCTION}-on-failure-queue: the queue is empty now, the alarm clears with its next metrics" in out
    )
    # AND an alarm on another queue's depth is no such alarm: it needs attention
    firing_depth_alarm(f"{FUNCTION}-other-queue", "another-queue")
    code, out, _ = replication.status(capsys=capsys)
    assert code == 1
    assert f"  - in ALARM: {FUNCTION}-other-queue" in out.splitlines()
    client("cloudwatch").delete_alarms(AlarmNames=[f"{FUNCTION}-other-queue"])
    # AND with a message in the queue, the same alarm needs attention
    client("sqs").send_message(QueueUrl=replication.queue_url, MessageBody="{}")
    code, out, _ = replication.status(capsys=capsys)
    assert code == 1
    assert f"  - in ALARM: {FUNCTION}-on-failure-queue" in out.splitlines()
