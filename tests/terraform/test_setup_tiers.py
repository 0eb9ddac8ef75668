"""`make e2e`'s set-up tier (SETUP_TIER=e2e, tools/setup.sh) on a machine without Go: with Terraform on PATH
and the provider mirror in the cache it builds nothing with Go; without the mirror it stops with one line that
names the provider and Go. Each run uses a cache directory of its own (DDB_REPLICA_CACHE) and writes its
setup.env elsewhere (SETUP_ENV_FILE), so the project's own set-up is left alone."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
from e2e import setup_env  # noqa: E402

GO_TOOLS = ("go", "gofmt")


def path_without_go(shims: Path) -> str:
    """PATH without Go, with a Terraform CLI (terraform, else the cached tofu). A folder that holds `go` is
    replaced by ``shims``, links to everything else in it: with Go from a distribution package that folder is
    /usr/bin, which the set-up needs too."""
    shims.mkdir(exist_ok=True)
    folders = []
    for folder in os.environ["PATH"].split(os.pathsep):
        if not (Path(folder) / "go").exists():
            folders.append(folder)
            continue
        for tool in Path(folder).iterdir():
            if tool.name not in GO_TOOLS and not (shims / tool.name).exists():
                (shims / tool.name).symlink_to(tool)
        if str(shims) not in folders:
            folders.append(str(shims))
    if shutil.which("terraform", path=os.pathsep.join(folders)) is None:
        folders.insert(0, str(Path(setup_env()["TOFU"]).parent))
    return os.pathsep.join(folders)


def real_cache() -> Path:
    """`make setup`'s cache folder (tools/setup.sh: DDB_REPLICA_CACHE, else XDG_CACHE_HOME or ~/.cache)."""
    if os.environ.get("DDB_REPLICA_CACHE"):
        return Path(os.environ["DDB_REPLICA_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ddb-replica"


def the_mirror() -> Path:
    """The provider mirror `make setup` built (the filesystem_mirror path of its CLI config); a machine that
    takes the provider from the registry has none, and nothing to test offline."""
    config_file = setup_env().get("TF_CLI_CONFIG_FILE")
    if not config_file:
        pytest.skip("no provider mirror: make setup took hashicorp/aws from the registry")
    config = Path(config_file).read_text()
    line = next(line for line in config.splitlines() if line.strip().startswith("path"))
    return Path(line.split("=", 1)[1].strip().strip('"'))


def run_setup(cache: Path, tmp_path: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("OFFLINE", "SETUP_TIER", "TF", "TOFU")}
    env |= {
        "PATH": path_without_go(tmp_path / "shims"),
        "DDB_REPLICA_CACHE": str(cache),
        "SETUP_TIER": "e2e",
        "SETUP_ENV_FILE": str(tmp_path / "setup.env"),
        **extra,
    }
    return subprocess.run(
        ["bash", str(ROOT / "tools" / "setup.sh")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def python_venvs_in(cache: Path) -> None:
    """The LocalStack and Lambda runtime venvs of `make setup`'s cache, linked into ``cache``: no Go in them,
    and installing LocalStack takes minutes."""
    for venv in [*real_cache().glob("localstack-*"), real_cache() / "lambda-runtimes"]:
        (cache / venv.name).symlink_to(venv, target_is_directory=True)


def test_e2e_setup_without_go_uses_the_mirror_and_builds_nothing(tmp_path: Path) -> None:
    # GIVEN no Go on PATH, a Terraform CLI, and a cache holding the provider mirror (and the Python venvs)
    assert shutil.which("go", path=path_without_go(tmp_path / "shims")) is None
    cache = tmp_path / "cache"
    mirror = the_mirror()
    (cache / "provider-mirror").mkdir(parents=True)
    (cache / "provider-mirror" / mirror.name).symlink_to(mirror, target_is_directory=True)
    python_venvs_in(cache)

    # WHEN make e2e's tier runs (the registry probe decides nothing: the mirror is there)
    result = run_setup(cache, tmp_path)

    # THEN it passes, takes the provider from the mirror, and neither builds nor names OpenTofu or the linters
    assert result.returncode == 0, result.stdout + result.stderr
    assert "hashicorp/aws provider   cached" in result.stdout
    assert "OpenTofu CLI" not in result.stdout and "checkov" not in result.stdout
    assert sorted(p.name for p in cache.iterdir() if p.is_dir() and not p.is_symlink()) == ["provider-mirror"]
    written = dict(line.split("=", 1) for line in (tmp_path / "setup.env").read_text().splitlines())
    assert Path(written["TF"]).name in ("terraform", "tofu") and "TOFU" not in written
    assert written["TF_CLI_CONFIG_FILE"] == str(cache / "terraformrc")
    assert str(cache / "provider-mirror" / mirror.name) in (cache / "terraformrc").read_text()


def test_e2e_setup_without_go_or_mirror_names_the_provider_and_go(tmp_path: Path) -> None:
    # GIVEN no Go on PATH, no registry (OFFLINE=1, as on this machine) and an empty cache
    cache = tmp_path / "cache"
    cache.mkdir()

    # WHEN make e2e's tier runs
    result = run_setup(cache, tmp_path, OFFLINE="1")

    # THEN it stops at the provider with one line that names it and Go, and writes no setup.env
    assert result.returncode == 1, result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith("error: Building hashicorp/aws from source") and "needs Go" in errors[0]
    assert not (tmp_path / "setup.env").exists()


def test_e2e_setup_online_needs_neither_go_nor_a_mirror(tmp_path: Path) -> None:
    # GIVEN no Go on PATH, a Terraform CLI, no mirror, and the registry chosen (OFFLINE=0: this machine cannot
    # reach it, a machine with internet finds it by the probe): the report that started this tier
    cache = tmp_path / "cache"
    cache.mkdir()
    python_venvs_in(cache)

    # WHEN make e2e's tier runs
    result = run_setup(cache, tmp_path, OFFLINE="0")

    # THEN it passes without building anything and says where the provider comes from, and why
    assert result.returncode == 0, result.stdout + result.stderr
    assert "hashicorp/aws provider   from the registry (OFFLINE=0 given)" in result.stdout
    written = dict(line.split("=", 1) for line in (tmp_path / "setup.env").read_text().splitlines())
    assert "TF_CLI_CONFIG_FILE" not in written
    assert sorted(p.name for p in cache.iterdir() if not p.is_symlink()) == []
