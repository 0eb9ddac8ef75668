"""Backfill throughput on LocalStack: ``ddb-replica backfill`` of N seeded items (default 20,000) into an
empty replica once per copy mode (``--copy item``, the first implementation, is the baseline; ``batch``, the
default), each followed by ``ddb-replica verify``; then ``backfill --serverless`` of the same table through
the module applied with ``backfill_mode = "serverless"`` (tests/localstack/serverless: LocalStack's Step
Functions and the project's Lambda executor); then ``redrive`` of one failed 100-record batch beside
``verify --repair`` of 100 changes (the remedy before redrive). Prints items/s and write calls per copied
item, the redrive's and the repair's seconds, and writes them as JSON.

No stream or mapping runs here (the race tests in tests/localstack/test_backfill.py cover that); this
measures the copy path itself: parallel Scan, the copy, the settle reads of each 100-key chunk; then a
second run over the replicated table, which finds every item in place and writes nothing. Write calls
are counted on the clients the command makes (a botocore hook, like the tests'); the serverless run's, which
Lambda makes, from LocalStack's call log (the calls of the backfill function's role to its replica).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import boto3

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(ROOT / "tests" / "terraform"))

from workdirs import TfLocal, config_copy  # noqa: E402

from loader.ddb_replica import cli  # noqa: E402
from loader.ddb_replica.tables import Connection  # noqa: E402

# Ours first: a cold LocalStack slows it, not the baseline. Not --copy transact: moto (LocalStack's DynamoDB
# here) deep-copies every table a transaction names before applying it, so on a 20,000-item table its time
# would measure the emulator (a run did not finish in 15 min); its calls per item are counted in the unit
# tests (tests/unit/test_ddb_replica_backfill.py: 2 TransactWriteItems for 120 items).
MODES = ("batch", "item")
REDRIVE_BATCH = 100  # records of the failed batch that redrive replays (the mapping's default batch size)
SERVERLESS_SEGMENTS = 8  # as the local runs' default for 20,000 items: one invocation per segment at once
WRITE_CALLS = ("PutItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")


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


def count_write_calls(calls: list[str]) -> None:
    """Append the name of every write call of the clients ddb-replica makes from now on to ``calls``."""
    original = Connection.client

    def client(self: Connection, threads: int, target: Any = None) -> Any:
        made = original(self, threads, target)
        for operation in WRITE_CALLS:
            made.meta.events.register(
                f"before-call.dynamodb.{operation}", lambda name=operation, **_: calls.append(name)
            )
        return made

    Connection.client = client  # type: ignore[method-assign]


def copied(summary: str) -> int:
    return int(summary.split("copied ", 1)[1].split(",", 1)[0]) if "copied " in summary else 0


def last_line(output: str) -> str:
    return output.strip().splitlines()[-1] if output.strip() else ""


def bench_mode(
    ddb: Any, source: str, mode: str, endpoint: str, items: int, calls: list[str]
) -> dict[str, Any]:
    """Backfill a new empty replica from ``source`` with ``--copy mode``, then verify it; the replica is kept
    for the caller to delete (its name is in the result)."""
    replica = f"bench-bf-dst-{mode}-{uuid.uuid4().hex[:6]}"
    create(ddb, replica)
    tables = ["--source", source, "--replica", replica, "--endpoint-url", endpoint, "--quiet"]
    state = ROOT / "build" / f"bench-backfill-state-{mode}"
    calls.clear()
    code, output, seconds = run_cli("backfill", *tables, "--state-dir", str(state), "--copy", mode)
    print(output, end="")
    summary = last_line(output)
    writes = len(calls)
    verify_code, verify_output, verify_seconds = run_cli("verify", *tables)
    print(verify_output, end="")
    return {
        "replica": replica,
        "backfill_exit": code,
        "backfill_seconds": round(seconds, 2),
        "items_per_second": round(items / seconds, 1),
        "write_calls": writes,
        "write_calls_per_copied_item": round(writes / max(copied(summary), 1), 4),
        "summary": summary,
        "verify_exit": verify_code,
        "verify_seconds": round(verify_seconds, 2),
    }


def update_batch(ddb: Any, source: str, first: int, count: int, stamp: str) -> None:
    """Change ``count`` items of the source (one stream record each), as a batch the function failed."""
    for number in range(first, first + count):
        ddb.update_item(
            TableName=source,
            Key={"PK": {"S": f"request#{number}"}},
            UpdateExpression="SET bytessent = :b, redriven = :s",
            ExpressionAttributeValues={":b": {"N": str(number + 1)}, ":s": {"S": stamp}},
        )


def failed_batch_message(endpoint: str, stream_arn: str, count: int) -> str:
    """Lambda's on-failure record for the stream's last ``count`` records (one shard: moto's)."""
    streams = boto3.client("dynamodbstreams", endpoint_url=endpoint)
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][-1]["ShardId"]
    iterator = streams.get_shard_iterator(
        StreamArn=stream_arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )
    records: list[Any] = []
    position = iterator["ShardIterator"]
    while True:
        page = streams.get_records(ShardIterator=position, Limit=1000)
        records += page["Records"]
        if not page["Records"] or not page.get("NextShardIterator"):
            break
        position = page["NextShardIterator"]
    batch = records[-count:]
    return json.dumps(
        {
            "requestContext": {"condition": "RetryAttemptsExhausted", "approximateInvokeCount": 11},
            "version": "1.0",
            "DDBStreamBatchInfo": {
                "shardId": shard,
                "startSequenceNumber": batch[0]["dynamodb"]["SequenceNumber"],
                "endSequenceNumber": batch[-1]["dynamodb"]["SequenceNumber"],
                "batchSize": len(batch),
                "streamArn": stream_arn,
            },
        }
    )


def bench_redrive(ddb: Any, source: str, replica: str, endpoint: str, items: int) -> dict[str, Any]:
    """One failed batch of 100 changes to the replicated 20,000-item table, repaired by ``redrive`` (its
    records only) and, for another 100 changes, by the only remedy before it: ``verify --repair`` (both
    tables scanned whole). Each must leave the tables identical."""
    stream = ddb.describe_table(TableName=source)["Table"].get("StreamSpecification") or {}
    if not stream.get("StreamEnabled"):  # the serverless run's module may have enabled it already
        ddb.update_table(
            TableName=source,
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
    stream_arn = ddb.describe_table(TableName=source)["Table"]["LatestStreamArn"]
    sqs = boto3.client("sqs", endpoint_url=endpoint)
    queue = sqs.create_queue(QueueName=f"bench-redrive-{uuid.uuid4().hex[:6]}")["QueueUrl"]
    tables = ["--source", source, "--replica", replica, "--endpoint-url", endpoint, "--quiet"]
    try:
        update_batch(ddb, source, 0, REDRIVE_BATCH, "redrive")
        sqs.send_message(
            QueueUrl=queue, MessageBody=failed_batch_message(endpoint, stream_arn, REDRIVE_BATCH)
        )
        redrive_code, redrive_output, redrive_seconds = run_cli("redrive", *tables, "--queue-url", queue)
        print(redrive_output, end="")
        after_redrive, _, _ = run_cli("verify", *tables)
        update_batch(ddb, source, REDRIVE_BATCH, REDRIVE_BATCH, "repair")
        repair_code, repair_output, repair_seconds = run_cli("verify", *tables, "--repair")
        print(repair_output, end="")
        after_repair, _, _ = run_cli("verify", *tables)
    finally:
        sqs.delete_queue(QueueUrl=queue)
    return {
        "batch_records": REDRIVE_BATCH,
        "table_items": items,
        "redrive_exit": redrive_code,
        "redrive_seconds": round(redrive_seconds, 2),
        "redrive_summary": last_line(redrive_output),
        "verify_after_redrive_exit": after_redrive,
        "repair_exit": repair_code,
        "repair_seconds": round(repair_seconds, 2),
        "verify_after_repair_exit": after_repair,
        "redrive_speedup_over_repair": round(repair_seconds / max(redrive_seconds, 0.001), 1),
    }


def serverless_write_calls(call_log: Path, first_line: int, role_name: str, replica: str) -> int | None:
    """The write calls the backfill function's role made to ``replica`` (LocalStack's call log)."""
    if not call_log.exists():
        return None
    count = 0
    for line in call_log.read_text().splitlines()[first_line:]:
        entry = json.loads(line) if line.strip() else {}
        if f"assumed-role/{role_name}/" not in entry.get("principal", "") or entry.get("error"):
            continue
        params = entry.get("params", {})
        tables = [params.get("TableName"), *params.get("RequestItems", []), *params.get("TransactItems", [])]
        if entry.get("operation") in WRITE_CALLS and replica in tables:
            count += 1
    return count


def bench_serverless(ddb: Any, source: str, endpoint: str, items: int, segments: int) -> dict[str, Any]:
    """backfill --serverless of ``source`` into the module's new, empty replica (8 segments at once, one
    900 s invocation each), then verify. The module is applied first and destroyed after (not timed)."""
    ddb.update_table(
        TableName=source, StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    )
    workdir = Path(tempfile.mkdtemp(prefix="bench-serverless-"))
    name = f"bench-sls-{uuid.uuid4().hex[:6]}"
    tflocal = TfLocal(config_copy("tests/localstack/serverless", workdir), workdir, endpoint, "TF")
    variables = [
        f"-var=name={name}",
        f"-var=source_table_name={source}",
        f"-var=max_concurrency={segments}",
        "-var=lambda_timeout=900",
    ]
    call_log = ROOT / ".localstack" / endpoint.rsplit(":", 1)[1].split("/")[0] / "calls.jsonl"
    try:
        tflocal("init", "-input=false")
        tflocal("apply", "-auto-approve", "-input=false", *variables)
        outputs = {k: v["value"] for k, v in json.loads(tflocal("output", "-json").stdout).items()}
        (workdir / "backfill.json").write_text(json.dumps(outputs["backfill"]))
        replica = outputs["replica_table_name"]
        tables = ["--source", source, "--replica", replica, "--endpoint-url", endpoint, "--quiet"]
        first_line = len(call_log.read_text().splitlines()) if call_log.exists() else 0
        code, output, seconds = run_cli(
            "backfill",
            *tables,
            "--serverless",
            "--backfill-json",
            str(workdir / "backfill.json"),
            "--segments",
            str(segments),
        )
        print(output, end="")
        summary = last_line(output)
        role = outputs["roles"][0].rsplit("/", 1)[1]
        writes = serverless_write_calls(call_log, first_line, role, replica)
        verify_code, verify_output, verify_seconds = run_cli("verify", *tables)
        print(verify_output, end="")
    finally:
        tflocal("destroy", "-auto-approve", "-input=false", *variables, check=False)
    return {
        "backfill_exit": code,
        "backfill_seconds": round(seconds, 2),
        "items_per_second": round(items / seconds, 1),
        "max_concurrency": segments,
        "write_calls": writes,
        "write_calls_per_copied_item": None if writes is None else round(writes / max(copied(summary), 1), 4),
        "summary": summary,
        "verify_exit": verify_code,
        "verify_seconds": round(verify_seconds, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint-url", default=os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"))
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--json", type=Path, required=True)
    args = parser.parse_args()
    ddb = boto3.client("dynamodb", endpoint_url=args.endpoint_url)
    source = f"bench-bf-src-{uuid.uuid4().hex[:6]}"
    create(ddb, source)
    calls: list[str] = []
    count_write_calls(calls)
    modes: dict[str, dict[str, Any]] = {}
    try:
        seed(ddb, source, args.items)
        for mode in MODES:
            modes[mode] = bench_mode(ddb, source, mode, args.endpoint_url, args.items, calls)
        # a second run over the replicated table: every item is found in place, nothing is written
        tables = [
            "--source",
            source,
            "--replica",
            modes["batch"]["replica"],
            "--endpoint-url",
            args.endpoint_url,
        ]
        state = ROOT / "build" / "bench-backfill-state-batch"
        calls.clear()
        rerun_code, rerun_output, rerun_seconds = run_cli(
            "backfill", *tables, "--quiet", "--state-dir", str(state)
        )
        print(rerun_output, end="")
        rerun_writes = len(calls)
        serverless = bench_serverless(ddb, source, args.endpoint_url, args.items, SERVERLESS_SEGMENTS)
        redrive = bench_redrive(ddb, source, modes["batch"]["replica"], args.endpoint_url, args.items)
    finally:
        for table in [source, *(result["replica"] for result in modes.values())]:
            ddb.delete_table(TableName=table)
    default = modes["batch"]
    result = {
        "items": args.items,
        # the default mode's figures, as before the modes existed
        "backfill_exit": default["backfill_exit"],
        "backfill_seconds": default["backfill_seconds"],
        "items_per_second": default["items_per_second"],
        "summary": default["summary"],
        "verify_exit": default["verify_exit"],
        "verify_seconds": default["verify_seconds"],
        "modes": modes,
        "batch_speedup_over_item": round(default["items_per_second"] / modes["item"]["items_per_second"], 2),
        "serverless": serverless,
        "serverless_speedup_over_item": round(
            serverless["items_per_second"] / modes["item"]["items_per_second"], 2
        ),
        "rerun_exit": rerun_code,
        "rerun_seconds": round(rerun_seconds, 2),
        "rerun_write_calls": rerun_writes,
        "rerun_summary": last_line(rerun_output),
        "redrive": redrive,
    }
    args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    codes = [mode["backfill_exit"] for mode in [*modes.values(), serverless]] + [
        mode["verify_exit"] for mode in [*modes.values(), serverless]
    ]
    codes += [redrive[name] for name in ("redrive_exit", "verify_after_redrive_exit", "repair_exit")]
    codes.append(redrive["verify_after_repair_exit"])
    return 0 if not any(codes) and rerun_code == 0 and rerun_writes == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
