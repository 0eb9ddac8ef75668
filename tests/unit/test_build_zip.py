"""The Lambda zip is the same bytes on every machine: tools/build_zip.py."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))

import build_zip

LAMBDA_SRC = Path(__file__).resolve().parents[2] / "lambda_src"
# sha256 of the zip of the two files below, as built on this project's machines. It depends on nothing of
# the machine: not on file times or modes, the order given, the platform, or the zlib build (stored entries).
RECORDED_SHA256 = "eb67479853f97fcc696cf1feba294fb0182ceb16ec03180ea8f2b3a7dcb3b680"


def sources(directory: Path) -> list[Path]:
    directory.mkdir()
    one, two = directory / "one.py", directory / "two.py"
    one.write_bytes(b"a = 1\n")  # bytes: write_text would write CRLF on Windows
    two.write_bytes('b = "é"\n'.encode())
    return [two, one]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_zip_of_known_files_has_the_recorded_hash(tmp_path: Path) -> None:
    built = tmp_path / "out.zip"
    build_zip.build(sources(tmp_path / "src"), built)
    assert sha256(built) == RECORDED_SHA256


def test_file_times_modes_and_order_do_not_change_the_bytes(tmp_path: Path) -> None:
    first, second = tmp_path / "first.zip", tmp_path / "second.zip"
    files = sources(tmp_path / "src")
    build_zip.build(files, first)
    for path in files:
        os.utime(path, (1_700_000_000, 1_700_000_000))
        path.chmod(0o600)
    build_zip.build(list(reversed(files)), second)
    assert first.read_bytes() == second.read_bytes()


def test_the_lambda_zip_is_stored_uncompressed_with_fixed_metadata(tmp_path: Path) -> None:
    built = tmp_path / "ddbreplica_lambda.zip"
    build_zip.build(sorted(LAMBDA_SRC.glob("*.py")), built)
    with zipfile.ZipFile(built) as archive:
        entries = archive.infolist()
        assert [entry.filename for entry in entries] == [
            "ddbreplica_lambda.py",
            "lab_config.py",
            "replica_targets.py",
        ]
        for entry in entries:
            assert entry.compress_type == zipfile.ZIP_STORED
            assert (entry.date_time, entry.create_system) == (build_zip.FIXED_TIME, build_zip.UNIX)
            assert entry.external_attr == build_zip.FILE_MODE
            assert archive.read(entry) == (LAMBDA_SRC / entry.filename).read_bytes()


def test_the_backfill_zip_runs_on_the_runtime_alone(tmp_path: Path) -> None:
    """dist/ddb_replica_backfill.zip (make's list of files) holds everything the backfill function imports:
    imported from the unzipped package, nothing comes from the repository, and nothing but boto3 from outside
    the standard library (no tqdm, no loader package: the CLI's alone)."""
    root = LAMBDA_SRC.parent
    subprocess.run(["make", "-s", "dist/ddb_replica_backfill.zip"], cwd=root, check=True, capture_output=True)
    with zipfile.ZipFile(root / "dist" / "ddb_replica_backfill.zip") as archive:
        names = archive.namelist()
        archive.extractall(tmp_path)
    assert "ddb_replica/backfill_function.py" in names and "ddb_replica/cli.py" not in names
    probe = (
        "import sys, ddb_replica.backfill_function\n"
        "print('\\n'.join(f'{n} {getattr(m, \"__file__\", None)}' for n, m in sorted(sys.modules.items())))\n"
    )
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(tmp_path), "AWS_DEFAULT_REGION": "us-east-1"}
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True, check=True
    )
    loaded = dict(line.split(" ", 1) for line in result.stdout.splitlines())
    # (the venv lives in the repository: its packages are the runtime's stand-in)
    ours = {
        n: path for n, path in loaded.items() if path.startswith(str(root)) and "site-packages" not in path
    }
    assert ours == {}, "imported from the repository instead of the zip"
    outside = {
        name.split(".")[0]
        for name, path in loaded.items()
        if "site-packages" in path and not name.startswith("__editable__")
    }
    boto3_and_its_own = {
        "boto3",
        "botocore",
        "jmespath",
        "dateutil",
        "urllib3",
        "s3transfer",
        "six",
        "certifi",
    }
    assert outside - {"_distutils_hack"} <= boto3_and_its_own, outside
