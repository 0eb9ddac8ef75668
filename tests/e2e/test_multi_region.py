"""examples/multi-region end to end on LocalStack: one stream, replicas in two regions and two accounts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
from e2e import setup_env
from iam_evidence import RolePolicies, calls_from_log, judge
from policy_lint import policy_findings

ROOT = Path(__file__).resolve().parents[2]
# Statements the run cannot exercise on LocalStack, by Sid, with their actions and the reason; any other
# unused statement fails, and so does one of these that grants another action.
NOT_EXERCISED_HERE = {
    "ListStreams": (
        ["dynamodb:ListStreams"],
        "AWS's stream poller lists the table's streams as the role; LocalStack's does not",
    ),
    "SendFailedBatchMetadata": (
        ["sqs:SendMessage"],
        "only for a batch that failed every retry: none does in this run",
    ),
    "ReadSourceStreamRecords": (
        ["dynamodb:GetRecords", "dynamodb:GetShardIterator"],
        "ddb-replica redrive reads a failed batch's records: none fails in this run (the schema-drift e2e "
        "redrives one)",
    ),
}

pytestmark = pytest.mark.localstack


def test_every_target_converges_backfills_and_verifies(localstack: str, tmp_path: Path) -> None:
    # GIVEN the first 200 rows of the workshop data
    rows = (ROOT / "data" / "logfile_stream.csv").read_text(encoding="utf-8").splitlines(keepends=True)[:200]
    csv = tmp_path / "slice.csv"
    csv.write_text("".join(rows), encoding="utf-8")
    summary_path, log_path = tmp_path / "summary.json", tmp_path / "e2e.log"
    policies_path = tmp_path / "policies.json"
    env = {
        **os.environ,
        **setup_env(),
        "AWS_ENDPOINT_URL": localstack,
        "E2E_SUMMARY": str(summary_path),
        "E2E_LOG": str(log_path),
        "E2E_POLICIES": str(policies_path),
    }
    call_log = call_log_of(localstack)
    calls_before = call_log.read_text().count("\n")
    # WHEN the multi-region example runs end to end (apply, load, converge, backfill, verify, destroy)
    name = f"mr{uuid.uuid4().hex[:6]}"  # beside the workshop's e2e, which uses logfile
    command = [sys.executable, "tools/e2e.py", "--example", "multi-region", "--csv", str(csv), "--name", name]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    output = result.stdout[-4000:] + result.stderr[-4000:]
    assert result.returncode == 0, output + (log_path.read_text()[-4000:] if log_path.exists() else "")
    # THEN each target, in its own region and account, has every item, and its backfill copied back the
    # items deleted from it by hand
    summary: dict[str, Any] = json.loads(summary_path.read_text())
    assert summary["verified"] is True and summary["source_items"] == 200 and summary["source"] == name
    targets = summary["targets"]
    assert {name: (t["region"], t["account"]) for name, t in targets.items()} == {
        "eu": ("eu-west-1", "000000000000"),
        "other-account": ("ap-southeast-2", "222222222222"),
    }
    # AND ddb-replica status finds the replication healthy, and redrive finds nothing to do, as the operator
    assert (summary["status_exit"], summary["redrive_exit"]) == (0, 0), summary["operator_commands"]
    for target in targets.values():
        assert (target["replica_items"], target["mismatches"], target["verify_exit"]) == (200, 0, 0)
        assert target["backfill_copied"] == 25 and target["convergence_seconds"] > 0
    # AND the function's log lines name each target, once per batch
    batches = {target["logged_batches"] for target in targets.values()}
    assert len(batches) == 1 and batches.pop() >= 2  # 200 records: at least two batches of at most 100
    # AND the stack is gone, in every region and account
    for region in ("us-east-1", "eu-west-1"):
        ddb = boto3.client("dynamodb", region_name=region, endpoint_url=localstack)
        assert not {name, f"{name}_replica"} & set(ddb.list_tables()["TableNames"])
    sts = boto3.client("sts", region_name="us-east-1", endpoint_url=localstack)
    admin_role = "arn:aws:iam::222222222222:role/OrganizationAccountAccessRole"
    credentials = sts.assume_role(RoleArn=admin_role, RoleSessionName="e2e-check")["Credentials"]
    other = boto3.session.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name="ap-southeast-2",
    )
    assert (
        f"{name}_replica" not in other.client("dynamodb", endpoint_url=localstack).list_tables()["TableNames"]
    )
    roles = other.client("iam", endpoint_url=localstack).list_roles()["Roles"]
    assert not [found["RoleName"] for found in roles if found["RoleName"].startswith(f"{name}_replica")]

    # AND every call the function's role, ddb-replica's operator role and the writer role made (and every
    # assumption of one of them) is allowed by the policies read from the applied stack, and every statement
    # of those policies was used
    saved = json.loads(policies_path.read_text())
    # (a permissions boundary would narrow what the policies grant: none is set, none is evaluated here)
    assert {arn: found["boundary"] for arn, found in saved.items()} == dict.fromkeys(saved)
    applied = [RolePolicies(arn, found["trust"], found["policies"]) for arn, found in saved.items()]
    # the function's role, the operator's (ddb-replica runs as it), the other account's writer role
    assert len(applied) == 3, [role.arn for role in applied]
    written = call_log.read_text()
    lines = written[: written.rfind("\n") + 1].splitlines()[calls_before:]  # whole lines: others still append
    verdicts = judge(
        applied, calls_from_log(lines, [role.arn for role in applied], first_line=calls_before + 1)
    )
    for role in applied:
        verdict = verdicts[role.arn]
        assert verdict.calls > 0, f"no call by {role.arn} in {call_log}"
        assert verdict.denied == [], "\n".join(verdict.denied[:20])
        statements = [*role.statements(), *role.trust_statements()]
        unused = [
            name
            for name, statement in statements
            if name not in verdict.used
            and NOT_EXERCISED_HERE.get(statement.get("Sid", ""), ([], ""))[0] != statement.get("Action")
        ]
        assert unused == [], f"{role.arn}: statements no call used: {unused}"
        # AND parliament finds nothing in its permission policies
        for policy, document in role.policies.items():
            assert policy_findings(document) == [], f"{role.arn} {policy}"


def call_log_of(endpoint: str) -> Path:
    """The call log of the LocalStack tools/localstack.sh started on this endpoint's port."""
    port = endpoint.rsplit(":", 1)[1].split("/")[0]
    path = ROOT / ".localstack" / port / "calls.jsonl"
    assert path.exists(), (
        f"no call log at {path}: the LocalStack at {endpoint} was not started by tools/localstack.sh with "
        "this version of tools/localstack_ext; restart it (make localstack-down localstack-up)"
    )
    return path
