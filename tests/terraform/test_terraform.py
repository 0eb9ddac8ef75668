"""Terraform checks of the module and the examples, run with the CLI and provider mirror from `make setup`:
fmt, validate, the module's `terraform test` files (plan-time assertions with a mocked provider)."""

from __future__ import annotations

import json
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
from policy_lint import RENDERING_TESTS, documents_of_test_output, policy_findings  # noqa: E402
from shared_provider import shared_provider  # noqa: E402
from workdirs import TFLOCAL_OVERRIDE, example_copy  # noqa: E402

MODULE = ROOT / "modules" / "dynamodb-stream-replica"
# Every module with terraform test files (the replication module, replica-target, ...).
TESTED_MODULES = sorted({path.parent.parent.name for path in (ROOT / "modules").glob("*/tests/*.tftest.hcl")})
EXAMPLES = sorted(path.name for path in (ROOT / "examples").iterdir() if (path / "main.tf").exists())


# The CLIs the module must work with: TF (terraform >= 1.6 from PATH, or OpenTofu when there is none) and
# TOFU (OpenTofu, always built by `make setup`). Both come from build/setup.env.
CLIS = {"terraform": "TF", "opentofu": "TOFU"}


def terraform(
    cwd: Path,
    *args: str,
    data_dir: Path | None = None,
    cli: str = "TF",
    extra_env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **setup_env(), **(extra_env or {})}
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


def declared_runs(where: Path) -> int:
    """The run blocks of a module's test files (or of one file): each CLI must pass every one of them (none
    skipped)."""
    paths = [where] if where.is_file() else list((where / "tests").glob("*.tftest.hcl"))
    return sum(len(re.findall(r'^run "', path.read_text(), flags=re.MULTILINE)) for path in paths)


def test_every_module_with_tests_is_tested_once_per_cli() -> None:
    assert TESTED_MODULES == [
        "dynamodb-stream-replica",
        "dynamodb-table",
        "replica-target",
        "replication-alarms",
        "serverless-backfill",
    ]


# One set of .tftest.hcl files for both CLIs (no .tofutest.hcl twins, which OpenTofu would read instead):
# no Terraform-only `override_during`; runs that assert on computed values use a mocked apply; no file-level
# override_resource that another file's runs must not see (OpenTofu 1.11 applied one to a later file's runs).
#
# Under Terraform the run prints every plan and state (-json -verbose), and the IAM policies that the module's
# rendering test file plans or applies (tools/policy_lint.py: RENDERING_TESTS) are linted with parliament:
# what `make lint` runs with a second `terraform test`, read from this one (make test's lint phase leaves it
# out). Each module's policies must be there: at least these many.
POLICIES_AT_LEAST = {"dynamodb-stream-replica": 14, "replica-target": 3, "serverless-backfill": 4}


@pytest.mark.parametrize("cli", CLIS.values(), ids=CLIS.keys())
@pytest.mark.parametrize("name", TESTED_MODULES)
def test_module_terraform_test(name: str, cli: str, tmp_path: Path) -> None:
    # a copy of modules/ (a module may call its siblings): init writes the lock file next to the module,
    # and the other CLI runs at the same time
    shutil.copytree(ROOT / "modules", tmp_path / "modules", ignore=shutil.ignore_patterns(".terraform*"))
    module = tmp_path / "modules" / name
    check(terraform(module, "init", "-backend=false", "-input=false", data_dir=tmp_path / "tf", cli=cli))
    # one provider process for all the runs (shared_provider.py: every run's plan and apply would start one)
    with shared_provider(tmp_path / "tf", tmp_path / "provider.log", module) as provider:
        run_module_tests(name, module, cli, tmp_path / "tf", provider)


def run_module_tests(name: str, module: Path, cli: str, data_dir: Path, provider: dict[str, str]) -> None:
    rendering = RENDERING_TESTS.get(f"modules/{name}") if cli == "TF" else None
    files = sorted(str(path.relative_to(module)) for path in (module / "tests").glob("*.tftest.hcl"))
    others = [file for file in files if file != rendering]
    if others:  # the files that render no policy (all of them under OpenTofu), as they are
        filters = [f"-filter={file}" for file in others] if rendering else []
        output = check(terraform(module, "test", *filters, data_dir=data_dir, cli=cli, extra_env=provider))
        runs = sum(declared_runs(module / file) for file in others)
        assert f"Success! {runs} passed, 0 failed." in output, output[-3000:]
    if rendering is None:
        return
    # the policies' file with every plan and state printed: what `make lint` reads in a second run
    output = check(
        terraform(
            module,
            "test",
            "-json",
            "-verbose",
            f"-filter={rendering}",
            data_dir=data_dir,
            cli=cli,
            extra_env=provider,
        )
    )
    (summary,) = [json.loads(line) for line in output.splitlines() if '"test_summary"' in line]
    passed = {"status": "pass", "failed": 0, "errored": 0, "skipped": 0}
    assert summary["test_summary"] == passed | {"passed": declared_runs(module / rendering)}, summary
    documents = documents_of_test_output(output, f"modules/{name}", rendering)
    assert len(documents) >= POLICIES_AT_LEAST[name], [found for found, _ in documents]
    findings = [
        f"{found}: {problem}" for found, document in documents for problem in policy_findings(document)
    ]
    assert findings == []


def test_every_module_with_policies_is_linted() -> None:
    assert sorted(f"modules/{name}" for name in POLICIES_AT_LEAST) == sorted(RENDERING_TESTS)
