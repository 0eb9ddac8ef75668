"""Lifecycle on LocalStack, with Terraform and with OpenTofu: the event source mapping is never replaced by
an edit of the source table (a replaced mapping replays up to 24 h of records on TRIM_HORIZON, and loses the
records in between on LATEST), nor by a new or rolled-back function version (lambda_publish), and the
documented hand-over of the module's source table keeps it."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
from e2e import client as aws  # noqa: E402
from workdirs import TfLocal, config_copy  # noqa: E402

pytestmark = pytest.mark.localstack

# The last commit whose module declared its tables itself (aws_dynamodb_table.source and .replica), before
# modules/dynamodb-table served both: stacks applied with it must upgrade without losing a table.
BEFORE_ONE_TABLE_DEFINITION = "f33b019eaf0e797fcef37996071969e5610c5427"


class Config:
    """A configuration of tests/terraform in a copy of its own, with unique names, run by one CLI."""

    def __init__(self, endpoint: str, workdir: Path, cli: str, relative: str) -> None:
        self.directory = config_copy(relative, workdir)
        self.name = f"lifecycle-{uuid.uuid4().hex[:6]}"
        self.state = workdir / "terraform.tfstate"
        self.tflocal = TfLocal(self.directory, workdir, endpoint, cli)
        self.last: dict[str, str] = {}  # the variables of the last apply, for the destroy

    def run(self, *args: str, check: bool = True) -> str:
        return self.tflocal(*args, check=check).stdout

    def variables(self, values: dict[str, str]) -> list[str]:
        return [f"-state={self.state}", *(f"-var={k}={v}" for k, v in ({"name": self.name} | values).items())]

    def plan(self, **values: str) -> dict[str, list[str]]:
        """The actions of every resource the plan changes, by address."""
        return actions(self.planned(**values))

    def planned(self, **values: str) -> list[dict[str, Any]]:
        plan = self.directory / "plan.bin"
        self.run("plan", "-input=false", f"-out={plan}", *self.variables(values))
        changes: list[dict[str, Any]] = json.loads(self.run("show", "-json", str(plan))).get(
            "resource_changes", []
        )
        return changes

    def apply(self, **values: str) -> None:
        self.run("apply", "-auto-approve", "-input=false", *self.variables(values))
        self.last = values

    def destroy(self, check: bool = False) -> None:
        self.run("destroy", "-auto-approve", "-input=false", *self.variables(self.last), check=check)


CLIS = [
    pytest.param("TF", id="terraform", marks=pytest.mark.xdist_group("lifecycle-terraform")),
    pytest.param("TOFU", id="opentofu", marks=pytest.mark.xdist_group("lifecycle-opentofu")),
]


@pytest.fixture(params=CLIS)
def cli(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def actions(planned: list[dict[str, Any]]) -> dict[str, list[str]]:
    return {rc["address"]: rc["change"]["actions"] for rc in planned if rc["change"]["actions"] != ["no-op"]}


def moves(planned: list[dict[str, Any]]) -> dict[str, str]:
    """The resources a plan moves (moved blocks): their new address by their previous one."""
    return {rc["previous_address"]: rc["address"] for rc in planned if "previous_address" in rc}


@contextmanager
def earlier_module_version(config: Config, workdir: Path, commit: str) -> Iterator[None]:
    """The configuration's modules/ as they were at ``commit`` (git archive) instead of the link to the
    repository's, initialised; afterwards the link again, initialised, whatever happened (so that the
    destroy at the end runs with this version). init records each module's resolved directory (through the
    link) and keeps it while the module's source is the same: the record goes on each swap."""
    archive = subprocess.run(
        ["git", "archive", commit, "modules"], cwd=ROOT, capture_output=True, check=False
    )
    if archive.returncode != 0:
        pytest.fail(f"git archive {commit} failed (a shallow clone? fetch the history): {archive.stderr!r}")
    link, manifest = workdir / "modules", workdir / "tf" / "modules"
    try:
        link.unlink()
        shutil.rmtree(manifest, ignore_errors=True)
        subprocess.run(["tar", "-x", "-C", str(workdir)], input=archive.stdout, check=True)
        config.run("init", "-input=false")
        yield
    finally:
        if not link.is_symlink():
            shutil.rmtree(link, ignore_errors=True)
            link.symlink_to(ROOT / "modules", target_is_directory=True)
        shutil.rmtree(manifest, ignore_errors=True)
        config.run("init", "-input=false")


@contextmanager
def configuration(relative: str, cli: str, endpoint: str, workdir: Path) -> Iterator[Config]:
    config = Config(endpoint, workdir, cli, relative)
    config.run("init", "-input=false")
    with config.tflocal.sharing_provider():
        try:
            yield config
        finally:
            config.destroy()


def test_editing_the_source_table_never_replaces_the_mapping(
    cli: str, localstack: str, tmp_path: Path
) -> None:
    with configuration("tests/terraform/existing_source", cli, localstack, tmp_path) as config:
        # GIVEN the caller's table and the module created in one apply (the module waits for the stream ARN),
        # by the module's version that declared its replica table itself
        with earlier_module_version(config, tmp_path, BEFORE_ONE_TABLE_DEFINITION):
            config.apply(tag="a", by_stream_arn="true")
        # WHEN this version plans, THEN it moves the replica table into the table module, replaces and
        # deletes nothing, and only adds what the version brought since: the alarms, the mapping's own
        # metrics and the function's metrics namespace (in place)
        upgrade = config.planned(tag="a", by_stream_arn="true")
        assert moves(upgrade) == {
            "module.replica.aws_dynamodb_table.replica[0]": (
                "module.replica.module.replica_table.aws_dynamodb_table.this[0]"
            )
        }
        alarms = "module.replica.module.alarms.aws_cloudwatch_metric_alarm.this"
        kinds = ["dropped-events", "errors", "failed-invoke-events", "iterator-age"]
        kinds += [
            "on-failure-delivered-events",
            "throttles",
        ]  # no queue: this configuration has no destination
        assert actions(upgrade) == {
            "module.replica.aws_lambda_event_source_mapping.this[0]": ["update"],
            "module.replica.aws_lambda_function.this[0]": ["update"],
        } | {f'{alarms}["{kind}"]': ["create"] for kind in kinds}
        config.apply(tag="a", by_stream_arn="true")
        # WHEN the table's tag is edited, THEN only the table changes, whether the module has its stream ARN
        # or reads it by name (a table managed elsewhere)
        assert config.plan(tag="b", by_stream_arn="true") == {"aws_dynamodb_table.caller": ["update"]}
        assert config.plan(tag="b", by_stream_arn="false") == {"aws_dynamodb_table.caller": ["update"]}


# Terraform only: what is under test here is the provider's (a re-created stream) and the state's (a forgotten
# table); the part where the CLIs differ, when a plan reads the table, is the test above, run under both.
@pytest.mark.xdist_group("lifecycle-handover")
def test_a_new_stream_moves_the_mapping_and_a_handed_over_table_is_kept(
    localstack: str, tmp_path: Path
) -> None:
    with configuration("tests/terraform/source_handover", "TF", localstack, tmp_path) as config:
        ddb = aws("dynamodb", localstack)
        source = f"{config.name}-logfile"
        try:
            # GIVEN the module's own source table
            config.apply(create_source_table="true")
            # WHEN its stream view type changes, THEN the plan refuses, naming what it would lose and how
            new_view = {"create_source_table": "true", "stream_view_type": "NEW_AND_OLD_IMAGES"}
            refused = config.tflocal("plan", "-input=false", *config.variables(new_view), check=False)
            assert refused.returncode != 0
            message = " ".join((refused.stdout + refused.stderr).replace("│", " ").split())
            assert "carries NEW_IMAGE" in message and "allow_stream_replacement = true" in message, message
            # AND allowed, the stream is re-created and the mapping follows it
            allowed = new_view | {"allow_stream_replacement": "true"}
            changes = config.plan(**allowed)
            assert changes["module.replica.aws_lambda_event_source_mapping.this[0]"] == ["delete", "create"]
            assert changes["module.replica.module.source_table.aws_dynamodb_table.this[0]"] == ["update"]
            config.apply(**allowed)
            stream = ddb.describe_table(TableName=source)["Table"]["LatestStreamArn"]
            mappings = aws("lambda", localstack).list_event_source_mappings(
                FunctionName=f"{config.name}-replicator"
            )
            assert [m["EventSourceArn"] for m in mappings["EventSourceMappings"]] == [stream]
            # AND, holding an item, it is handed over to the caller (create_source_table = false): the plan
            # would delete it
            ddb.put_item(TableName=source, Item={"PK": {"S": "kept"}})
            handover = {"create_source_table": "false", "stream_view_type": "NEW_AND_OLD_IMAGES"}
            assert config.plan(**handover)[
                "module.replica.module.source_table.aws_dynamodb_table.this[0]"
            ] == ["delete"]
            # AND once the README's `state rm` made Terraform forget it, nothing changes: the module reads the
            # table by name, finds the same stream, and keeps the mapping
            config.run(
                "state",
                "rm",
                f"-state={config.state}",
                "module.replica.module.source_table.aws_dynamodb_table.this[0]",
            )
            assert config.plan(**handover) == {}
            # AND destroying the module leaves the table, and its item, to the caller
            config.last = handover
            config.destroy(check=True)
            assert ddb.get_item(TableName=source, Key={"PK": {"S": "kept"}})["Item"] == {"PK": {"S": "kept"}}
        finally:
            with contextlib.suppress(ddb.exceptions.ResourceNotFoundException):
                ddb.delete_table(TableName=source)  # now the caller's: not in the state any more


def replicated(ddb: Any, replica: str, key: str, timeout: float = 60.0) -> bool:
    """Whether the item ``key`` reaches ``replica`` within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if "Item" in ddb.get_item(TableName=replica, Key={"PK": {"S": key}}, ConsistentRead=True):
            return True
        time.sleep(0.5)
    return False


def invoked_versions(logs: Any, function: str, expected: set[str], timeout: float = 20.0) -> set[str]:
    """The versions that ran, from the function's log stream names (<date>/[<version>]<id>). LocalStack stores
    an invocation's logs just after it returns, so this waits up to ``timeout`` for ``expected``."""
    deadline = time.monotonic() + timeout
    while True:
        streams = logs.describe_log_streams(logGroupName=f"/aws/lambda/{function}")["logStreams"]
        found = {stream["logStreamName"].split("[", 1)[1].split("]", 1)[0] for stream in streams}
        if found == expected or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


def another_package(tmp_path: Path) -> Path:
    """The function's sources with one comment added, zipped: the same handler, another code hash."""
    sources = []
    for source in sorted((ROOT / "lambda_src").glob("*.py")):
        copy = tmp_path / "v2" / source.name
        copy.parent.mkdir(exist_ok=True)
        copy.write_text(source.read_text() + "\n# version 2 of the package\n")
        sources.append(str(copy))
    package = tmp_path / "v2.zip"
    subprocess.run([sys.executable, str(ROOT / "tools" / "build_zip.py"), str(package), *sources], check=True)
    return package


# Terraform only: versions and aliases are the provider's and Lambda's; nothing here differs between the CLIs.
@pytest.mark.xdist_group("lifecycle-published")
def test_a_new_version_goes_live_and_rolls_back_through_the_alias(localstack: str, tmp_path: Path) -> None:
    with configuration("tests/terraform/published", "TF", localstack, tmp_path) as config:
        ddb = aws("dynamodb", localstack)
        lambda_ = aws("lambda", localstack)
        logs = aws("logs", localstack)
        function, source, replica = (
            f"{config.name}-{part}" for part in ("replicator", "logfile", "logfile-replica")
        )
        first = {"package": str(ROOT / "dist" / "ddbreplica_lambda.zip")}
        # GIVEN the module with lambda_publish: version 1 behind the alias the mapping invokes
        config.apply(**first)
        mapping = config.run("output", f"-state={config.state}", "-raw", "event_source_mapping_uuid")
        alias = lambda_.get_alias(FunctionName=function, Name="live")
        assert alias["FunctionVersion"] == "1"
        assert lambda_.get_event_source_mapping(UUID=mapping)["FunctionArn"] == alias["AliasArn"]
        ddb.put_item(TableName=source, Item={"PK": {"S": "through-version-1"}})
        assert replicated(ddb, replica, "through-version-1")
        assert invoked_versions(logs, function, {"1"}) == {"1"}

        # WHEN a new package is deployed, THEN version 2 is published and the alias moves; the mapping stays
        second = {"package": str(another_package(tmp_path))}
        changes = config.plan(**second)
        assert changes == {
            "module.replica.aws_lambda_function.this[0]": ["update"],
            "module.replica.aws_lambda_alias.this[0]": ["update"],
        }
        config.apply(**second)
        assert lambda_.get_alias(FunctionName=function, Name="live")["FunctionVersion"] == "2"
        ddb.put_item(TableName=source, Item={"PK": {"S": "through-version-2"}})
        assert replicated(ddb, replica, "through-version-2")
        assert invoked_versions(logs, function, {"1", "2"}) == {"1", "2"}

        # WHEN the alias is pinned back to version 1, THEN only the alias changes, and records still flow
        rollback = second | {"alias_version": "1"}
        assert config.plan(**rollback) == {"module.replica.aws_lambda_alias.this[0]": ["update"]}
        config.apply(**rollback)
        assert lambda_.get_alias(FunctionName=function, Name="live")["FunctionVersion"] == "1"
        ddb.put_item(TableName=source, Item={"PK": {"S": "after-rollback"}})
        assert replicated(ddb, replica, "after-rollback")
        assert [
            m["UUID"]
            for m in lambda_.list_event_source_mappings(FunctionName=function)["EventSourceMappings"]
        ] == [mapping]
