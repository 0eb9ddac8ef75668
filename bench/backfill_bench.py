"""Backfill throughput on LocalStack: ``ddb-replica backfill`` of N seeded items (default 20,000) into an
empty replica, then ``ddb-replica verify``. Prints items/s and writes them as JSON.

No stream or mapping runs here (the race tests in tests/localstack/test_backfill.py cover that); this
measures the copy path itself: parallel Scan, one conditional PutItem per item, the per-page settle reads;
then a second run over the replicated table, which finds every item in place and writes nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import boto3

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from loader.ddb_replica import cli  # noqa: E402


def create(ddb: Any, name: str) -> None:
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def seed(ddb: Any, table: str, count: int) -> None:
    """Lab-shaped items (the loader's attributes), written 25 per BatchWriteItem."""
    for start in range(0, count, 25):
        requests = [
            {
                "PutRequest": {
                    "Item": {
                        "PK": {"S": f"request#{number}"},
                        "GSI_1_PK": {"S": f"host#66.249.{number % 256}.{number % 7}"},
                        "requestid": {"N": str(number)},
                        "host": {"S": f"66.249.{number % 256}.{number % 7}"},
                        "date": {"S": "2017-07-20"},
                        "hourofday": {"N": str(number % 24)},
                        "method": {"S": "GET"},
                        "url": {"S": f"/path/{number}"},
                        "responsecode": {"N": "200"},
                        "bytessent": {"N": str(number * 7 % 100_000)},
                        "useragent": {"S": "Mozilla/5.0 (compatible; Googlebot/2.1)"},
                    }
                }
            }
            for number in range(start, min(start + 25, count))
        ]
        ddb.batch_write_item(RequestItems={table: requests})


def run_cli(*args: str) -> tuple[int, str, float]:
    out = io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stdout(out):
        code = cli.main(list(args))
    return code, out.getvalue(), time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint-url", default=os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"))
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--json", type=Path, required=True)
    args = parser.parse_args()
    ddb = boto3.client("dynamodb", endpoint_url=args.endpoint_url)
    source, replica = f"bench-bf-src-{uuid.uuid4().hex[:6]}", f"bench-bf-dst-{uuid.uuid4().hex[:6]}"
    create(ddb, source)
    create(ddb, replica)
    try:
        seed(ddb, source, args.items)
        tables = ["--source", source, "--replica", replica, "--endpoint-url", args.endpoint_url, "--quiet"]
        state = ROOT / "build" / "bench-backfill-state"
        code, output, seconds = run_cli("backfill", *tables, "--state-dir", str(state))
        print(output, end="")
        verify_code, verify_output, verify_seconds = run_cli("verify", *tables)
        print(verify_output, end="")
        # a second run over the replicated table: every item is found in place, nothing is written
        rerun_code, rerun_output, rerun_seconds = run_cli("backfill", *tables, "--state-dir", str(state))
        print(rerun_output, end="")
    finally:
        for table in (source, replica):
            ddb.delete_table(TableName=table)
    result = {
        "items": args.items,
        "backfill_exit": code,
        "backfill_seconds": round(seconds, 2),
        "items_per_second": round(args.items / seconds, 1),
        "summary": output.strip().splitlines()[-1] if output.strip() else "",
        "verify_exit": verify_code,
        "verify_seconds": round(verify_seconds, 2),
        "rerun_exit": rerun_code,
        "rerun_seconds": round(rerun_seconds, 2),
        "rerun_summary": rerun_output.strip().splitlines()[-1] if rerun_output.strip() else "",
    }
    args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    return 0 if code == verify_code == rerun_code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
