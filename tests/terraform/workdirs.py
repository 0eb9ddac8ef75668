"""Private copies of the examples, so Terraform runs of several tests can use one example at once.

`terraform init` writes the example's lock file, and tflocal writes its providers override file into the
working directory (and refuses to run when one is there). Tests that run in parallel therefore work on a copy:
the example's files under ``<workdir>/examples/<name>``, beside links to the repository's ``modules`` and
``dist``, so that the example's relative paths (``../../modules/...``, ``../../dist/...``) resolve as they do
in the repository. `make e2e` and tests/e2e use the example itself.
"""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
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
