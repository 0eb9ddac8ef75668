"""Lifecycle on LocalStack, with Terraform and with OpenTofu: an existing source table created in the same
apply as the module, then edited; the event source mapping is never replaced (a replaced mapping replays up to
24 h of records on TRIM_HORIZON, and loses the records in between on LATEST)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
from e2e import setup_env  # noqa: E402
from workdirs import config_copy  # noqa: E402

pytestmark = pytest.mark.localstack


class Config:
    """tests/terraform/existing_source in a copy of its own, with unique names, run by one CLI."""

    def __init__(self, endpoint: str, workdir: Path, cli: str) -> None:
        self.directory = config_copy("tests/terraform/existing_source", workdir)
        self.name = f"lifecycle-{uuid.uuid4().hex[:6]}"
        self.state = workdir / "terraform.tfstate"
        self.env = {
            **os.environ,
            **setup_env(),
            "AWS_ENDPOINT_URL": endpoint,
            "TF_DATA_DIR": str(workdir / "tf"),
        }
        if cli not in self.env:
            pytest.fail(f"{cli} is not set in build/setup.env: run `make setup`")
        self.env["TF_CMD"] = self.env[cli]

    def run(self, *args: str) -> str:
        result = subprocess.run(
            [str(Path(sys.executable).parent / "tflocal"), *args, "-no-color"],
            cwd=self.directory,
            env=self.env,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
        return result.stdout

    def variables(self, tag: str, by_stream_arn: bool) -> list[str]:
        return [
            f"-state={self.state}",
            f"-var=name={self.name}",
            f"-var=tag={tag}",
            f"-var=by_stream_arn={str(by_stream_arn).lower()}",
        ]

    def plan(self, tag: str, by_stream_arn: bool) -> dict[str, list[str]]:
        """The actions of every resource the plan changes, by address."""
        plan = self.directory / "plan.bin"
        self.run("plan", "-input=false", f"-out={plan}", *self.variables(tag, by_stream_arn))
        shown = json.loads(self.run("show", "-json", str(plan)))
        changes = shown.get("resource_changes", [])
        return {
            rc["address"]: rc["change"]["actions"] for rc in changes if rc["change"]["actions"] != ["no-op"]
        }

    def apply(self, tag: str, by_stream_arn: bool) -> None:
        self.run("apply", "-auto-approve", "-input=false", *self.variables(tag, by_stream_arn))


@pytest.fixture(
    params=[
        pytest.param("TF", id="terraform", marks=pytest.mark.xdist_group("lifecycle-terraform")),
        pytest.param("TOFU", id="opentofu", marks=pytest.mark.xdist_group("lifecycle-opentofu")),
    ],
)
def config(request: pytest.FixtureRequest, localstack: str, tmp_path: Path) -> Iterator[Config]:
    config = Config(localstack, tmp_path, request.param)
    config.run("init", "-input=false")
    try:
        yield config
    finally:
        destroy = ["destroy", "-auto-approve", "-input=false", "-no-color", *config.variables("a", True)]
        subprocess.run(
            [str(Path(sys.executable).parent / "tflocal"), *destroy],
            cwd=config.directory,
            env=config.env,
            capture_output=True,
            check=False,
        )


def test_editing_the_source_table_never_replaces_the_mapping(config: Config) -> None:
    # GIVEN the caller's table and the module created in one apply (the module waits for the stream ARN)
    config.apply("a", by_stream_arn=True)
    # WHEN the table's tag is edited, THEN only the table changes
    assert config.plan("b", by_stream_arn=True) == {"aws_dynamodb_table.caller": ["update"]}
    config.apply("b", by_stream_arn=True)
    # AND passing only the name (a table managed elsewhere) reads the same stream: nothing else changes
    assert config.plan("b", by_stream_arn=False) == {}
    config.apply("b", by_stream_arn=False)
    assert config.plan("c", by_stream_arn=False) == {"aws_dynamodb_table.caller": ["update"]}
