"""Private copies of the examples, so Terraform runs of several tests can use one example at once.

`terraform init` writes the example's lock file, and tflocal writes its providers override file into the
working directory (and refuses to run when one is there). Tests that run in parallel therefore work on a copy:
the example's files under ``<workdir>/examples/<name>``, beside links to the repository's ``modules`` and
``dist``, so that the example's relative paths (``../../modules/...``, ``../../dist/...``) resolve as they do
in the repository. `make e2e` and tests/e2e use the example itself. ``TfLocal`` runs tflocal in such a copy.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
from e2e import setup_env  # noqa: E402
from shared_provider import REATTACH, shared_provider  # noqa: E402

# tflocal writes this file next to the configuration it runs, for as long as it runs (tests/e2e runs it in
# examples/workshop while other tests copy or format that folder); generated, never ours, never committed.
TFLOCAL_OVERRIDE = "localstack_providers_override.tf"


def example_copy(name: str, workdir: Path) -> Path:
    """examples/<name> copied under ``workdir`` (its *.tf files, not tflocal's override file), with
    modules/ and dist/ linked."""
    return config_copy(f"examples/{name}", workdir)


def config_copy(relative: str, workdir: Path) -> Path:
    """The configuration in ``ROOT/relative`` copied to ``workdir/relative``, with modules/ and dist/ linked
    at ``workdir``, so its relative paths resolve as in the repository."""
    target = workdir / relative
    target.mkdir(parents=True)
    for path in (ROOT / relative).glob("*.tf"):
        if path.name != TFLOCAL_OVERRIDE:
            shutil.copy2(path, target / path.name)
    for linked in ("modules", "dist"):
        (workdir / linked).symlink_to(ROOT / linked, target_is_directory=True)
    return target


class TfLocal:
    """tflocal in one configuration directory, running one CLI (``TF`` or ``TOFU`` of build/setup.env)
    against LocalStack at ``endpoint``, with its data directory under ``workdir``."""

    def __init__(self, directory: Path, workdir: Path, endpoint: str, cli: str) -> None:
        self.directory = directory
        self.workdir = workdir
        self.env = {
            **os.environ,
            **setup_env(),
            "AWS_ENDPOINT_URL": endpoint,
            "TF_DATA_DIR": str(workdir / "tf"),
        }
        if cli not in self.env:
            pytest.fail(f"{cli} is not set in build/setup.env: run `make setup`")
        self.env["TF_CMD"] = self.env[cli]  # tflocal runs this CLI

    def __call__(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """tflocal with these arguments and -no-color (which `state <command>` takes before its address)."""
        args = (*args[:2], "-no-color", *args[2:]) if args[0] == "state" else (*args, "-no-color")
        # init installs the provider: never from a shared process (Terraform would skip it as unmanaged)
        env = {k: v for k, v in self.env.items() if k != REATTACH} if args[0] == "init" else self.env
        result = subprocess.run(
            [str(Path(sys.executable).parent / "tflocal"), *args],
            cwd=self.directory,
            env=env,
            capture_output=True,
            text=True,
        )
        if check:
            assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
        return result

    @contextmanager
    def sharing_provider(self) -> Iterator[None]:
        """After ``init``: every command runs with one provider process (shared_provider.py), which the
        configuration's single ``provider "aws"`` block (tflocal's endpoints) configures anew each time."""
        with shared_provider(
            self.workdir / "tf", self.workdir / "provider.log", self.directory, self.env
        ) as provider:
            self.env.update(provider)
            try:
                yield
            finally:
                self.env.pop(REATTACH)
