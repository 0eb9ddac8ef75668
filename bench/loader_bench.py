"""Benchmark: our loader (batch_writer + threads) against the lab's one-put_item-per-row loader.

Needs a DynamoDB endpoint, e.g. LocalStack::

    python bench/loader_bench.py --endpoint-url http://127.0.0.1:4566 --runs 3 --json bench/loader.json

Each run creates a throw-away table with the workshop schema (hash key PK, S; on-demand), loads
the file, checks the item count and deletes the table. Both loaders run in this process (boto3
already imported for both) and are timed from call to return. Best of N per loader, then the
ratio of rows/s. Exit 0 when every run succeeded, 1 when one failed, 2 on bad usage.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import importlib.util
import io
import json
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a file without installing

from loader import load_logfile

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import ScanInputTypeDef

REPO = Path(__file__).resolve().parents[1]
LAB_LOADER = Path(__file__).resolve().parent / "baselines" / "lab_loader.py"
DEFAULT_FILE = REPO / "data" / "logfile_stream.csv"

LoadFn = Callable[[str], int]  # table name -> rows the loader says it wrote


@dataclass(frozen=True)
class Settings:
    endpoint_url: str
    region: str
    file: Path
    runs: int
    workers: int


@dataclass
class Timings:
    name: str
    seconds: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def best(self) -> float | None:
        return min(self.seconds) if self.seconds else None

    def rows_per_second(self, rows: int) -> float | None:
        best = self.best()
        return rows / best if best else None

    def as_json(self, rows: int) -> dict[str, Any]:
        return {
            "seconds": [round(s, 4) for s in self.seconds],
            "best_seconds": self.best(),
            "median_seconds": statistics.median(self.seconds) if self.seconds else None,
            "rows_per_second": self.rows_per_second(rows),
            "failures": self.failures,
        }


# --------------------------------------------------------------------------------------------
# The two loaders, as "load this table" functions
# --------------------------------------------------------------------------------------------


def lab_loader(settings: Settings) -> LoadFn:
    spec = importlib.util.spec_from_file_location("lab_loader", LAB_LOADER)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot import {LAB_LOADER}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    import_csv = cast(Callable[..., int], module.import_csv)

    def load(table: str) -> int:
        with contextlib.redirect_stdout(io.StringIO()):  # its progress lines, like the lab prints
            return import_csv(table, str(settings.file), settings.endpoint_url, settings.region)

    return load


def our_loader(settings: Settings) -> LoadFn:
    def load(table: str) -> int:
        argv = [table, str(settings.file), "--endpoint-url", settings.endpoint_url]
        argv += ["--region", settings.region, "--workers", str(settings.workers), "--quiet"]
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = load_logfile.main(argv)
        if code != 0:
            raise RuntimeError(f"load-logfile exited {code}")
        return int(out.getvalue().strip().splitlines()[-1].split(",")[0].removeprefix("RowCount: "))

    return load


# --------------------------------------------------------------------------------------------
# One run: fresh table, load, verify, delete
# --------------------------------------------------------------------------------------------


def _client(settings: Settings) -> DynamoDBClient:
    return boto3.client("dynamodb", endpoint_url=settings.endpoint_url, region_name=settings.region)


def create_table(client: DynamoDBClient, name: str) -> None:
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})


def count_items(client: DynamoDBClient, name: str) -> int:
    total = 0
    kwargs: ScanInputTypeDef = {"TableName": name, "Select": "COUNT"}
    while True:
        page = client.scan(**kwargs)
        total += page["Count"]
        if "LastEvaluatedKey" not in page:
            return total
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def timed_run(settings: Settings, label: str, load: LoadFn, rows: int) -> float:
    """Seconds the loader took; raises if it failed or the table does not hold every row."""
    client = _client(settings)
    table = f"loader-bench-{label}-{uuid.uuid4().hex[:8]}"
    create_table(client, table)
    try:
        started = time.perf_counter()
        reported = load(table)
        seconds = time.perf_counter() - started
        stored = count_items(client, table)
        if reported != rows or stored != rows:
            raise RuntimeError(f"expected {rows} rows, loader reported {reported}, table holds {stored}")
        return seconds
    finally:
        client.delete_table(TableName=table)


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--endpoint-url",
        default=os.environ.get("AWS_ENDPOINT_URL"),
        help="DynamoDB endpoint (default: $AWS_ENDPOINT_URL), e.g. http://127.0.0.1:4566",
    )
    parser.add_argument("--region", default=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    parser.add_argument(
        "--file", type=Path, default=DEFAULT_FILE, help="CSV to load (default: workshop data)"
    )
    parser.add_argument("--runs", type=int, default=3, help="runs per loader; the best counts (default: 3)")
    parser.add_argument(
        "--workers", type=int, default=load_logfile.DEFAULT_WORKERS, help="our loader's threads"
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    return parser.parse_args(argv)


def ensure_credentials() -> None:
    """Emulators accept any key; use LocalStack's test/test when none is configured."""
    if boto3.session.Session().get_credentials() is None:
        os.environ["AWS_ACCESS_KEY_ID"] = "test"
        os.environ["AWS_SECRET_ACCESS_KEY"] = "test"
        print("no AWS credentials configured: using test/test", file=sys.stderr)


def count_rows(path: Path) -> int:
    with path.open(encoding="utf-8", newline="") as stream:
        return sum(1 for fields in csv.reader(stream) if fields)


def report(settings: Settings, rows: int, results: list[Timings]) -> dict[str, Any]:
    lab, ours = results
    print(f"endpoint {settings.endpoint_url}, {settings.file.name}: {rows} rows, best of {settings.runs}")
    print(f"{'loader':<34} {'best s':>8} {'median s':>9} {'rows/s':>9} {'failed':>7}")
    for timing in results:
        best, rate = timing.best(), timing.rows_per_second(rows)
        median = statistics.median(timing.seconds) if timing.seconds else None
        cells = f"{_num(best, 3):>8} {_num(median, 3):>9} {_num(rate, 0):>9} {len(timing.failures):>7}"
        print(f"{timing.name:<34} {cells}")
    lab_rate, our_rate = lab.rows_per_second(rows), ours.rows_per_second(rows)
    speedup = our_rate / lab_rate if lab_rate and our_rate else None
    print(f"speedup (rows/s, ours / lab): {'-' if speedup is None else f'{speedup:.1f}x'}")
    return {
        "endpoint_url": settings.endpoint_url,
        "region": settings.region,
        "file": str(settings.file),
        "rows": rows,
        "runs": settings.runs,
        "workers": settings.workers,
        "results": {"lab": lab.as_json(rows), "ours": ours.as_json(rows)},
        "speedup": speedup,
    }


def _num(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.endpoint_url:
        print(
            "error: pass --endpoint-url or set AWS_ENDPOINT_URL (this creates and deletes tables)",
            file=sys.stderr,
        )
        return 2
    if args.runs < 1 or args.workers < 1:
        print("error: --runs and --workers must be at least 1", file=sys.stderr)
        return 2
    settings = Settings(args.endpoint_url, args.region, args.file, args.runs, args.workers)
    ensure_credentials()
    rows = count_rows(settings.file)
    loaders = [
        (Timings("lab (put_item per row)"), "lab", lab_loader(settings)),
        (Timings(f"ours (batch_writer, {settings.workers} workers)"), "ours", our_loader(settings)),
    ]
    for run in range(1, settings.runs + 1):
        for timing, label, load in loaders:  # interleaved, so drift hits both alike
            try:
                timing.seconds.append(timed_run(settings, label, load, rows))
            except Exception as exc:  # a failed run is reported, the others still run
                timing.failures.append(f"run {run}: {type(exc).__name__}: {exc}")
                print(f"{timing.name} run {run} failed: {exc}", file=sys.stderr)
    figures = report(settings, rows, [timing for timing, _, _ in loaders])
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 1 if any(timing.failures for timing, _, _ in loaders) else 0


if __name__ == "__main__":
    sys.exit(main())
