"""Several replica targets from one stream: regions, accounts (an assumed writer role), faults per target."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from botocore.credentials import AssumeRoleCredentialFetcher
from botocore.exceptions import ClientError

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "lambda_src"))
sys.path.insert(0, str(Path(__file__).parent))

import ddbreplica_lambda as replica
import replica_targets
from replica_targets import ReplicaTarget, TargetError, parse_targets
from stream_events import (
    OTHER_ACCOUNT,
    REGION,
    REPLICA,
    WRITER_ROLE,
    FakeContext,
    FaultyClient,
    SourceTable,
    create_table,
    dynamodb,
    failures,
    lambda_event,
    moto_aws,
    other_account,
    scan,
    sequence_numbers,
)

EU, AU = "eu-west-1", "ap-southeast-2"


@pytest.fixture
def aws() -> Iterator[None]:
    with moto_aws():
        os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
        replica.replica_client.cache_clear()
        yield
        replica.replica_client.cache_clear()


def item(number: int) -> dict[str, Any]:
    return {"PK": {"S": f"request#{number}"}, "n": {"N": str(number)}}


def log_lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


# --- the handler's own configuration: REPLICA_TARGETS ----------------------------------------------------


@pytest.mark.usefixtures("aws")
def test_every_target_gets_the_batch_in_its_region_and_account(capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN a replica here, one in eu-west-1, and one in another account in ap-southeast-2
    create_table(REPLICA)
    create_table(REPLICA, region=EU)
    create_table(REPLICA, client=other_account(AU))
    os.environ["REPLICA_TARGETS"] = json.dumps(
        {
            "here": {"table_name": REPLICA},
            "eu": {"table_name": REPLICA, "region": EU},
            "au": {"table_name": REPLICA, "region": AU, "role_arn": WRITER_ROLE, "external_id": "lab"},
        }
    )
    source = SourceTable.create()
    source.put(item(1), item(2), item(3))
    source.delete({"PK": item(2)["PK"]})
    # WHEN two invocations
    records = source.records()
    first = replica.lambda_handler(lambda_event(records[:2]), FakeContext())
    second = replica.lambda_handler(lambda_event(records[2:]), FakeContext())
    # THEN every target has every change, and nothing reached this account's table in ap-southeast-2
    assert first == second == failures()
    expected = [item(1), item(3)]
    assert scan(REPLICA) == scan(REPLICA, region=EU) == scan(REPLICA, client=other_account(AU)) == expected
    with pytest.raises(dynamodb(AU).exceptions.ResourceNotFoundException):
        dynamodb(AU).describe_table(TableName=REPLICA)
    # AND one log line per target and invocation, each naming its target
    lines = log_lines(capsys)
    assert [line["target"] for line in lines] == ["here", "eu", "au"] * 2
    assert all(line["failures"] == 0 and line["errors"] == [] for line in lines)
    assert [line["write_calls"] for line in lines] == [1] * 6


@pytest.mark.usefixtures("aws")
def test_the_writer_role_is_assumed_once_per_container_with_the_external_id(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN a target in another account, and every AssumeRole call recorded
    create_table(REPLICA, client=other_account(AU))
    calls: list[dict[str, Any]] = []
    real = AssumeRoleCredentialFetcher.__init__

    def recording(self: Any, *args: Any, **kwargs: Any) -> None:
        real(self, *args, **kwargs)
        fetch = self._get_credentials

        def counted() -> Any:
            calls.append({"role": self._role_arn, **self._assume_kwargs})
            return fetch()

        self._get_credentials = counted

    monkeypatch.setattr(AssumeRoleCredentialFetcher, "__init__", recording)
    os.environ["REPLICA_TARGETS"] = json.dumps(
        {"au": {"table_name": REPLICA, "region": AU, "role_arn": WRITER_ROLE, "external_id": "lab-42"}}
    )
    source = SourceTable.create()
    source.put(item(1))
    source.put(item(2))
    records = source.records()
    # WHEN two invocations in one container
    replica.lambda_handler(lambda_event(records[:1]), FakeContext())
    replica.lambda_handler(lambda_event(records[1:]), FakeContext())
    # THEN the role was assumed once, by its ARN, with the external ID and a session name naming the target
    assert calls == [
        {
            "role": WRITER_ROLE,
            "RoleArn": WRITER_ROLE,
            "RoleSessionName": "ddb-replica-au",
            "ExternalId": "lab-42",
        }
    ]
    assert scan(REPLICA, client=other_account(AU)) == [item(1), item(2)]


# --- faults of one target ------------------------------------------------------------------------------


def deny_assume_role(session: boto3.session.Session) -> None:
    """STS refuses the writer role (a missing role, a trust policy that does not name the caller)."""

    def deny(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        response = AWSResponse("https://sts.amazonaws.com/", 403, HTTPHeaders(), None)
        error = {"Code": "AccessDenied", "Message": "not authorized to perform sts:AssumeRole"}
        return response, {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 403}}

    session.events.register("before-call.sts.AssumeRole", deny)  # type: ignore[arg-type]


@pytest.mark.usefixtures("aws")
def test_a_role_that_cannot_be_assumed_fails_the_records_and_is_named_while_other_targets_are_written(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # GIVEN a target here and one in another account whose role STS refuses
    create_table(REPLICA)
    create_table(REPLICA, client=other_account(AU))
    source_session = boto3.session.Session(region_name=REGION)
    deny_assume_role(source_session)
    remote = ReplicaTarget("au", REPLICA, AU, WRITER_ROLE)
    targets = [
        replica.Target(dynamodb(), REPLICA, FakeContext(), name="here"),
        replica.Target(
            replica_targets.dynamodb_client(remote, replica.CLIENT_CONFIG, source_session),
            REPLICA,
            FakeContext(),
            name="au",
            role_arn=WRITER_ROLE,
        ),
    ]
    source = SourceTable.create()
    source.put(item(1), item(2))
    records = source.records()
    # WHEN
    response = replica.replicate(lambda_event(records), *targets)
    # THEN every record is failed (not everywhere), the target here has them, the other account nothing
    assert response == failures(*sequence_numbers(records))
    assert scan(REPLICA) == [item(1), item(2)]
    assert scan(REPLICA, client=other_account(AU)) == []
    # AND the other target's log line names the role and the target
    here, au = log_lines(capsys)
    assert (here["target"], here["failures"], here["errors"], here["target_error"]) == ("here", 0, [], None)
    assert (au["target"], au["failures"], au["puts"], au["errors"]) == ("au", 2, 2, [])
    assert au["target_error"].startswith(f"target au: cannot assume {WRITER_ROLE} (ClientError: ")
    assert "AccessDenied" in au["target_error"]


@pytest.mark.usefixtures("aws")
def test_a_missing_target_table_fails_the_records_and_a_replay_after_the_fix_lands_everywhere(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # GIVEN two targets, the second one's table not created yet
    create_table(REPLICA)
    targets = [
        replica.Target(dynamodb(), REPLICA, FakeContext(), name="here"),
        replica.Target(dynamodb(EU), REPLICA, FakeContext(), name="eu"),
    ]
    source = SourceTable.create()
    source.put(item(1), item(2))
    source.delete({"PK": item(1)["PK"]})
    records = source.records()
    # WHEN the batch is delivered, the table created, and the batch delivered again (Lambda's retry)
    first = replica.replicate(lambda_event(records), *targets)
    create_table(REPLICA, region=EU)
    second = replica.replicate(lambda_event(records), *targets)
    # THEN the first delivery failed every record, the replay landed everywhere, with the same result
    assert first == failures(*sequence_numbers(records))
    assert second == failures()
    assert scan(REPLICA) == scan(REPLICA, region=EU) == [item(2)]
    first_eu = log_lines(capsys)[1]
    assert first_eu["target"] == "eu" and "ResourceNotFoundException" in first_eu["target_error"]


@pytest.mark.usefixtures("aws")
def test_when_no_target_can_be_written_the_invocation_fails() -> None:
    # GIVEN two targets whose tables are both missing
    targets = [
        replica.Target(dynamodb(), REPLICA, FakeContext(), name="here"),
        replica.Target(dynamodb(EU), REPLICA, FakeContext(), name="eu"),
    ]
    source = SourceTable.create()
    source.put(item(1))
    # WHEN / THEN a function error (Lambda's Errors metric and bisection see it), not a quiet report
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        replica.replicate(lambda_event(source.records()), *targets)


@pytest.mark.usefixtures("aws")
def test_a_target_that_throttles_forever_gets_its_share_of_the_time_and_the_next_one_is_written() -> None:
    # GIVEN a first target that always throttles, and a second that works; one clock for both
    create_table(REPLICA)
    create_table(REPLICA, region=EU)
    context = FakeContext(remaining_ms=replica.SAFETY_MARGIN_MS + 4_000)
    throttled = FaultyClient(dynamodb(), then="throttle")
    targets = [
        replica.Target(throttled.as_client(), REPLICA, context, sleep=context.sleep, alarm=context.alarm),
        replica.Target(dynamodb(EU), REPLICA, context, sleep=context.sleep, alarm=context.alarm, name="eu"),
    ]
    source = SourceTable.create()
    source.put(item(1), item(2))
    records = source.records()
    # WHEN
    response = replica.replicate(lambda_event(records), *targets)
    # THEN the records are failed (not in the first target), the second target has them, and the first
    # one's retries stopped within its half of the time
    assert response == failures(*sequence_numbers(records))
    assert scan(REPLICA) == []
    assert scan(REPLICA, region=EU) == [item(1), item(2)]
    assert sum(context.sleeps) <= 2.0
    assert context.remaining_ms > replica.SAFETY_MARGIN_MS


# --- the description -----------------------------------------------------------------------------------


def test_targets_come_from_the_modules_output_or_a_list() -> None:
    output: dict[str, dict[str, str | None]] = {
        "eu": {"table_name": "t", "region": EU, "role_arn": None, "external_id": None},
        "au": {
            "table_name": "t",
            "table_arn": f"arn:aws:dynamodb:{AU}:{OTHER_ACCOUNT}:table/t",
            "region": AU,
            "role_arn": WRITER_ROLE,
            "external_id": "x",
        },
    }
    expected = (ReplicaTarget("eu", "t", EU), ReplicaTarget("au", "t", AU, WRITER_ROLE, "x"))
    assert parse_targets(json.dumps(output), "out") == expected
    assert parse_targets(json.dumps({"value": output, "type": "object"}), "out") == expected
    listed = [{"name": name, **entry} for name, entry in output.items()]
    assert parse_targets(json.dumps(listed), "out") == expected


@pytest.mark.parametrize(
    "document, message",
    [
        ("{", "out: not JSON"),
        ("{}", "out: no targets"),
        ('{"a": {"table_name": "t", "color": "red"}}', r"out\[0\]: unknown field\(s\) color"),
        ('{"a": {"region": "eu-west-1"}}', r"out\[0\]: name and table_name are required"),
        ('{"a": {"table_name": 5}}', r"out\[0\]: table_name must be a string"),
        ('{"a": {"table_name": "t", "role_arn": "writer"}}', "is not an IAM role ARN"),
        ('[{"name": "a", "table_name": "t"}, {"name": "a", "table_name": "u"}]', "used twice: a"),
        (
            '{"a": {"table_name": "t", "region": "eu-west-1"}, '
            '"b": {"table_name": "t", "region": "eu-west-1"}}',
            r"target a \(table t in eu-west-1\) is configured twice",
        ),
    ],
)
def test_a_bad_description_is_refused_with_what_to_fix(document: str, message: str) -> None:
    with pytest.raises(TargetError, match=message):
        parse_targets(document, "out")


def test_the_session_name_is_valid_for_any_target_name() -> None:
    assert replica_targets.session_name("eu west/1") == "ddb-replica-eu-west-1"
    assert len(replica_targets.session_name("x" * 100)) == 64
