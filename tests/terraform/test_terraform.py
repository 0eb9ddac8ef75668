"""Terraform checks of the module and the examples, run with the CLI and provider mirror from `make setup`:
fmt, validate, the module's `terraform test` files (plan-time assertions with a mocked provider)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
from e2e import setup_env  # noqa: E402
from policy_lint import policy_findings, rendered_policies  # noqa: E402
from workdirs import TFLOCAL_OVERRIDE, example_copy  # noqa: E402

MODULE = ROOT / "modules" / "dynamodb-stream-replica"
# Every module with terraform test files (the replication module, replica-target, ...).
TESTED_MODULES = sorted({path.parent.parent.name for path in (ROOT / "modules").glob("*/tests/*.tftest.hcl")})
EXAMPLES = sorted(path.name for path in (ROOT / "examples").iterdir() if (path / "main.tf").exists())


# The CLIs the module must work with: TF (terraform >= 1.6 from PATH, or OpenTofu when there is none) and
# TOFU (OpenTofu, always built by `make setup`). Both come from build/setup.env.
CLIS = {"terraform": "TF", "opentofu": "TOFU"}


def terraform(
    cwd: Path, *args: str, data_dir: Path | None = None, cli: str = "TF"
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **setup_env()}
    if data_dir is not None:
        env["TF_DATA_DIR"] = str(data_dir)  # keep .terraform out of the example (e2e may be using it)
    if cli not in env:
        pytest.fail(f"{cli} is not set in build/setup.env: run `make setup`")
    return subprocess.run([env[cli], *args, "-no-color"], cwd=cwd, env=env, capture_output=True, text=True)


def check(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
    return result.stdout


def our_terraform_files() -> list[str]:
    """The Terraform and terraform test files of modules/, examples/ and tests/, as fmt would find them."""
    found = [
        path
        for folder in ("modules", "examples", "tests")
        for pattern in ("*.tf", "*.tftest.hcl")
        for path in (ROOT / folder).rglob(pattern)
        if path.name != TFLOCAL_OVERRIDE and ".terraform" not in path.relative_to(ROOT).parts
    ]
    return sorted(str(path.relative_to(ROOT)) for path in found)


def test_fmt() -> None:
    files = our_terraform_files()
    assert "modules/dynamodb-stream-replica/main.tf" in files
    assert any(name.endswith(".tftest.hcl") for name in files)
    check(terraform(ROOT, "fmt", "-check", *files))


@pytest.mark.parametrize("cli", CLIS.values(), ids=CLIS.keys())
@pytest.mark.parametrize("example", EXAMPLES)
def test_example_validates(example: str, cli: str, tmp_path: Path) -> None:
    # a copy (workdirs.py): init writes the lock file, and other tests use the example at the same time
    workdir = example_copy(example, tmp_path)
    check(terraform(workdir, "init", "-backend=false", "-input=false", data_dir=tmp_path / "tf", cli=cli))
    assert "Success" in check(terraform(workdir, "validate", data_dir=tmp_path / "tf", cli=cli))


def declared_runs(module: Path) -> int:
    """The run blocks of a module's test files: each CLI must pass every one of them (none skipped)."""
    return sum(
        len(re.findall(r'^run "', path.read_text(), flags=re.MULTILINE))
        for path in (module / "tests").glob("*.tftest.hcl")
    )


def test_every_module_with_tests_is_tested_once_per_cli() -> None:
    assert TESTED_MODULES == [
        "dynamodb-stream-replica",
        "dynamodb-table",
        "replica-target",
        "serverless-backfill",
    ]


# One set of .tftest.hcl files for both CLIs (no .tofutest.hcl twins, which OpenTofu would read instead):
# no Terraform-only `override_during`; runs that assert on computed values use a mocked apply; no file-level
# override_resource that another file's runs must not see (OpenTofu 1.11 applied one to a later file's runs).
@pytest.mark.parametrize("cli", CLIS.values(), ids=CLIS.keys())
@pytest.mark.parametrize("name", TESTED_MODULES)
def test_module_terraform_test(name: str, cli: str, tmp_path: Path) -> None:
    # a copy of modules/ (a module may call its siblings): init writes the lock file next to the module,
    # and the other CLI runs at the same time
    shutil.copytree(ROOT / "modules", tmp_path / "modules", ignore=shutil.ignore_patterns(".terraform*"))
    module = tmp_path / "modules" / name
    check(terraform(module, "init", "-backend=false", "-input=false", data_dir=tmp_path / "tf", cli=cli))
    output = check(terraform(module, "test", data_dir=tmp_path / "tf", cli=cli))
    assert f"Success! {declared_runs(module)} passed, 0 failed." in output, output[-3000:]


# `make lint` runs tools/policy_lint.py itself; `make test` runs it here instead, beside the other tests, so
# that its Terraform runs do not lengthen the lint that comes before them.
def test_rendered_policies_pass_parliament() -> None:
    env = {**os.environ, **setup_env()}
    documents = rendered_policies(env.get("TF", "terraform"), env=env)
    # 5 runs of policies.tftest.hcl (function role and operator policy each), 3 writer roles of replica-target
    assert len(documents) >= 13, [name for name, _ in documents]
    assert [
        f"{name}: {finding}" for name, document in documents for finding in policy_findings(document)
    ] == []
