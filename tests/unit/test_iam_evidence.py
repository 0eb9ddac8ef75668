"""The least-privilege checker of the multi-region e2e (tests/e2e/iam_evidence.py) finds what it must: a call
no statement allows, a Deny, a resource outside the statement, a trust condition that fails, an unused
statement; and refuses a policy grammar it does not implement rather than passing it."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
from iam_evidence import Call, RolePolicies, UnsupportedPolicy, calls_from_log, judge

FUNCTION_ROLE = "arn:aws:iam::111111111111:role/repl-us-east-1"
WRITER_ROLE = "arn:aws:iam::222222222222:role/replica-ap-southeast-2-writer"
OTHER_ROLE = "arn:aws:iam::111111111111:role/someone-else"
REPLICA = "arn:aws:dynamodb:ap-southeast-2:222222222222:table/replica"


def entry(principal: str, service: str, operation: str, region: str, account: str, **params: Any) -> str:
    """One line of the call log, as tools/localstack_ext/ddb_replica_localstack/call_log.py writes it."""
    return json.dumps(
        {
            "time": 0,
            "account": account,
            "region": region,
            "service": service,
            "operation": operation,
            "status": 200,
            "principal": principal,
            "params": params,
        }
    )


def session(role: str, name: str = "s") -> str:
    account, role_name = role.split(":")[4], role.rsplit("/", 1)[1]
    return f"arn:aws:sts::{account}:assumed-role/{role_name}/{name}"


def writer(statements: list[dict[str, Any]], external_id: str | None = "xid") -> RolePolicies:
    condition: dict[str, Any] = {"ArnEquals": {"aws:PrincipalArn": [FUNCTION_ROLE]}}
    if external_id:
        condition["StringEquals"] = {"sts:ExternalId": external_id}
    trust = {
        "Statement": [
            {
                "Sid": "ReplicatorFunctionRole",
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Principal": {"AWS": "arn:aws:iam::111111111111:root"},
                "Condition": condition,
            }
        ]
    }
    return RolePolicies(WRITER_ROLE, trust, {"replica-writer": {"Statement": statements}})


WRITE = {"Sid": "Write", "Effect": "Allow", "Action": ["dynamodb:BatchWriteItem"], "Resource": [REPLICA]}
READ = {"Sid": "Read", "Effect": "Allow", "Action": ["dynamodb:Scan"], "Resource": [REPLICA]}


def batch_write(table: str = "replica", region: str = "ap-southeast-2") -> str:
    return entry(
        session(WRITER_ROLE), "dynamodb", "BatchWriteItem", region, "222222222222", RequestItems=[table]
    )


def assume(principal: str, external_id: str | None = "xid") -> str:
    params: dict[str, Any] = {"RoleArn": WRITER_ROLE, "RoleSessionName": "ddb-replica-x"}
    if external_id is not None:
        params["ExternalId"] = external_id
    return entry(principal, "sts", "AssumeRole", "us-east-1", "111111111111", **params)


def verdict_of(role: RolePolicies, *lines: str) -> Any:
    return judge([role], calls_from_log(lines, [role.arn]))[role.arn]


def test_an_allowed_call_uses_its_statement_and_an_idle_one_stays_unused() -> None:
    verdict = verdict_of(writer([WRITE, READ]), batch_write(), assume(session(FUNCTION_ROLE)))
    assert verdict.denied == []
    assert verdict.used == {"replica-writer/Write", "trust/ReplicatorFunctionRole"}  # not replica-writer/Read


def test_an_action_no_statement_names_is_denied() -> None:
    verdict = verdict_of(writer([READ]), batch_write())
    assert len(verdict.denied) == 1 and "no statement allows it" in verdict.denied[0]


def test_another_table_another_region_is_outside_the_statement() -> None:
    verdict = verdict_of(writer([WRITE]), batch_write(table="other"), batch_write(region="eu-west-1"))
    assert [line.split("(resource ")[1].split(")")[0] for line in verdict.denied] == [
        "arn:aws:dynamodb:ap-southeast-2:222222222222:table/other",
        "arn:aws:dynamodb:eu-west-1:222222222222:table/replica",
    ]


def test_a_deny_wins_over_an_allow() -> None:
    deny = {"Sid": "No", "Effect": "Deny", "Action": "dynamodb:*", "Resource": "*"}
    verdict = verdict_of(writer([WRITE, deny]), batch_write())
    assert "denied by ['replica-writer/No']" in verdict.denied[0]


def test_trust_refuses_another_role_and_a_wrong_or_missing_external_id() -> None:
    role = writer([WRITE])
    allowed = verdict_of(role, assume(session(FUNCTION_ROLE)))
    refused = verdict_of(
        role,
        assume(session(OTHER_ROLE)),
        assume(session(FUNCTION_ROLE), external_id="wrong"),
        assume(session(FUNCTION_ROLE), external_id=None),
        assume("arn:aws:iam::333333333333:root"),
    )
    assert allowed.denied == []
    assert len(refused.denied) == 4 and all("does not allow it" in line for line in refused.denied)


def test_stream_reads_map_to_the_stream_and_list_streams_to_star() -> None:
    stream = "arn:aws:dynamodb:us-east-1:111111111111:table/logfile/stream/2026-12-01T00:00:00.000"
    read = {"Sid": "ReadStream", "Effect": "Allow", "Action": ["dynamodb:GetRecords"], "Resource": [stream]}
    listing = {"Sid": "List", "Effect": "Allow", "Action": ["dynamodb:ListStreams"], "Resource": ["*"]}
    role = RolePolicies(FUNCTION_ROLE, {"Statement": []}, {"p": {"Statement": [read, listing]}})
    lines = [
        entry(
            session(FUNCTION_ROLE),
            "dynamodbstreams",
            "GetRecords",
            "us-east-1",
            "111111111111",
            ShardIterator=f"{stream}|1|abc",
        ),
        entry(session(FUNCTION_ROLE), "dynamodbstreams", "ListStreams", "us-east-1", "111111111111"),
        entry(
            session(OTHER_ROLE), "iam", "CreateRole", "us-east-1", "111111111111"
        ),  # not this role's: ignored
    ]
    verdict = verdict_of(role, *lines)
    assert (verdict.denied, verdict.used, verdict.calls) == ([], {"p/ReadStream", "p/List"}, 2)


def test_a_call_it_cannot_map_and_a_condition_it_does_not_know_are_errors() -> None:
    with pytest.raises(UnsupportedPolicy, match="no resource mapping"):
        list(
            calls_from_log(
                [entry(session(WRITER_ROLE), "s3", "PutObject", "us-east-1", "222222222222")], [WRITER_ROLE]
            )
        )
    ip = {**WRITE, "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}
    with pytest.raises(UnsupportedPolicy, match="IpAddress"):
        judge([writer([ip])], [Call(1, WRITER_ROLE, "dynamodb:BatchWriteItem", (REPLICA,), {})])


STATES_ROLE = "arn:aws:iam::111111111111:role/replica-backfill-states-us-east-1"
FUNCTION = "arn:aws:lambda:us-east-1:111111111111:function:replica-backfill"


def states_role(account: str = "111111111111") -> RolePolicies:
    trust = {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Principal": {"Service": "states.amazonaws.com"},
                "Condition": {"StringEquals": {"aws:SourceAccount": account}},
            }
        ]
    }
    invoke = {"Sid": "Invoke", "Effect": "Allow", "Action": ["lambda:InvokeFunction"], "Resource": [FUNCTION]}
    return RolePolicies(STATES_ROLE, trust, {"p": {"Statement": [invoke]}})


def test_a_state_machine_invokes_as_its_role_assumed_for_its_own_account() -> None:
    assumed = json.loads(assume("states.amazonaws.com"))
    assumed["params"] = {"RoleArn": STATES_ROLE, "RoleSessionName": "s"}
    assumed["via"] = "states.amazonaws.com"
    invoke = entry(
        session(STATES_ROLE), "lambda", "Invoke", "us-east-1", "111111111111", FunctionName=FUNCTION
    )
    other = entry(session(STATES_ROLE), "lambda", "Invoke", "us-east-1", "111111111111", FunctionName="other")
    verdict = verdict_of(states_role(), json.dumps(assumed), invoke, other)
    assert verdict.used == {"trust/0", "p/Invoke"}
    assert len(verdict.denied) == 1 and "function:other" in verdict.denied[0]
    assert "does not allow it" in verdict_of(states_role("999999999999"), json.dumps(assumed)).denied[0]
