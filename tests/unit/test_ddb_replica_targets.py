"""``ddb-replica backfill|verify`` against a replica in another region and account (an assumed role)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.credentials import AssumeRoleCredentialFetcher
from botocore.exceptions import ClientError

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "lambda_src"))
sys.path.insert(0, str(Path(__file__).parent))

from replica_ops_fixtures import Lab, make_lab, seed, seeded_item
from stream_events import REGION, REPLICA, SOURCE, WRITER_ROLE, create_table, moto_aws, other_account, scan

from loader.ddb_replica import cli
from loader.ddb_replica.tables import TableInfo

AU = "ap-southeast-2"


@pytest.fixture
def lab(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Lab]:
    with moto_aws():
        yield make_lab(tmp_path / "state", capsys)


def targets_file(tmp_path: Path) -> Path:
    """The module's replica_targets output, as `terraform output -json replica_targets` writes it."""
    path = tmp_path / "targets.json"
    output = {
        "here": {"table_name": REPLICA, "region": REGION, "role_arn": None, "external_id": None},
        "au": {"table_name": REPLICA, "region": AU, "role_arn": WRITER_ROLE, "external_id": "lab"},
    }
    path.write_text(json.dumps(output))
    return path


def test_backfill_and_verify_reach_a_replica_in_another_account_and_region(lab: Lab, tmp_path: Path) -> None:
    # GIVEN 120 source items, and an empty replica of the same name in another account and region
    create_table(REPLICA, client=other_account(AU))
    seed(SOURCE, 120)
    flags = ["--replica-region", AU, "--replica-role-arn", WRITER_ROLE, "--replica-external-id", "lab"]
    # WHEN the backfill runs with the target's flags
    code, out, err = lab.backfill(*flags)
    # THEN every item is there, and nothing was written to the table of that name here
    assert (code, err) == (0, "")
    assert scan(REPLICA, client=other_account(AU)) == scan(SOURCE)
    assert scan(REPLICA) == []
    # AND verify through the module's output finds the copy identical, then repairs a hand edit there
    other_account(AU).put_item(TableName=REPLICA, Item=seeded_item(7) | {"text": {"S": "edited"}})
    by_output = ["--targets-json", str(targets_file(tmp_path)), "--target", "au"]
    code, out, _ = lab.run("verify", "--source", SOURCE, *by_output, "--repair")
    assert code == 0 and "repaired: 1 put(s), 0 delete(s), unresolved 0" in out
    assert lab.run("verify", "--source", SOURCE, *by_output)[0] == 0
    assert scan(REPLICA, client=other_account(AU)) == scan(SOURCE)
    # AND the target here (same table name, this account) is another pair: 120 missing
    code, out, _ = lab.run(
        "verify", "--source", SOURCE, "--targets-json", str(targets_file(tmp_path)), "--target", "here"
    )
    assert code == 1 and "missing in replica: 120" in out


def test_each_target_has_its_own_checkpoints() -> None:
    def info(arn: str) -> TableInfo:
        return TableInfo(arn.rsplit("/", 1)[1], arn, ("PK",), ("S",), 0, 0, None)

    source = info("arn:aws:dynamodb:us-east-1:123456789012:table/logfile")

    def directory(replica_arn: str) -> Path:
        args = argparse.Namespace(state_dir=None)
        return cli.state_dir(args, source, info(replica_arn))

    here = directory("arn:aws:dynamodb:us-east-1:123456789012:table/logfile_replica")
    au = directory("arn:aws:dynamodb:ap-southeast-2:222222222222:table/logfile_replica")
    eu = directory("arn:aws:dynamodb:eu-west-1:123456789012:table/logfile_replica")
    assert here == Path(".ddb-replica/backfill-logfile-logfile_replica")
    assert au == Path(".ddb-replica/backfill-logfile-logfile_replica-ap-southeast-2-222222222222")
    assert len({here, au, eu}) == 3


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--target", "au"], "--target needs --targets-json"),
        ([], "name the replica: --replica TABLE, or --targets-json FILE --target NAME"),
        (["TARGETS", "--target", "eu"], "no target 'eu'; name one with --target: here, au"),
        (["TARGETS"], "no target None; name one with --target: here, au"),
        (["TARGETS", "--target", "au", "--replica", REPLICA], "--replica: the target from --targets-json"),
        (
            ["--replica", REPLICA, "--replica-role-arn", "writer"],
            "--replica-role-arn: role_arn 'writer' is not",
        ),
        (["--targets-json", "/nonexistent/targets.json"], "--targets-json: cannot read /nonexistent"),
        (["TARGETS", "--target", "au", "--replica-external-id", "x2"], "--replica-external-id: the target"),
        (
            ["--replica", REPLICA, "--replica-external-id", "x2"],
            "--replica-external-id is sent when assuming",
        ),
    ],
)
def test_a_target_that_cannot_be_used_stops_before_any_work(
    lab: Lab, tmp_path: Path, flags: list[str], message: str
) -> None:
    flags = [
        part
        for flag in flags
        for part in (["--targets-json", str(targets_file(tmp_path))] if flag == "TARGETS" else [flag])
    ]
    code, out, err = lab.run("verify", "--source", SOURCE, *flags)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and message in err and len(err.splitlines()) == 1


def test_a_role_that_cannot_be_assumed_stops_before_any_work_and_says_what_to_check(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN STS refuses the replica's role
    def refuse(self: Any) -> Any:
        error = {"Code": "AccessDenied", "Message": "not authorized to perform sts:AssumeRole"}
        response: Any = {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 403}}
        raise ClientError(response, "AssumeRole")

    monkeypatch.setattr(AssumeRoleCredentialFetcher, "_get_credentials", refuse)
    # WHEN
    code, out, err = lab.run(
        "verify",
        "--source",
        SOURCE,
        "--replica",
        REPLICA,
        "--replica-region",
        AU,
        "--replica-role-arn",
        WRITER_ROLE,
    )
    # THEN nothing was done (exit 2), and the one line names the cause and what to check
    assert (code, out) == (2, "")
    assert err.startswith("error: cannot assume the replica's role (") and "AccessDenied" in err
    assert "operator_role_arns" in err and len(err.splitlines()) == 1
