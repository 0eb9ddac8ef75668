"""examples/workshop applied with tflocal on LocalStack, once with Terraform and once with OpenTofu: the
deployed resources carry the lab's values, a second plan is empty, and destroy leaves nothing behind."""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
from e2e import client as aws  # noqa: E402
from workdirs import TfLocal, example_copy  # noqa: E402

pytestmark = pytest.mark.localstack


class Stack:
    """The workshop example with unique names, in a copy of its own (workdirs.py): the e2e test and the other
    CLI's run use the example at the same time."""

    def __init__(self, endpoint: str, workdir: Path, cli: str) -> None:
        self.example = example_copy("workshop", workdir)
        suffix = uuid.uuid4().hex[:6]
        self.names = {
            "source_table_name": f"logfile-{suffix}",
            "replica_table_name": f"logfile_replica-{suffix}",
            "lambda_function_name": f"ddbreplica_lambda-{suffix}",
        }
        self.state = workdir / "terraform.tfstate"
        self.tflocal = TfLocal(self.example, workdir, endpoint, cli)

    def variables(self) -> list[str]:
        return [f"-state={self.state}", *(f"-var={name}={value}" for name, value in self.names.items())]


# One xdist group per CLI: each apply/destroy cycle stays on one worker, and the two CLIs run side by side.
@pytest.fixture(
    scope="module",
    params=[
        pytest.param("TF", id="terraform", marks=pytest.mark.xdist_group("apply-terraform")),
        pytest.param("TOFU", id="opentofu", marks=pytest.mark.xdist_group("apply-opentofu")),
    ],
)
def applied(
    request: pytest.FixtureRequest, localstack: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Stack, dict[str, Any]]]:
    stack = Stack(localstack, tmp_path_factory.mktemp("workshop"), request.param)
    stack.tflocal("init", "-input=false")
    with stack.tflocal.sharing_provider():
        stack.tflocal("apply", "-auto-approve", "-input=false", *stack.variables())
        outputs = json.loads(stack.tflocal("output", f"-state={stack.state}", "-json").stdout)
        try:
            yield stack, {name: value["value"] for name, value in outputs.items()}
        finally:
            stack.tflocal("destroy", "-auto-approve", "-input=false", *stack.variables(), check=False)


def test_tables_have_the_lab_schema(applied: tuple[Stack, dict[str, Any]], localstack: str) -> None:
    stack, _ = applied
    ddb = aws("dynamodb", localstack)
    source = ddb.describe_table(TableName=stack.names["source_table_name"])["Table"]
    replica = ddb.describe_table(TableName=stack.names["replica_table_name"])["Table"]

    for table in (source, replica):
        assert table["KeySchema"] == [{"AttributeName": "PK", "KeyType": "HASH"}]
        (gsi,) = table["GlobalSecondaryIndexes"]
        assert gsi["IndexName"] == "GSI_1"
        assert gsi["KeySchema"] == [{"AttributeName": "GSI_1_PK", "KeyType": "HASH"}]
        assert gsi["Projection"]["ProjectionType"] == "INCLUDE"
    assert source["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    assert source["GlobalSecondaryIndexes"][0]["Projection"]["NonKeyAttributes"] == ["bytessent"]
    assert sorted(replica["GlobalSecondaryIndexes"][0]["Projection"]["NonKeyAttributes"]) == [
        "bytessent",
        "host",
        "requestid",
    ]
    capacities = {
        name: (
            t["ProvisionedThroughput"]["ReadCapacityUnits"],
            t["ProvisionedThroughput"]["WriteCapacityUnits"],
        )
        for name, t in (("source", source), ("replica", replica))
    }
    assert capacities == {"source": (5, 5), "replica": (10, 5)}
    gsi_capacities = {
        name: tuple(
            t["GlobalSecondaryIndexes"][0]["ProvisionedThroughput"][unit]
            for unit in ("ReadCapacityUnits", "WriteCapacityUnits")
        )
        for name, t in (("source", source), ("replica", replica))
    }
    assert gsi_capacities == {"source": (5, 5), "replica": (10, 5)}
    tags = ddb.list_tags_of_resource(ResourceArn=replica["TableArn"])["Tags"]
    assert {"Key": "workshop-design-patterns", "Value": "targeted-for-cleanup"} in tags


def test_function_and_mapping_have_the_lab_settings(
    applied: tuple[Stack, dict[str, Any]], localstack: str
) -> None:
    stack, outputs = applied
    lam = aws("lambda", localstack)
    function = lam.get_function_configuration(FunctionName=stack.names["lambda_function_name"])
    assert (function["Runtime"], function["Handler"], function["Timeout"]) == (
        "python3.12",
        "ddbreplica_lambda.lambda_handler",
        60,
    )
    assert function["Environment"]["Variables"]["REPLICA_TABLE"] == stack.names["replica_table_name"]
    source = aws("dynamodb", localstack).describe_table(TableName=stack.names["source_table_name"])["Table"]
    assert function["Environment"]["Variables"]["SOURCE_TABLE_ARN"] == source["TableArn"]

    mapping = lam.get_event_source_mapping(UUID=outputs["event_source_mapping_uuid"])
    assert mapping["EventSourceArn"] == outputs["source_table_stream_arn"]
    assert (mapping["BatchSize"], mapping["StartingPosition"], mapping["State"]) == (
        100,
        "TRIM_HORIZON",
        "Enabled",
    )
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BisectBatchOnFunctionError"] is True
    assert mapping["MaximumRetryAttempts"] == 10
    dlq_arn = aws("sqs", localstack).get_queue_attributes(
        QueueUrl=outputs["dlq_url"], AttributeNames=["QueueArn"]
    )
    assert mapping["DestinationConfig"]["OnFailure"]["Destination"] == dlq_arn["Attributes"]["QueueArn"]


def test_alarms_watch_the_lag_the_failures_and_the_queue(
    applied: tuple[Stack, dict[str, Any]], localstack: str
) -> None:
    stack, outputs = applied
    function = stack.names["lambda_function_name"]
    names: dict[str, str] = outputs["alarm_names"]
    found = aws("cloudwatch", localstack).describe_alarms(AlarmNames=list(names.values()))["MetricAlarms"]
    alarms = {alarm["AlarmName"]: alarm for alarm in found}
    assert sorted(names) == [
        "dropped-events",
        "errors",
        "failed-invoke-events",
        "iterator-age",
        "on-failure-delivered-events",
        "on-failure-queue",
        "throttles",
    ]
    assert sorted(alarms) == sorted(names.values())

    def watched(kind: str) -> tuple[str, str, float, list[dict[str, str]]]:
        alarm = alarms[names[kind]]
        assert (alarm["ComparisonOperator"], alarm["TreatMissingData"]) == (
            "GreaterThanThreshold",
            "notBreaching",
        )
        return alarm["Namespace"], alarm["MetricName"], alarm["Threshold"], alarm["Dimensions"]

    by_function = [{"Name": "FunctionName", "Value": function}]
    assert watched("iterator-age") == ("AWS/Lambda", "IteratorAge", 600_000.0, by_function)
    assert watched("errors") == ("AWS/Lambda", "Errors", 0.0, by_function)
    queue = outputs["dlq_url"].rsplit("/", 1)[1]
    assert watched("on-failure-queue") == (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        0.0,
        [{"Name": "QueueName", "Value": queue}],
    )
    # the mapping publishes its own metrics, which two alarms read by its UUID
    uuid = outputs["event_source_mapping_uuid"]
    mapping = aws("lambda", localstack).get_event_source_mapping(UUID=uuid)
    assert mapping["MetricsConfig"] == {"Metrics": ["EventCount"]}
    by_mapping = [{"Name": "EventSourceMappingUUID", "Value": uuid}]
    assert watched("failed-invoke-events") == ("AWS/Lambda", "FailedInvokeEventCount", 0.0, by_mapping)
    assert watched("dropped-events") == ("AWS/Lambda", "DroppedEventCount", 0.0, by_mapping)
    delivered = ("AWS/Lambda", "OnFailureDestinationDeliveredEventCount", 0.0, by_mapping)
    assert watched("on-failure-delivered-events") == delivered


def test_role_policy_is_scoped_to_the_stream_and_replica(
    applied: tuple[Stack, dict[str, Any]], localstack: str
) -> None:
    _, outputs = applied
    iam = aws("iam", localstack)
    role = outputs["lambda_role_arn"].rsplit("/", 1)[1]
    (policy_name,) = iam.list_role_policies(RoleName=role)["PolicyNames"]
    document = iam.get_role_policy(RoleName=role, PolicyName=policy_name)["PolicyDocument"]
    parsed = json.loads(document) if isinstance(document, str) else document
    statements = {s["Sid"]: s for s in parsed["Statement"]}
    resources = {
        sid: s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]
        for sid, s in statements.items()
    }

    stream = statements["ReadSourceStream"]
    assert sorted(stream["Action"]) == [
        "dynamodb:DescribeStream",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
    ]
    assert resources["ReadSourceStream"] == [outputs["source_table_stream_arn"]]
    write = statements["WriteReplicaTable"]
    assert sorted(write["Action"]) == ["dynamodb:BatchWriteItem", "dynamodb:DeleteItem", "dynamodb:PutItem"]
    assert resources["WriteReplicaTable"] == [outputs["replica_table_arn"]]
    # ListStreams has no resource type in IAM, so AWS only accepts "*" for it: the one wildcard.
    wildcards = [sid for sid, listed in resources.items() if "*" in listed]
    assert wildcards == ["ListStreams"]
    assert statements["ListStreams"]["Action"] in ("dynamodb:ListStreams", ["dynamodb:ListStreams"])


def test_second_plan_is_empty(applied: tuple[Stack, dict[str, Any]]) -> None:
    stack, _ = applied
    result = stack.tflocal("plan", "-detailed-exitcode", "-input=false", *stack.variables(), check=False)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-3000:]


def test_destroy_leaves_nothing(applied: tuple[Stack, dict[str, Any]], localstack: str) -> None:
    stack, outputs = applied
    stack.tflocal("destroy", "-auto-approve", "-input=false", *stack.variables())

    assert not set(stack.names.values()) & set(aws("dynamodb", localstack).list_tables()["TableNames"])
    functions = [f["FunctionName"] for f in aws("lambda", localstack).list_functions()["Functions"]]
    assert stack.names["lambda_function_name"] not in functions
    assert outputs["dlq_url"] not in aws("sqs", localstack).list_queues().get("QueueUrls", [])
    roles = [r["RoleName"] for r in aws("iam", localstack).list_roles()["Roles"]]
    assert outputs["lambda_role_arn"].rsplit("/", 1)[1] not in roles
    groups = aws("logs", localstack).describe_log_groups(
        logGroupNamePrefix=outputs["lambda_cloudwatch_log_group_name"]
    )
    assert groups["logGroups"] == []
    alarms = aws("cloudwatch", localstack).describe_alarms(AlarmNames=list(outputs["alarm_names"].values()))
    assert alarms["MetricAlarms"] == []
