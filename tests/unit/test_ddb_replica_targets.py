"""``ddb-replica backfill|verify`` against a replica in another region and account (an assumed role)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "lambda_src"))
sys.path.insert(0, str(Path(__file__).parent))

import replica_targets
from replica_ops_fixtures import Lab, make_lab, seed, seeded_item
from replica_targets import ReplicaTarget
from stream_events import REGION, REPLICA, SOURCE, moto_aws, scan

from loader.ddb_replica import cli

AU = "ap-southeast-2"
WRITER_ROLE = "arn:aws:iam::222222222222:role/logfile-writer"


@pytest.fixture
def lab(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Lab]:
    with moto_aws():
        yield make_lab(tmp_path / "state", capsys)


def remote() -> Any:
    """The replica's account and region, as its writer role (moto keeps one backend per account)."""
    target = ReplicaTarget("au", REPLICA, AU, WRITER_ROLE)
    session = replica_targets.session_for(target, boto3.session.Session(region_name=REGION))
    return session.client("dynamodb")


def create_remote_replica() -> None:
    remote().create_table(
        TableName=REPLICA,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
    )


def remote_items() -> list[dict[str, Any]]:
    items = remote().scan(TableName=REPLICA)["Items"]
    return sorted(items, key=lambda found: found["PK"]["S"])


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
    create_remote_replica()
    seed(SOURCE, 120)
    flags = ["--replica-region", AU, "--replica-role-arn", WRITER_ROLE, "--replica-external-id", "lab"]
    # WHEN the backfill runs with the target's flags
    code, out, err = lab.backfill(*flags)
    # THEN every item is there, and nothing was written to the table of that name here
    assert (code, err) == (0, "")
    assert remote_items() == scan(SOURCE)
    assert scan(REPLICA) == []
    # AND verify through the module's output finds the copy identical, then repairs a hand edit there
    remote().put_item(TableName=REPLICA, Item=seeded_item(7) | {"text": {"S": "edited"}})
    by_output = ["--targets-json", str(targets_file(tmp_path)), "--target", "au"]
    code, out, _ = lab.run("verify", "--source", SOURCE, *by_output, "--repair")
    assert code == 0 and "repaired: 1 put(s), 0 delete(s), unresolved 0" in out
    assert lab.run("verify", "--source", SOURCE, *by_output)[0] == 0
    assert remote_items() == scan(SOURCE)
    # AND the target here (same table name, this account) is another pair: 120 missing
    code, out, _ = lab.run(
        "verify", "--source", SOURCE, "--targets-json", str(targets_file(tmp_path)), "--target", "here"
    )
    assert code == 1 and "missing in replica: 120" in out


def test_each_target_has_its_own_checkpoints() -> None:
    def directory(**flags: Any) -> Path:
        args = argparse.Namespace(state_dir=None, source=SOURCE, replica=REPLICA, **flags)
        return cli.state_dir(args)

    here = directory()
    au = directory(replica_place=ReplicaTarget("au", REPLICA, AU, WRITER_ROLE))
    eu = directory(replica_place=ReplicaTarget("eu", REPLICA, "eu-west-1"))
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
