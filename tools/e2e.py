"""`make e2e`: the whole lab on LocalStack — apply, load, converge, verify item by item, destroy.

Steps, one line each on the terminal with its time; the output of Terraform, the loader and ddb-replica goes
to a log file (build/e2e.log, named at the start, its last lines printed on failure):
 1. start LocalStack unless one already answers (a running one is used and left running);
 2. (with --pre-stream-rows N > 0, the default) the lab's starting point: ``logfile`` created as in
    exercise 1 (no stream) and N rows written to it, then its stream switched on
    (``update-table --stream-specification``); apply then uses that table (create_source_table=false);
 3. ``tflocal init`` + ``tflocal apply`` of examples/workshop;
 4. the lab's loader: ``loader/load_logfile.py logfile <CSV>``; then ``ddb-replica backfill`` for the rows
    that predate the stream, while the mapping is still delivering the load (a tenth of the pre-stream
    rows are older versions of CSV rows: the stream's newer items must survive the backfill);
 5. wait until the replica equals the source (progress: replica/source items, batches seen);
    on timeout, a diagnosis: mapping state, function errors from CloudWatch Logs, DLQ depth;
 6. verify every item attribute by attribute, counts, a GSI_1 query (projected attributes only);
    ``ddb-replica verify`` (0 differences), then one replica item edited by hand: verify must fail naming
    its key, ``verify --repair`` must fix it; then update 10 and delete 10 items and verify again;
 7. the lab's check (``aws dynamodb scan --max-items 2``) and a summary, also in build/e2e-summary.json;
 8. ``tflocal destroy`` and removal of the step-2 table (not with --keep), stop LocalStack if this run
    started it.
Exit 0 only when everything verified.
"""

from __future__ import annotations

import argparse
import csv as csvlib
import fcntl
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import boto3

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "workshop"
LOCALSTACK_SH = str(ROOT / "tools" / "localstack.sh")
VENV_BIN = Path(sys.executable).parent
# E2E_SUMMARY / E2E_LOG: other paths, for a test that runs two e2e configurations at once.
SUMMARY = Path(os.environ.get("E2E_SUMMARY") or ROOT / "build" / "e2e-summary.json").resolve()
LOG = Path(os.environ.get("E2E_LOG") or ROOT / "build" / "e2e.log").resolve()
LOG_TAIL_LINES = 40
REPLICA_GSI_ATTRIBUTES = {"PK", "GSI_1_PK", "bytessent", "requestid", "host"}
PRE_STREAM_CSV = ROOT / "build" / "e2e-pre-stream.csv"
BACKFILL_STATE = ROOT / "build" / "e2e-backfill"
PRE_STREAM_REQUESTID_OFFSET = 1_000_000  # pre-stream rows get request ids the CSV does not use...
PRE_STREAM_OLDER_SHARE = 10  # ...except one in ten: an older version of a CSV row (bytessent - 1)
Item = dict[str, Any]


class E2EError(Exception):
    """A failed step; the message says what failed and what to look at."""


@dataclass
class Summary:
    csv: str
    rows_loaded: int = 0
    load_seconds: float = 0.0
    convergence_seconds: float = 0.0
    source_items: int = 0
    replica_items: int = 0
    invocations: int = 0
    mismatches: int = 0
    changes_convergence_seconds: float = 0.0
    pre_stream_rows: int = 0
    pre_stream_older_versions: int = 0
    backfill_seconds: float = 0.0
    backfill_output: str = ""
    ops_verify_exit: int = -1
    ops_verify_after_edit_exit: int = -1
    ops_repair_exit: int = -1
    poll_interval_seconds: float = 0.0
    poll_bound_seconds: float = 0.0
    verified: bool = False
    mismatch_examples: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Stack:
    endpoint: str
    source: str
    replica: str
    function: str
    mapping_uuid: str
    dlq_url: str | None
    log_group: str


def shown(path: Path) -> str:
    """A path as the user reads it: relative to the repository when inside it."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def say(message: str) -> None:
    """A line on the terminal (and in the log)."""
    log(f"e2e: {message}")
    print(f"e2e: {message}", flush=True)


def log(text: str) -> None:
    """Into the log file only: details a step's one line leaves out."""
    LOG.parent.mkdir(parents=True, exist_ok=True)
    with LOG.open("a", encoding="utf-8") as file:
        file.write(text if text.endswith("\n") else text + "\n")


def log_tail(lines: int = LOG_TAIL_LINES) -> str:
    if not LOG.is_file():
        return ""
    return "\n".join(LOG.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


@contextmanager
def step(title: str) -> Iterator[list[str]]:
    """One terminal line for a step: its title, then its time and the notes the step appended."""
    started = time.monotonic()
    log(f"\n== {title}")
    print(f"e2e: {title} ...", end="", flush=True)
    notes: list[str] = []
    try:
        yield notes
    except BaseException:
        print(f" failed after {time.monotonic() - started:.1f} s", flush=True)
        raise
    detail = f" ({'; '.join(notes)})" if notes else ""
    print(f" {time.monotonic() - started:.1f} s{detail}", flush=True)
    log(f"== {title}: {time.monotonic() - started:.1f} s{detail}")


# -- processes ---------------------------------------------------------------------------------------
def run(command: list[str], cwd: Path = ROOT, env: dict[str, str] | None = None) -> str:
    """Run a command, its output going to the log file; on failure raise with the log's last lines.
    Returns stdout."""
    log(f"$ {' '.join(command)}")
    result = subprocess.run(
        command, cwd=cwd, env={**os.environ, **(env or {})}, text=True, capture_output=True, check=False
    )
    log(result.stdout + result.stderr)
    if result.returncode != 0:
        raise E2EError(
            f"`{' '.join(command)}` failed with exit code {result.returncode}; "
            f"the last lines of {shown(LOG)}:\n{log_tail()}"
        )
    return result.stdout


def localstack_answers(endpoint: str) -> bool:
    try:
        with urllib.request.urlopen(f"{endpoint}/_localstack/health", timeout=2) as response:
            return b'"services"' in response.read()
    except OSError:
        return False


@contextmanager
def localstack(endpoint: str) -> Iterator[None]:
    """Use a running LocalStack, or start one for this run and stop it afterwards."""
    with step(f"LocalStack at {endpoint}") as notes:
        started_here = not localstack_answers(endpoint)
        if started_here:
            run([LOCALSTACK_SH, "up"])
        notes.append("started; stopped at the end" if started_here else "already running; it stays running")
    try:
        yield
    finally:
        if started_here:
            with step("stop LocalStack"):
                run([LOCALSTACK_SH, "down"])


def _localstack_state(endpoint: str) -> Path:
    """tools/localstack.sh's state folder for the endpoint's port (.localstack/<port>)."""
    port = endpoint.rsplit(":", 1)[-1].split("/", 1)[0]
    return ROOT / ".localstack" / port


def share_localstack(endpoint: str, run_id: str) -> None:
    """Make LocalStack answer at ``endpoint`` for every process of one test run (pytest's parallel
    workers each ask): under a lock, a running one is used as it is; otherwise one is started and
    ``run_id`` is recorded as its owner, so that ``release_localstack`` stops it once the run ends."""
    state = _localstack_state(endpoint)
    state.mkdir(parents=True, exist_ok=True)
    with open(state / "share.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if localstack_answers(endpoint):
            return
        output = run([LOCALSTACK_SH, "up"], env={"AWS_ENDPOINT_URL": endpoint})
        # `up` also succeeds for a LocalStack that runs but was slow to answer: own only one it started
        if "localstack: starting" in output:
            (state / "started-by-run").write_text(run_id)


def release_localstack(endpoint: str, run_id: str) -> None:
    """Stop the LocalStack that ``share_localstack`` started for ``run_id``; leave any other one alone."""
    owner = _localstack_state(endpoint) / "started-by-run"
    if owner.is_file() and owner.read_text() == run_id:
        owner.unlink()
        run([LOCALSTACK_SH, "down"], env={"AWS_ENDPOINT_URL": endpoint})


def setup_env() -> dict[str, str]:
    """What `make setup` decided (build/setup.env: TF, and TF_CLI_CONFIG_FILE for the provider mirror).
    Like the Makefile, these win over the caller's environment."""
    values: dict[str, str] = {}
    path = ROOT / "build" / "setup.env"
    if path.exists():
        for line in path.read_text().splitlines():
            key, separator, value = line.partition("=")
            if separator:
                values[key] = value
    return values


def tflocal(*args: str, example: Path = EXAMPLE) -> str:
    """tflocal with the project's Terraform CLI (TF from `make setup`) in an example (examples/workshop)."""
    env = setup_env()
    env["TF_CMD"] = env.get("TF") or os.environ.get("TF") or "terraform"
    env["DISABLE_DEPRECATION_NOTICE"] = "1"
    return run([str(VENV_BIN / "tflocal"), *args], cwd=example, env=env)


# -- AWS clients ---------------------------------------------------------------------------------------
def client(service: str, endpoint: str) -> Any:
    """A boto3 client for ``service`` at ``endpoint`` (Any: boto3-stubs cannot type a variable service)."""
    session: Any = boto3.session.Session(region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    return session.client(service, endpoint_url=endpoint)


def clients(endpoint: str) -> dict[str, Any]:
    return {name: client(name, endpoint) for name in ("dynamodb", "lambda", "logs", "sqs")}


def scan(ddb: Any, table: str) -> dict[str, Item]:
    """Every item of a table (strongly consistent), by PK."""
    items: dict[str, Item] = {}
    for page in ddb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        for item in page["Items"]:
            items[item["PK"]["S"]] = item
    return items


def count(ddb: Any, table: str) -> int:
    total = 0
    for page in ddb.get_paginator("scan").paginate(TableName=table, Select="COUNT", ConsistentRead=True):
        total += page["Count"]
    return total


def differences(source: dict[str, Item], replica: dict[str, Item]) -> list[str]:
    """Keys that are missing, extra or different, with the attributes that differ."""
    found = [f"missing in replica: {key}" for key in sorted(source.keys() - replica.keys())]
    found += [f"extra in replica: {key}" for key in sorted(replica.keys() - source.keys())]
    for key in sorted(source.keys() & replica.keys()):
        if source[key] != replica[key]:
            names = sorted(
                name
                for name in source[key].keys() | replica[key].keys()
                if source[key].get(name) != replica[key].get(name)
            )
            found.append(f"different: {key} ({', '.join(names)})")
    return found


def function_log_lines(aws: dict[str, Any], stack: Stack) -> list[str]:
    lines: list[str] = []
    try:
        for page in aws["logs"].get_paginator("filter_log_events").paginate(logGroupName=stack.log_group):
            lines += [event["message"] for event in page["events"]]
    except aws["logs"].exceptions.ResourceNotFoundException:
        pass
    return lines


def invocation_count(aws: dict[str, Any], stack: Stack, settle_seconds: float = 0.0) -> int:
    """Invocations so far, from the START lines in the function's log group. LocalStack stores an
    invocation's logs just after it returns, so right after convergence the count is waited on until
    it stays the same for ``settle_seconds``."""
    count = sum(1 for line in function_log_lines(aws, stack) if line.startswith("START RequestId:"))
    deadline = time.monotonic() + 5 * settle_seconds
    while settle_seconds and time.monotonic() < deadline:
        time.sleep(settle_seconds)
        latest = invocation_count(aws, stack)
        if latest == count:
            break
        count = latest
    return count


# -- steps ---------------------------------------------------------------------------------------------
def deploy(endpoint: str, existing_source: bool) -> Stack:
    variables = ["-var", "create_source_table=false"] if existing_source else []
    with step("tflocal init"):
        # -upgrade: the lock file of an earlier run names the hash of the provider built then; after
        # `make setup` rebuilt it (a new patch), a plain init refuses the mirror's new binary.
        tflocal("init", "-input=false", "-upgrade", "-no-color")
    title = "tflocal apply of examples/workshop" + (" (create_source_table=false)" if existing_source else "")
    with step(title) as notes:
        applied = tflocal("apply", "-auto-approve", "-input=false", "-no-color", *variables)
        notes += [line.strip(". ") for line in applied.splitlines() if line.startswith("Apply complete!")]
    outputs = {name: value["value"] for name, value in json.loads(tflocal("output", "-json")).items()}
    return Stack(
        endpoint=endpoint,
        source=outputs["source_table_name"],
        replica=outputs["replica_table_name"],
        function=outputs["lambda_function_name"],
        mapping_uuid=outputs["event_source_mapping_uuid"],
        dlq_url=outputs.get("dlq_url") or None,
        log_group=outputs["lambda_cloudwatch_log_group_name"],
    )


def load(stack: Stack, csv: str, summary: Summary) -> None:
    with step(f"load {csv} into {stack.source} (loader/load_logfile.py)") as notes:
        output = run(
            [sys.executable, "loader/load_logfile.py", stack.source, csv, "--quiet"],
            env={"AWS_ENDPOINT_URL": stack.endpoint},
        )
        last = output.strip().splitlines()[-1] if output.strip() else ""
        match = re.search(r"RowCount: (\d+), Total seconds: ([0-9.]+)", last)
        if not match:
            raise E2EError(f"the loader's last line is not 'RowCount: N, Total seconds: S':\n{output}")
        summary.rows_loaded, summary.load_seconds = int(match[1]), float(match[2])
        notes.append(last)


def pre_stream_csv(csv: str, rows: int) -> int:
    """Rows for the table before its stream: the CSV's first ``rows`` rows under request ids the CSV does not
    use, except every tenth, which keeps its id with bytessent - 1 (an older version the load replaces).
    Returns how many are such older versions."""
    PRE_STREAM_CSV.parent.mkdir(parents=True, exist_ok=True)
    older = 0
    with open(csv, newline="", encoding="utf-8") as source, open(PRE_STREAM_CSV, "w", newline="") as target:
        writer = csvlib.writer(target)
        for number, row in enumerate(csvlib.reader(source)):
            if number == rows:
                break
            if number % PRE_STREAM_OLDER_SHARE == 0:
                row[8] = str(int(row[8]) - 1)
                older += 1
            else:
                row[0] = str(int(row[0]) + PRE_STREAM_REQUESTID_OFFSET)
            writer.writerow(row)
    return older


def exercise_one(ddb: Any, endpoint: str, table: str, csv: str, rows: int, summary: Summary) -> None:
    """The lab's starting point: ``logfile`` as exercise 1 created it (no stream), with rows in it; then
    its stream switched on as the Streams exercise does. A table left by a KEEP=1 run is reused."""
    summary.pre_stream_rows = rows
    summary.pre_stream_older_versions = pre_stream_csv(csv, rows)
    if table in ddb.list_tables()["TableNames"]:
        say(f"{table} exists (left by KEEP=1): its pre-stream rows are already there")
        return
    with step(f"exercise 1: create-table {table} (no stream), {rows} rows, then its stream on"):
        create_exercise_one_table(ddb, endpoint, table)


def create_exercise_one_table(ddb: Any, endpoint: str, table: str) -> None:
    ddb.create_table(
        TableName=table,
        AttributeDefinitions=[
            {"AttributeName": "PK", "AttributeType": "S"},
            {"AttributeName": "GSI_1_PK", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
        GlobalSecondaryIndexes=[
            {
                "IndexName": "GSI_1",
                "KeySchema": [{"AttributeName": "GSI_1_PK", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["bytessent"]},
                "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
            }
        ],
    )
    ddb.get_waiter("table_exists").wait(TableName=table, WaiterConfig={"Delay": 1})
    run(
        [sys.executable, "loader/load_logfile.py", table, str(PRE_STREAM_CSV), "--quiet"],
        env={"AWS_ENDPOINT_URL": endpoint},
    )
    log(f"update-table {table} --stream-specification StreamEnabled=true,StreamViewType=NEW_IMAGE")
    ddb.update_table(
        TableName=table, StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    )


def ddb_replica(stack: Stack, *args: str) -> tuple[int, str]:
    """``ddb-replica <args> --source ... --replica ...``; exit code and output (in the log)."""
    command = [str(VENV_BIN / "ddb-replica"), *args, "--source", stack.source, "--replica", stack.replica]
    log("$ " + " ".join(command))
    result = subprocess.run(
        command,
        cwd=ROOT,
        env={**os.environ, "AWS_ENDPOINT_URL": stack.endpoint},
        capture_output=True,
        text=True,
    )
    output = result.stdout + result.stderr
    log(output + f"(exit {result.returncode})")
    return result.returncode, output


def backfill(stack: Stack, summary: Summary) -> None:
    with step("ddb-replica backfill (the rows that predate the stream)") as notes:
        started = time.monotonic()
        code, output = ddb_replica(stack, "backfill", "--state-dir", str(BACKFILL_STATE), "--quiet")
        summary.backfill_seconds = round(time.monotonic() - started, 2)
        summary.backfill_output = output.strip().splitlines()[-1] if output.strip() else ""
        if code != 0:
            raise E2EError(f"ddb-replica backfill exited {code}:\n{output[-3000:]}")
        notes.append(summary.backfill_output)


def replica_operations(ddb: Any, stack: Stack, summary: Summary) -> None:
    """verify finds nothing; a hand edit of one replica item is named by verify and fixed by --repair."""
    with step("ddb-replica verify, a hand edit of the replica, verify, verify --repair") as notes:
        check_replica_operations(ddb, stack, summary)
        exits = (summary.ops_verify_exit, summary.ops_verify_after_edit_exit, summary.ops_repair_exit)
        notes.append("exit " + " / ".join(str(code) for code in exits))


def check_replica_operations(ddb: Any, stack: Stack, summary: Summary) -> None:
    summary.ops_verify_exit, _ = ddb_replica(stack, "verify", "--quiet")
    key = sorted(scan(ddb, stack.replica))[0]
    ddb.update_item(
        TableName=stack.replica,
        Key={"PK": {"S": key}},
        UpdateExpression="SET bytessent = :edited",
        ExpressionAttributeValues={":edited": {"N": "-1"}},
    )
    log(f"edited {key} in {stack.replica} by hand (bytessent = -1)")
    summary.ops_verify_after_edit_exit, output = ddb_replica(stack, "verify", "--quiet")
    if summary.ops_verify_after_edit_exit != 1 or f"PK={key}" not in output:
        raise E2EError(
            f"ddb-replica verify did not name the edited item {key} "
            f"(exit {summary.ops_verify_after_edit_exit})"
        )
    summary.ops_repair_exit, _ = ddb_replica(stack, "verify", "--repair", "--quiet")
    if (summary.ops_verify_exit, summary.ops_repair_exit) != (0, 0):
        raise E2EError(
            f"ddb-replica verify exited {summary.ops_verify_exit} before the edit and "
            f"{summary.ops_repair_exit} with --repair; expected 0 and 0"
        )


def live_item_count(ddb: Any, table: str) -> int:
    """DescribeTable's ItemCount. moto (our LocalStack's DynamoDB) keeps it live, so it is a cheap progress
    signal; AWS refreshes it only every ~6 hours, which is why convergence is confirmed by a full compare."""
    item_count: int = ddb.describe_table(TableName=table)["Table"]["ItemCount"]
    return item_count


def converge(aws: dict[str, Any], stack: Stack, timeout: float) -> float:
    """Wait until the replica equals the source; return the seconds it took. Raise with a diagnosis.

    The source is static while we wait, so it is scanned once. A scan of 2000 items costs LocalStack
    ~0.7 s of the same CPU the pipeline runs on, so progress is watched through the replica's live item
    count every 0.25 s, and the item-by-item compare runs once the counts match."""
    ddb = aws["dynamodb"]
    started = time.monotonic()
    source = scan(ddb, stack.source)
    last_report = 0.0
    while True:
        elapsed = time.monotonic() - started
        replica_count = live_item_count(ddb, stack.replica)
        if replica_count == len(source) and not differences(source, scan(ddb, stack.replica)):
            return elapsed
        if elapsed - last_report >= 1.0:
            log(f"  converging: replica {replica_count} / source {len(source)} items ({elapsed:.1f} s)")
            last_report = elapsed
        if elapsed > timeout:
            raise E2EError(f"replica did not converge within {timeout:.0f} s\n{diagnose(aws, stack)}")
        time.sleep(0.25)


def diagnose(aws: dict[str, Any], stack: Stack) -> str:
    mapping = aws["lambda"].get_event_source_mapping(UUID=stack.mapping_uuid)
    lines = [
        f"event source mapping {stack.mapping_uuid}: State={mapping.get('State')}, "
        f"LastProcessingResult={mapping.get('LastProcessingResult')}",
    ]
    errors = [
        line for line in function_log_lines(aws, stack) if "[ERROR]" in line or "Task timed out" in line
    ]
    lines.append(f"function errors in {stack.log_group}: {len(errors)}")
    lines += [f"  {line.strip()[:300]}" for line in errors[-5:]]
    if stack.dlq_url:
        attributes = aws["sqs"].get_queue_attributes(
            QueueUrl=stack.dlq_url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        lines.append(
            f"on-failure queue {stack.dlq_url}: {attributes['ApproximateNumberOfMessages']} message(s)"
        )
    return "\n".join(lines)


def verify(aws: dict[str, Any], stack: Stack, label: str) -> list[str]:
    """Item-by-item comparison, counts, and the replica's GSI_1 projection."""
    ddb = aws["dynamodb"]
    source, replica = scan(ddb, stack.source), scan(ddb, stack.replica)
    problems = differences(source, replica)
    if len(source) != len(replica):
        problems.append(f"counts differ: source {len(source)}, replica {len(replica)}")
    host_key = next((item["GSI_1_PK"]["S"] for item in source.values() if "GSI_1_PK" in item), None)
    if host_key:
        result = ddb.query(
            TableName=stack.replica,
            IndexName="GSI_1",
            KeyConditionExpression="GSI_1_PK = :pk",
            ExpressionAttributeValues={":pk": {"S": host_key}},
        )
        expected = sum(1 for item in source.values() if item.get("GSI_1_PK", {}).get("S") == host_key)
        if result["Count"] != expected:
            problems.append(f"GSI_1 query for {host_key}: {result['Count']} items, expected {expected}")
        for item in result["Items"]:
            if extra := set(item) - REPLICA_GSI_ATTRIBUTES:
                problems.append(
                    f"GSI_1 returned unprojected attributes {sorted(extra)} for {item['PK']['S']}"
                )
    log(f"verify ({label}): {len(source)} source items, {len(replica)} replica items, {len(problems)} differ")
    for problem in problems:
        log(f"  {problem}")
    return problems


def change_some(ddb: Any, stack: Stack) -> None:
    """Update 10 items and delete 10 others in the source, like a user would."""
    keys = sorted(scan(ddb, stack.source))
    if len(keys) < 20:
        raise E2EError(
            f"need at least 20 items in {stack.source} to update 10 and delete 10; found {len(keys)}"
        )
    for key in keys[:10]:
        ddb.update_item(
            TableName=stack.source,
            Key={"PK": {"S": key}},
            UpdateExpression="SET bytessent = bytessent + :one, reviewed = :yes",
            ExpressionAttributeValues={":one": {"N": "1"}, ":yes": {"BOOL": True}},
        )
    for key in keys[-10:]:
        ddb.delete_item(TableName=stack.source, Key={"PK": {"S": key}})


def lab_check(stack: Stack) -> None:
    with step(f"the lab's check: aws dynamodb scan --table-name {stack.replica} --max-items 2") as notes:
        run(
            [
                str(VENV_BIN / "aws"),
                "dynamodb",
                "scan",
                "--table-name",
                stack.replica,
                "--max-items",
                "2",
                "--output",
                "text",
                "--endpoint-url",
                stack.endpoint,
            ],
        )
        notes.append(f"its output is in {shown(LOG)}")


def print_summary(summary: Summary) -> None:
    rows = [
        ("rows loaded", summary.rows_loaded),
        ("load seconds", f"{summary.load_seconds:.2f}"),
        ("convergence seconds (from load start)", f"{summary.convergence_seconds:.2f}"),
        ("poll-rate bound seconds (batches x interval)", f"{summary.poll_bound_seconds:.2f}"),
        ("source items / replica items", f"{summary.source_items} / {summary.replica_items}"),
        ("invocations (batches)", summary.invocations),
        (
            "pre-stream rows (older versions of CSV rows)",
            f"{summary.pre_stream_rows} ({summary.pre_stream_older_versions})",
        ),
        ("backfill seconds", f"{summary.backfill_seconds:.2f}"),
        (
            "ddb-replica verify / after edit / --repair",
            f"exit {summary.ops_verify_exit} / {summary.ops_verify_after_edit_exit} "
            f"/ {summary.ops_repair_exit}",
        ),
        ("mismatches", summary.mismatches),
    ]
    width = max(len(name) for name, _ in rows)
    print("\n".join(f"  {name:<{width}}  {value}" for name, value in rows))


def write_summary(summary: Summary) -> None:
    SUMMARY.parent.mkdir(parents=True, exist_ok=True)
    SUMMARY.write_text(json.dumps(asdict(summary), indent=2) + "\n")
    say(f"summary written to {shown(SUMMARY)}")


def lab(endpoint: str, csv: str, keep: bool, timeout: float, pre_stream_rows: int) -> Summary:
    summary = Summary(csv=csv)
    summary.poll_interval_seconds = float(
        os.environ.get("LAMBDA_EVENT_SOURCE_MAPPING_POLL_INTERVAL_SEC", "0.25")
    )
    aws = clients(endpoint)
    source_table = "logfile"  # examples/workshop's default source_table_name
    if pre_stream_rows:
        exercise_one(aws["dynamodb"], endpoint, source_table, csv, pre_stream_rows, summary)
    failed = True
    try:
        stack = deploy(endpoint, existing_source=pre_stream_rows > 0)
        invocations_before = invocation_count(aws, stack)
        started = time.monotonic()
        load(stack, csv, summary)
        if pre_stream_rows:
            backfill(stack, summary)
        with step("wait until the replica equals the source, item by item") as notes:
            converge(aws, stack, timeout)
            summary.convergence_seconds = round(time.monotonic() - started, 2)
            notes.append(f"{summary.convergence_seconds:.2f} s after the load started")
        with step("verify after the load: every item, counts, a GSI_1 query") as notes:
            summary.source_items = count(aws["dynamodb"], stack.source)
            summary.replica_items = count(aws["dynamodb"], stack.replica)
            summary.invocations = invocation_count(aws, stack, settle_seconds=1.0) - invocations_before
            summary.poll_bound_seconds = -(-summary.rows_loaded // 100) * summary.poll_interval_seconds
            problems = verify(aws, stack, "after load")
            notes.append(f"{summary.replica_items} items, {len(problems)} mismatches")
        replica_operations(aws["dynamodb"], stack, summary)
        with step("update 10 and delete 10 source items, wait, verify again") as notes:
            change_some(aws["dynamodb"], stack)
            summary.changes_convergence_seconds = round(converge(aws, stack, timeout), 2)
            changed = verify(aws, stack, "after updates and deletes")
            notes.append(
                f"converged in {summary.changes_convergence_seconds:.2f} s, {len(changed)} mismatches"
            )
        problems += changed
        summary.mismatches = len(problems)
        summary.mismatch_examples = problems[:20]
        expected = summary.rows_loaded + summary.pre_stream_rows - summary.pre_stream_older_versions
        summary.verified = not problems and summary.source_items == summary.replica_items == expected
        lab_check(stack)
        failed = False
    finally:
        if keep:
            say("KEEP=1: the stack stays deployed (tflocal destroy in examples/workshop removes it)")
        else:
            try:
                destroy(aws, pre_stream_rows, source_table)
            except Exception as error:
                if not failed:
                    raise
                # the first failure is the one to report: a failed destroy after it goes to the log
                log(f"e2e: the destroy after the failure failed too: {error}")
                say(f"the destroy failed too: `tflocal destroy` in examples/workshop; {shown(LOG)}")
    return summary


def destroy(aws: dict[str, Any], pre_stream_rows: int, source_table: str) -> None:
    with step("tflocal destroy" + (f", then delete-table {source_table}" if pre_stream_rows else "")):
        tflocal("destroy", "-auto-approve", "-input=false", "-no-color", *destroy_variables(pre_stream_rows))
        if pre_stream_rows:  # created in exercise 1, not by Terraform
            aws["dynamodb"].delete_table(TableName=source_table)


def destroy_variables(pre_stream_rows: int) -> list[str]:
    return ["-var", "create_source_table=false"] if pre_stream_rows else []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Run the DynamoDB Streams + Lambda lab end to end on LocalStack."
    )
    parser.add_argument("--csv", default="./data/logfile_stream.csv", help="workshop-format CSV to load")
    parser.add_argument(
        "--example",
        choices=("workshop", "multi-region"),
        default="workshop",
        help="workshop: the lab (default); multi-region: one stream, replicas in two regions and accounts",
    )
    parser.add_argument(
        "--name",
        default=None,
        help="multi-region only: a name for its tables (NAME and NAME_replica; default logfile and "
        "logfile_replica), so that a test can run it beside the workshop's",
    )
    parser.add_argument("--keep", action="store_true", help="leave the stack deployed (no destroy)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for convergence")
    parser.add_argument(
        "--pre-stream-rows",
        type=int,
        default=500,
        help="rows written to logfile before its stream exists, for ddb-replica backfill "
        "(0: Terraform creates both tables and no backfill runs)",
    )
    args = parser.parse_args(argv)
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    if not Path(args.csv).is_file():
        print(
            f"error: CSV file {args.csv} not found; pass CSV=<path to a workshop-format file>",
            file=sys.stderr,
        )
        return 2
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    LOG.parent.mkdir(parents=True, exist_ok=True)
    LOG.write_text("", encoding="utf-8")
    say(f"the output of Terraform, the loader and ddb-replica goes to {shown(LOG)}")
    if args.example == "multi-region":
        from e2e_multi_region import run_multi_region

        return run_multi_region(endpoint, args.csv, args.keep, args.timeout, args.name)
    try:
        with localstack(endpoint):
            summary = lab(endpoint, args.csv, args.keep, args.timeout, args.pre_stream_rows)
    except E2EError as error:
        log(f"e2e: FAILED: {error}")
        print(f"e2e: FAILED: {error}\ne2e: the whole output: {shown(LOG)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"\ne2e: interrupted; the output so far: {shown(LOG)}", file=sys.stderr)
        return 130
    except Exception:
        print(f"e2e: FAILED (traceback below); the whole output: {shown(LOG)}", file=sys.stderr)
        raise
    print_summary(summary)
    write_summary(summary)
    if not summary.verified:
        for problem in summary.mismatch_examples:
            print(f"  {problem}", file=sys.stderr)
        print(
            f"e2e: FAILED: the replica does not match the source ({summary.mismatches} mismatches, the first "
            f"above; all in {shown(LOG)})",
            file=sys.stderr,
        )
        return 1
    say("OK: replica verified item by item")
    return 0


if __name__ == "__main__":
    sys.exit(main())
