"""Benchmark the replica handler against the lab's on a batch of the workshop's log data (not a test).

In-process moto. Setup, outside every measurement: a ``logfile`` table with a NEW_IMAGE stream and the
workshop's GSI, the first --records rows of data/logfile_stream.csv written to it, its stream records
wrapped into one Lambda event. Then, per handler and repetition: an empty ``logfile_replica``, one
invocation, and a check that the replica equals the source.

Figures: write calls per batch (BatchWriteItem/PutItem/DeleteItem calls, counted from botocore's
before-call events) and CPU microseconds per record (time.process_time around the invocation, best of
--repeat). moto answers the calls inside this process, so its work is part of the CPU figure; the lab
handler also pays for its resource, made on every invocation as in the lab, while the fixed handler's
client is made once per container (before the first measurement here).

Exit status: 0, or 1 if a run raised, printed an error, or left the replica different from the source.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import botocore.client

# the two handlers, and the event factory of the tests
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lambda_src"))
sys.path.insert(0, str(Path(__file__).resolve().parent / "baselines"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "unit"))

import ddbreplica_lambda
import lab_handler
from stream_events import (
    REGION,
    REPLICA,
    FakeContext,
    SourceTable,
    create_table,
    dynamodb,
    lambda_event,
    moto_aws,
    scan,
)

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data" / "logfile_stream.csv"
WRITE_OPERATIONS = frozenset({"BatchWriteItem", "PutItem", "DeleteItem", "UpdateItem"})
# Fake credentials and the regional streams endpoint, as tests/conftest.py sets them for the tests.
ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
}

type Handler = Callable[[dict[str, Any], Any], object]


@dataclass(frozen=True)
class Figures:
    write_calls: int
    cpu_us_per_record: float
    cpu_us_per_record_runs: list[float]


class RunFailed(Exception):
    """A run raised, printed an error, or left the replica different from the source."""


def workshop_item(row: Sequence[str]) -> dict[str, Any]:
    """A logfile item in DynamoDB JSON, laid out as the workshop's loader writes it."""
    requestid, host, date, hourofday, timezone, method, url, responsecode, bytessent, useragent = row
    item = {
        "PK": {"S": f"request#{requestid}"},
        "GSI_1_PK": {"S": f"host#{host}"},
        "requestid": {"N": str(int(requestid))},
        "host": {"S": host},
        "date": {"S": date},
        "hourofday": {"N": str(int(hourofday))},
        "timezone": {"S": timezone},
        "method": {"S": method},
        "url": {"S": url},
        "responsecode": {"N": str(int(responsecode))},
        "bytessent": {"N": str(int(bytessent))},
        "useragent": {"S": useragent},
    }
    if int(responsecode) == 500:
        item["servererror"] = {"S": "5xx"}
    return item


def workshop_event(records: int) -> tuple[dict[str, Any], SourceTable]:
    """The Lambda event of the first `records` rows' inserts, and the source table."""
    with DATA.open(newline="", encoding="utf-8") as data:
        rows = [row for _, row in zip(range(records), csv.reader(data), strict=False)]
    source = SourceTable.create("logfile", index_key=("GSI_1_PK", "S"))
    source.put(*(workshop_item(row) for row in rows))
    return lambda_event(source.records()), source


def count_write_calls() -> list[str]:
    """Record the DynamoDB write operations of every client, whatever session made it (the handler makes
    one client per target, each from its own session)."""
    calls: list[str] = []
    client_class: Any = botocore.client.BaseClient  # the stubs do not declare _make_api_call
    original = client_class._make_api_call

    def recording(self: Any, operation_name: str, api_params: Any) -> Any:
        if self.meta.service_model.service_name == "dynamodb" and operation_name in WRITE_OPERATIONS:
            calls.append(operation_name)
        return original(self, operation_name, api_params)

    client_class._make_api_call = recording
    return calls


def run_once(
    handler: Handler, event: dict[str, Any], source: SourceTable, calls: list[str], regions: Sequence[str]
) -> float:
    """One invocation on an empty replica in each region (one target each); its CPU seconds. Raises
    RunFailed."""
    for region in regions:
        with contextlib.suppress(dynamodb(region).exceptions.ResourceNotFoundException):
            dynamodb(region).delete_table(TableName=REPLICA)
        create_table(REPLICA, index_key=("GSI_1_PK", "S"), region=region)
    calls.clear()
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        started = time.process_time()
        response = handler(event, FakeContext())
        cpu = time.process_time() - started
    if "Traceback" in output.getvalue() or response not in (None, {"batchItemFailures": []}):
        raise RunFailed(f"response {response!r}, output {output.getvalue()[-2000:]}")
    if any(scan(REPLICA, region=region) != source.items() for region in regions):
        raise RunFailed("a replica differs from the source")
    return cpu


def measure(
    handler: Handler,
    event: dict[str, Any],
    source: SourceTable,
    repeat: int,
    calls: list[str],
    regions: Sequence[str] = (REGION,),
) -> Figures:
    """The handler's figures with one target per region (REPLICA_TARGETS when more than one)."""
    if len(regions) > 1:
        targets = {region: {"table_name": REPLICA, "region": region} for region in regions}
        os.environ["REPLICA_TARGETS"] = json.dumps(targets)
    ddbreplica_lambda.replica_client.cache_clear()
    try:
        return _measure(handler, event, source, repeat, calls, regions)
    finally:
        os.environ.pop("REPLICA_TARGETS", None)
        ddbreplica_lambda.replica_client.cache_clear()


def _measure(
    handler: Handler,
    event: dict[str, Any],
    source: SourceTable,
    repeat: int,
    calls: list[str],
    regions: Sequence[str],
) -> Figures:
    run_once(handler, event, source, calls, regions)  # warm-up: imports, the container's clients, moto
    runs, write_calls = [], set()
    for _ in range(repeat):
        runs.append(run_once(handler, event, source, calls, regions) / len(event["Records"]) * 1e6)
        write_calls.add(len(calls))
    if len(write_calls) != 1:
        raise RunFailed(f"write calls differ between runs: {sorted(write_calls)}")
    return Figures(write_calls.pop(), round(min(runs), 1), [round(run, 1) for run in runs])


def table(figures: dict[str, Figures], records: int, repeat: int) -> str:
    calls, cpu = f"write calls / {records} records", f"CPU µs / record (best of {repeat})"
    lines = [
        f"{'handler':<16} {calls:>28} {cpu:>32}",
        *(
            f"{name:<16} {result.write_calls:>28} {result.cpu_us_per_record:>32.1f}"
            for name, result in figures.items()
        ),
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--records", type=int, default=100, help="records per batch (default 100)")
    parser.add_argument("--repeat", type=int, default=7, help="measured runs per handler (default 7)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    for name, value in ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    # Each handler with its replicas, one per region: the lab's and ours with one, ours with 2 and 3 targets.
    handlers: dict[str, tuple[Handler, tuple[str, ...]]] = {
        "ours": (ddbreplica_lambda.lambda_handler, (REGION,)),
        "lab": (lab_handler.lambda_handler, (REGION,)),
        "ours, 2 targets": (ddbreplica_lambda.lambda_handler, (REGION, "eu-west-1")),
        "ours, 3 targets": (ddbreplica_lambda.lambda_handler, (REGION, "eu-west-1", "ap-southeast-2")),
    }
    try:
        with moto_aws(fast_items=False):  # moto as earlier runs measured it (figures stay comparable)
            event, source = workshop_event(args.records)
            calls = count_write_calls()
            figures = {
                name: measure(handler, event, source, args.repeat, calls, regions)
                for name, (handler, regions) in handlers.items()
            }
    except Exception as error:
        print(f"benchmark run failed: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    print(table(figures, len(event["Records"]), args.repeat))
    if args.json:
        summary = {"records": len(event["Records"]), "repeat": args.repeat}
        summary |= {name: asdict(result) for name, result in figures.items()}
        args.json.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
