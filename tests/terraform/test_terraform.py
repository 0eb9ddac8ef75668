"""Terraform checks of the module and the examples, run with the CLI and provider mirror from `make setup`:
fmt, validate, the module's `terraform test` files (plan-time assertions with a mocked provider)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
from e2e import setup_env  # noqa: E402

MODULE = ROOT / "modules" / "dynamodb-stream-replica"
EXAMPLES = sorted(path for path in (ROOT / "examples").iterdir() if (path / "main.tf").exists())


def terraform(cwd: Path, *args: str, data_dir: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **setup_env()}
    if data_dir is not None:
        env["TF_DATA_DIR"] = str(data_dir)  # keep .terraform out of the example (e2e may be using it)
    return subprocess.run(
        [env.get("TF", "terraform"), *args, "-no-color"], cwd=cwd, env=env, capture_output=True, text=True
    )


def check(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
    return result.stdout


def test_fmt() -> None:
    check(terraform(ROOT, "fmt", "-check", "-recursive", "modules", "examples", "tests"))


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.name)
def test_example_validates(example: Path, tmp_path: Path) -> None:
    check(terraform(example, "init", "-backend=false", "-input=false", data_dir=tmp_path))
    assert "Success" in check(terraform(example, "validate", data_dir=tmp_path))


def test_module_terraform_test(tmp_path: Path) -> None:
    check(terraform(MODULE, "init", "-backend=false", "-input=false", data_dir=tmp_path))
    output = check(terraform(MODULE, "test", data_dir=tmp_path))
    assert "0 failed" in output, output
