"""tools/policy_lint.py: parliament's findings come back by statement, and the one explained finding (a stream
label's colons) is let through only where it is that and nothing else."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
from policy_lint import policy_findings

STREAM = "arn:aws:dynamodb:us-east-1:123456789012:table/logfile/stream/2026-01-01T00:00:00.000"
TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/logfile"


def policy(sid: str, actions: list[str], resources: list[str]) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Write", "Effect": "Allow", "Action": ["dynamodb:PutItem"], "Resource": [TABLE]},
            {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources},
        ],
    }


def test_stream_reads_on_a_stream_arn_are_explained() -> None:
    assert policy_findings(policy("ReadSourceStream", ["dynamodb:GetRecords"], [STREAM])) == []


def test_the_explanation_covers_nothing_else() -> None:
    on_a_table = policy_findings(policy("ReadSourceStream", ["dynamodb:GetRecords"], [TABLE]))
    a_table_action_too = policy_findings(
        policy("ReadSourceStream", ["dynamodb:GetRecords", "dynamodb:PutItem"], [STREAM])
    )
    another_statement = policy_findings(policy("ReadStream", ["dynamodb:GetRecords"], [STREAM]))
    for found, sid in (
        (on_a_table, "ReadSourceStream"),
        (a_table_action_too, "ReadSourceStream"),
        (another_statement, "ReadStream"),
    ):
        assert len(found) == 1 and found[0].startswith(f"RESOURCE_MISMATCH in statement {sid}:"), found


def test_an_unknown_action_is_named_with_its_statement() -> None:
    found = policy_findings(policy("Typo", ["dynamodb:PutItems"], [TABLE]))
    assert found == ["UNKNOWN_ACTION in statement Typo: Unknown action dynamodb:PutItems"]


STATE_MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:logfile_replica-backfill"
EXECUTIONS = "arn:aws:states:us-east-1:123456789012:execution:logfile_replica-backfill:*"


def test_step_functions_resource_types_the_backfill_has_not_are_explained() -> None:
    run = policy("RunServerlessBackfill", ["states:ListExecutions", "states:StartExecution"], [STATE_MACHINE])
    follow = policy("FollowServerlessBackfill", ["states:DescribeExecution"], [EXECUTIONS])
    assert (policy_findings(run), policy_findings(follow)) == ([], [])


def test_step_functions_explanations_cover_nothing_else() -> None:
    on_a_table = policy_findings(policy("RunServerlessBackfill", ["states:StartExecution"], [TABLE]))
    executions_on_the_machine = policy_findings(
        policy("FollowServerlessBackfill", ["states:DescribeExecution"], [STATE_MACHINE])
    )
    unexplained_sid = policy_findings(policy("Run", ["states:ListExecutions"], [STATE_MACHINE]))
    for found in (on_a_table, executions_on_the_machine, unexplained_sid):
        assert len(found) == 1 and found[0].startswith("RESOURCE_MISMATCH"), found
