"""``ddb-replica backfill|verify|status|redrive``: the command line (argparse, output, exit codes).

Exit codes: 0 done / identical / healthy; 1 differences remain (verify), keys would not settle (backfill),
the replication needs attention (status), or messages are kept (redrive); 2 nothing done (bad arguments,
missing table, key schemas differ, credentials, permissions); 3 failed part-way (backfill: the checkpoints are
saved, rerun with --resume; redrive: the messages not redriven are still there); 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from ddbreplica_lambda import FULL_IMAGE_VIEW_TYPES
from replica_targets import ROLE_ARN, ReplicaTarget, TargetError, parse_targets, target_from

from loader.load_logfile import Console, bounded_int, explain

from . import redrive as redrive_module
from . import serverless
from . import status as status_module
from .backfill import MAX_REFUSED, Backfill, Checkpoints, SegmentState
from .copying import COPY_MODES, DEFAULT_COPY_MODE
from .deployment import Clients, Deployment, deployment_from_outputs, target_label
from .items import Item, decode_key, encode_key, key_id, key_text
from .scanning import MAX_SEGMENTS, default_segments, default_workers
from .segment_store import TableCheckpoints
from .settle import Settled
from .tables import Connection, OpsError, TableInfo, check_pair, describe, permission_message
from .verify import Differences, compare, confirm, repair, scan_both
from .window import check_window, estimate
from .writes import RateLimiter, Tables

EXIT_OK = 0
EXIT_DIFFERENT = 1
EXIT_NOTHING_DONE = 2
EXIT_FAILED = 3
EXIT_INTERRUPTED = 130
MAX_WORKERS = 64
DEFAULT_SHOW = 20


# --- arguments ---------------------------------------------------------------------------------------


def _bounded(low: int, high: int) -> Any:
    def parse(text: str) -> int:
        return bounded_int(text, low, high)

    return parse


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be greater than 0")
    return value


def build_parser(environ: Mapping[str, str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ddb-replica",
        description="Operations on a replica table fed by a DynamoDB stream.",
        epilog="Exit codes: 0 done/identical, 1 differences remain, 2 nothing done, 3 failed part-way, "
        "130 interrupted.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    backfill = commands.add_parser(
        "backfill",
        help="copy the items that predate the stream (safe while the stream mapping runs)",
        description="Copy every source item the replica lacks; never overwrites a newer change and never "
        "brings back an item deleted meanwhile. Resumable.",
    )
    verify = commands.add_parser(
        "verify",
        help="compare both tables item by item (--repair fixes differences)",
        description="Compare source and replica item by item; exit 0 only if identical.",
    )
    for command in (backfill, verify):
        command.add_argument("--source", required=True, help="source table, e.g. logfile")
        command.add_argument(
            "--replica", default=None, help="replica table, e.g. logfile_replica (or --target)"
        )
        add_target_arguments(command)
        command.add_argument(
            "--segments",
            type=_bounded(1, MAX_SEGMENTS),
            default=None,
            help="parallel Scan segments (default: one per 2,500 items of the source, at most 32)",
        )
        command.add_argument(
            "--workers",
            type=_bounded(1, MAX_WORKERS),
            default=None,
            help="threads (default: the segment count, at most 8)",
        )
        add_endpoint_arguments(command, environ)  # --serverless reaches Step Functions there too
        command.add_argument("--quiet", action="store_true", help="no progress bar or informational lines")
    backfill.add_argument(
        "--max-wcu",
        type=_positive_float,
        default=None,
        help="write capacity units per second the backfill may use (default: unlimited); "
        "leave room for the stream's writes on a provisioned replica",
    )
    backfill.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help="checkpoint directory (default: .ddb-replica/backfill-SOURCE-REPLICA)",
    )
    backfill.add_argument(
        "--page-size",
        type=_bounded(1, 1_000_000),
        default=None,
        help="items per Scan page, and so per checkpoint (default: DynamoDB's 1 MB pages)",
    )
    backfill.add_argument(
        "--max-refused",
        type=_bounded(0, 1_000_000),
        default=None,
        help=f"keys the replica may refuse before the run stops (default {MAX_REFUSED}): more than a few "
        "means a difference between the tables (an index key type) that every item may hit",
    )
    backfill.add_argument(
        "--copy",
        choices=COPY_MODES,
        default=None,
        help="how the items the replica lacks are written: batch (BatchWriteItem, 25 per call; a stream "
        "write in the same moment may be overwritten until the settle right after), transact (conditional "
        "TransactWriteItems, 100 per call, twice the write units; never overwrites a stream write), item "
        f"(one conditional PutItem each; never overwrites). Default {DEFAULT_COPY_MODE}; --resume keeps the "
        "run's; README: Consistency rule",
    )
    backfill.add_argument(
        "--force",
        action="store_true",
        help="run even when the write budget (--max-wcu, the replica's provisioned capacity) makes the "
        "backfill longer than the 24 h a stream keeps its changes",
    )
    backfill.add_argument(
        "--resume", action="store_true", help="continue an interrupted run from its checkpoints"
    )
    remote = backfill.add_argument_group(
        'serverless (the module\'s backfill_mode = "serverless")',
        "Run the segments in Lambda, mapped by the module's state machine, with checkpoints in its table: "
        "terraform output -json backfill > backfill.json; --serverless --backfill-json backfill.json",
    )
    remote.add_argument("--serverless", action="store_true", help="run on AWS Step Functions and Lambda")
    remote.add_argument("--backfill-json", type=Path, default=None, help="the module's backfill output")
    remote.add_argument("--state-machine-arn", default=None, help="or the state machine's ARN ...")
    remote.add_argument("--checkpoint-table", default=None, help="... and the checkpoint table's name")
    remote.add_argument(
        "--run-id", default=None, help="with --resume: the run to continue (default: the newest of the pair)"
    )
    add_status_parser(commands, environ)
    add_redrive_parser(commands, environ)
    verify.add_argument(
        "--repair",
        action="store_true",
        help="fix each difference from a strongly consistent read of the source (conditional writes)",
    )
    verify.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    verify.add_argument(
        "--show",
        type=_bounded(0, 1_000_000),
        default=DEFAULT_SHOW,
        help=f"keys listed per kind of difference (default: {DEFAULT_SHOW})",
    )
    return parser


def add_replication_arguments(command: argparse.ArgumentParser) -> Any:
    """Where the replication is, for status and redrive: the module's outputs, or flags (the group, for
    the command's own)."""
    where = command.add_argument_group(
        "the replication", "Either the module's outputs (terraform output -json > outputs.json), or the flags"
    )
    where.add_argument("--outputs-json", type=Path, default=None, help="terraform output -json of the module")
    where.add_argument("--source", default=None, help="the source table")
    where.add_argument("--replica", default=None, help="the replica table (same region and account)")
    where.add_argument(
        "--targets-json",
        type=Path,
        default=None,
        help="or the module's replica_targets output (every target)",
    )
    where.add_argument("--queue-url", default=None, help="the on-failure queue (on_failure_queue_url)")
    where.add_argument(
        "--mapping-uuid",
        default=None,
        help="the event source mapping (event_source_mapping_uuid; default: found by function or stream)",
    )
    return where


def add_endpoint_arguments(command: argparse.ArgumentParser, environ: Mapping[str, str]) -> None:
    command.add_argument(
        "--endpoint-url",
        default=environ.get("AWS_ENDPOINT_URL"),
        help="endpoint of every service, e.g. http://127.0.0.1:4566 (default: $AWS_ENDPOINT_URL)",
    )
    command.add_argument("--region", default=None, help="AWS region (default: boto3's)")


def add_status_parser(commands: Any, environ: Mapping[str, str]) -> None:
    status = commands.add_parser(
        "status",
        help="the replication's health on one screen: mapping, lag, failed batches, alarms, recent failures",
        description="Check the event source mapping, the lag, the on-failure queue, the alarms, recent "
        "failed records and the item counts. Exit 0 when healthy, 1 when something needs attention.",
    )
    where = add_replication_arguments(status)
    where.add_argument("--function", default=None, help="the replication function's name")
    where.add_argument(
        "--log-group", default=None, help="the function's log group (default: /aws/lambda/NAME)"
    )
    status.add_argument(
        "--max-lag-seconds",
        type=_positive_float,
        default=status_module.DEFAULT_MAX_LAG_SECONDS,
        help=f"lag that needs attention (default {status_module.DEFAULT_MAX_LAG_SECONDS}, the lag alarm's)",
    )
    status.add_argument(
        "--since-minutes",
        type=_bounded(1, 10_080),
        default=status_module.DEFAULT_SINCE_MINUTES,
        help="how far back failed records are read from the log, in minutes "
        f"(default {status_module.DEFAULT_SINCE_MINUTES})",
    )
    status.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    add_endpoint_arguments(status, environ)
    status.add_argument("--quiet", action="store_true", help="print only the verdict")


def add_redrive_parser(commands: Any, environ: Mapping[str, str]) -> None:
    redrive = commands.add_parser(
        "redrive",
        help="replay the failed batches of the on-failure queue (or bucket) from the stream; delete them",
        description="For each failed batch the function gave up on: read its records from the stream (shard, "
        "first to last sequence number), write them through the function's code to every target, settle "
        "their keys (a newer change stays), and delete the message once every key is settled. Records "
        "older than the stream's 24 hours: the keys the message still names are settled, and the message is "
        "kept with the verify --repair command for the rest.",
    )
    where = add_replication_arguments(redrive)
    where.add_argument(
        "--failure-bucket",
        default=None,
        help="or the S3 bucket of an S3 on-failure destination (with --mapping-uuid: its objects only)",
    )
    redrive.add_argument(
        "--dry-run",
        action="store_true",
        help="read the messages and their records, show what would be written and deleted; change nothing",
    )
    redrive.add_argument(
        "--delete-expired",
        action="store_true",
        help="also delete the messages whose records have expired, once the keys they name are settled: "
        "after verify --repair has fixed what they cannot name",
    )
    redrive.add_argument(
        "--max-messages",
        type=_bounded(1, 1_000_000),
        default=None,
        help="redrive at most this many messages (default: until the destination is empty)",
    )
    redrive.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    add_endpoint_arguments(redrive, environ)
    redrive.add_argument("--quiet", action="store_true", help="print only kept messages and the total")


def add_target_arguments(command: argparse.ArgumentParser) -> None:
    """Where the replica is: the same description as the function's targets (replica_targets.py)."""
    where = command.add_argument_group(
        "replica in another region or account",
        "Either the flags, or one target of the module's replica_targets output: "
        "terraform output -json replica_targets > targets.json; --targets-json targets.json --target eu",
    )
    where.add_argument("--replica-region", default=None, help="the replica's region (default: --region)")
    where.add_argument(
        "--replica-role-arn",
        default=None,
        help="a role to assume for the replica (its account's writer role; default: your credentials); "
        "STS is called at $AWS_ENDPOINT_URL_STS or $AWS_ENDPOINT_URL when set",
    )
    where.add_argument("--replica-external-id", default=None, help="the external ID the role requires")
    where.add_argument(
        "--targets-json",
        type=Path,
        default=None,
        help="a file with the module's replica_targets output (terraform output -json replica_targets)",
    )
    where.add_argument("--target", default=None, help="the target of --targets-json to use, by name")


def replica_target(args: argparse.Namespace) -> ReplicaTarget:
    """The replica from --replica and its flags, or from --targets-json and --target."""
    if args.targets_json is None:
        if args.target is not None:
            raise OpsError("--target needs --targets-json (the module's replica_targets output)")
        if args.replica is None:
            raise OpsError("name the replica: --replica TABLE, or --targets-json FILE --target NAME")
        if args.replica_external_id is not None and args.replica_role_arn is None:
            raise OpsError(
                "--replica-external-id is sent when assuming --replica-role-arn: give the role too"
            )
        role = args.replica_role_arn
        return target_from(
            {
                "name": args.replica,
                "table_name": args.replica,
                "region": args.replica_region,
                "role_arn": role,
                "external_id": args.replica_external_id,
            },
            "--replica-role-arn" if role and not ROLE_ARN.match(role) else "--replica",
        )
    flags = [
        flag
        for flag in ("replica", "replica_region", "replica_role_arn", "replica_external_id")
        if getattr(args, flag)
    ]
    if flags:
        named = ", ".join("--" + flag.replace("_", "-") for flag in flags)
        raise OpsError(f"{named}: the target from --targets-json says where the replica is; drop {named}")
    targets = read_targets_json(args.targets_json)
    by_name = {target.name: target for target in targets}
    if args.target is None and len(targets) == 1:
        return targets[0]
    if args.target not in by_name:
        raise OpsError(
            f"{args.targets_json}: no target {args.target!r}; name one with --target: {', '.join(by_name)}"
        )
    return by_name[args.target]


def read_targets_json(path: Path) -> tuple[ReplicaTarget, ...]:
    """The targets of a --targets-json file; TargetError when they are not valid targets."""
    try:
        text = path.read_text()
    except OSError as error:
        raise OpsError(f"--targets-json: cannot read {path}: {error.strerror}") from None
    return parse_targets(text, str(path))


# --- shared set-up -----------------------------------------------------------------------------------


def open_tables(args: argparse.Namespace) -> tuple[Tables, TableInfo, TableInfo, int, int]:
    """Describe and check both tables; choose segments and workers."""
    try:
        target = replica_target(args)
    except TargetError as error:
        raise OpsError(str(error)) from None
    args.replica = target.table_name  # for the report lines
    args.target_name = target.name  # the serverless function knows its targets by name
    connection = Connection(args.endpoint_url, args.region)
    source = describe(connection.client(threads=1), args.source)
    replica = describe(connection.client(threads=1, target=target), target.table_name)
    check_pair(source, replica)
    segments = args.segments or default_segments(source)
    workers = args.workers or default_workers(segments)
    remote = target.region is not None or target.role_arn is not None
    limiter = RateLimiter(args.max_wcu) if getattr(args, "max_wcu", None) else None
    return (
        Tables(
            connection.client(threads=workers),
            source.name,
            replica.name,
            source.key_names,
            limiter,
            replica_client=connection.client(threads=workers, target=target) if remote else None,
        ),
        source,
        replica,
        segments,
        workers,
    )


# --- backfill ----------------------------------------------------------------------------------------


def state_dir(args: argparse.Namespace, source: TableInfo, replica: TableInfo) -> Path:
    """One directory per pair of tables, however the replica was named (flags or --targets-json): a replica
    in another region or account than the source (another target) adds them, read from its table ARN."""
    if args.state_dir is not None:
        return Path(args.state_dir)
    # arn:<partition>:dynamodb:<region>:<account>:table/<name>
    source_place, replica_place = source.arn.split(":")[3:5], replica.arn.split(":")[3:5]
    where = replica_place if replica_place != source_place else []
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", "-".join([source.name, replica.name, *where]))
    return Path(".ddb-replica") / f"backfill-{safe}"


def backfill(args: argparse.Namespace, console: Console) -> int:
    if args.serverless:
        check_serverless_flags(args)
    tables, source, replica, segments, workers = open_tables(args)
    if source.stream_view_type is None:
        console.problem(
            f"warning: {source.name} has no stream enabled: changes made after this backfill will not "
            f"reach the replica"
        )
    if args.serverless:
        return backfill_serverless(args, console, tables, source, replica, segments)
    checkpoints = Checkpoints(state_dir(args, source, replica), source.name, tables.replica)
    resumed: list[SegmentState] | None = None
    if args.resume:
        resumed, copy_mode = checkpoints.resume(args.segments, args.copy)
    else:
        copy_mode = args.copy or DEFAULT_COPY_MODE
    done = sum(state.scanned for state in resumed or [])
    # The items the replica lacks, as far as DynamoDB's counts tell: a second run writes nothing.
    left = max(source.item_count - max(replica.item_count, done), 0)
    guess = estimate(source, replica, left, args.max_wcu, copy_mode)
    check_window(guess, args.force)  # before start() forgets earlier checkpoints
    console.info(f"estimate: {guess.text()}")
    states = resumed if resumed is not None else checkpoints.start(segments, copy_mode)
    segments = len(states)
    workers = min(workers, segments) if args.workers is None else args.workers
    console.info(
        f"backfill {source.name} -> {tables.replica}: {segments} segment(s), {workers} worker(s), "
        f"--copy {copy_mode}, "
        f"checkpoints in {checkpoints.directory}" + (" (resumed)" if args.resume else "")
    )
    started = time.perf_counter()
    already = sum(state.scanned for state in states)
    with console.bar(max(source.item_count, already), "backfill", "item") as bar:
        bar.update(already)
        run = Backfill(
            tables,
            checkpoints,
            workers,
            args.page_size,
            on_items=bar.update,
            max_refused=MAX_REFUSED if args.max_refused is None else args.max_refused,
            copy_mode=copy_mode,
        )
        try:
            run.run(states)
        except KeyboardInterrupt:
            console.problem(f"interrupted; checkpoints saved in {checkpoints.directory}; rerun with --resume")
            report_backfill(states, tables, started, console)
            return EXIT_INTERRUPTED
        except (ClientError, BotoCoreError, RuntimeError) as error:
            reason = permission_message(error) if isinstance(error, ClientError) else None
            console.problem(
                f"error: backfill failed: {reason or error}; checkpoints saved in {checkpoints.directory}; "
                f"fix the cause and rerun with --resume"
            )
            report_backfill(states, tables, started, console)
            return EXIT_FAILED
    return report_backfill(states, tables, started, console)


def check_serverless_flags(args: argparse.Namespace) -> None:
    local_only = [
        flag for flag, value in (("--workers", args.workers), ("--state-dir", args.state_dir)) if value
    ]
    if local_only:
        raise OpsError(
            f"{', '.join(local_only)}: not with --serverless (the module's backfill_max_concurrency sets the "
            "parallel segments; the checkpoints are in its table)"
        )
    if args.segments is not None and args.segments > serverless.MAX_SEGMENTS:
        raise OpsError(
            f"--segments {args.segments}: at most {serverless.MAX_SEGMENTS} with --serverless (an "
            "execution's history holds 25,000 events, about 4 per segment and 7 per invocation)"
        )
    if args.run_id is not None and not args.resume:
        raise OpsError("--run-id names the run to continue: give --resume too")


def backfill_serverless(
    args: argparse.Namespace,
    console: Console,
    tables: Tables,
    source: TableInfo,
    replica: TableInfo,
    segments: int,
) -> int:
    """Start (or resume) a run of the module's state machine and follow it to its end."""
    backend = serverless.backend_from(args.backfill_json, args.state_machine_arn, args.checkpoint_table)
    remote = serverless.Remote(backend, args.endpoint_url)
    try:
        remote.check()
    except serverless.BackendError as error:
        console.problem(f"error: {error}")
        return EXIT_FAILED
    store, states, copy_mode = (
        resume_serverless(args, remote, source)
        if args.resume
        else start_serverless(args, console, remote, tables, source, replica, segments)
    )
    return follow_serverless(args, console, remote, store, states, copy_mode, tables, source)


def start_serverless(
    args: argparse.Namespace,
    console: Console,
    remote: serverless.Remote,
    tables: Tables,
    source: TableInfo,
    replica: TableInfo,
    segments: int,
) -> tuple[TableCheckpoints, list[SegmentState], str]:
    """A new run: the window check, then its manifest and its segments' first states in the table."""
    copy_mode = args.copy or DEFAULT_COPY_MODE
    left = max(source.item_count - replica.item_count, 0)
    guess = estimate(source, replica, left, args.max_wcu, copy_mode)
    check_window(guess, args.force)
    console.info(f"estimate: {guess.text()}")
    store = remote.store(serverless.new_run_id())
    manifest = {
        "source": source.name,
        "replica": tables.replica,
        "target": args.target_name,
        "key_names": list(source.key_names),
        "copy": copy_mode,
        "max_wcu": args.max_wcu,
        "page_size": args.page_size,
        "max_refused": MAX_REFUSED if args.max_refused is None else args.max_refused,
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    return store, store.start(manifest, segments), copy_mode


def resume_serverless(
    args: argparse.Namespace, remote: serverless.Remote, source: TableInfo
) -> tuple[TableCheckpoints, list[SegmentState], str]:
    """The run to continue (the newest of the pair, or --run-id), with the settings given now: --max-wcu,
    --page-size and --max-refused replace the run's; its segments and --copy stay."""
    run = args.run_id or remote.latest_run(source.name, args.target_name)
    store = remote.store(run)
    manifest = store.manifest()
    if (manifest["source"], manifest["target"]) != (source.name, args.target_name):
        raise OpsError(
            f"run {run} is a backfill of {manifest['source']} -> {manifest['target']}, not "
            f"{source.name} -> {args.target_name}"
        )
    if args.copy is not None and args.copy != manifest["copy"]:
        raise OpsError(
            f"run {run} was started with --copy {manifest['copy']}; resume with the same (or drop --copy)"
        )
    total = int(manifest["total_segments"])
    if args.segments is not None and args.segments != total:
        raise OpsError(f"run {run} has {total} segments; resume with the same --segments (or drop it)")
    changes = {
        name: value
        for name, value in (
            ("max_wcu", args.max_wcu),
            ("page_size", args.page_size),
            ("max_refused", args.max_refused),
        )
        if value is not None
    }
    if changes:
        store.update_manifest(changes)
    store.fill_missing(total)  # a start interrupted before it wrote every segment's first state
    return store, store.states(), str(manifest["copy"])


def follow_serverless(
    args: argparse.Namespace,
    console: Console,
    remote: serverless.Remote,
    store: TableCheckpoints,
    states: list[SegmentState],
    copy_mode: str,
    tables: Tables,
    source: TableInfo,
) -> int:
    """Start an execution over the segments not done, show its progress, stop it on Ctrl-C."""
    todo = [state.segment for state in states if not state.done]
    started = time.perf_counter()
    if not todo:
        console.info(f"run {store.run}: every segment is done")
        return report_backfill(states, tables, started, console)
    already = sum(state.scanned for state in states)
    execution: str | None = None
    with console.bar(max(source.item_count, already), "backfill", "item") as bar:
        shown = [already]
        bar.update(already)

        def progress(current: list[SegmentState]) -> None:
            scanned = sum(state.scanned for state in current)
            bar.update(max(0, scanned - shown[0]))
            shown[0] = max(shown[0], scanned)
            done = sum(state.done for state in current)
            bar.set_postfix_str(f"segments {done}/{len(current)}, copied {sum(s.copied for s in current)}")

        try:
            execution = remote.start(store, todo)
            console.info(
                f"backfill {source.name} -> {tables.replica}: run {store.run}, {len(states)} segment(s) "
                f"({len(todo)} to do), --copy {copy_mode}, execution {execution}"
                + (" (resumed)" if args.resume else "")
            )
            description = remote.watch(execution, store, progress)
        except KeyboardInterrupt:
            remote.stop(execution, store)
            console.problem(
                f"interrupted: execution stopped (an invocation in progress finishes its chunk first); rerun "
                f"with --serverless --resume (run {store.run})"
            )
            report_backfill(store.states(), tables, started, console)
            return EXIT_INTERRUPTED
    states = store.states()
    code = report_backfill(states, tables, started, console)
    return serverless_outcome(description, states, store.run, tables, console, code)


def serverless_outcome(
    description: Any, states: Sequence[SegmentState], run: str, tables: Tables, console: Console, code: int
) -> int:
    """Exit 3 when a segment failed or the execution did (each failed segment named with its checkpoint),
    130 when it was stopped, else the report's code."""
    failures = serverless.segment_failures(description)
    status = description["status"]
    for state in states:
        if state.segment in failures or (not state.done and status != "ABORTED"):
            where = key_text(decode_key(state.last_key), tables.key_names) if state.last_key else "its start"
            reason = failures.get(state.segment, f"not done when the execution ended ({status})")
            console.problem(
                f"segment {state.segment}: {reason}; checkpoint: {state.scanned} scanned, resumes after "
                f"{where}" + (f", {len(state.pending)} key(s) pending" if state.pending else "")
            )
    if status == "ABORTED":
        console.problem(f"execution stopped; rerun with --serverless --resume (run {run})")
        return EXIT_INTERRUPTED
    if failures or status != "SUCCEEDED" or not all(state.done for state in states):
        if status != "SUCCEEDED":
            console.problem(
                f"execution {status}: {description.get('error', '')} {description.get('cause', '')}".rstrip()
            )
        console.problem(
            "error: the backfill did not finish; fix the cause and rerun with --serverless --resume "
            f"(run {run})"
        )
        return EXIT_FAILED
    return code


def report_backfill(states: Sequence[SegmentState], tables: Tables, started: float, console: Console) -> int:
    seconds = time.perf_counter() - started
    scanned = sum(state.scanned for state in states)
    unresolved = [decode_key(key) for state in states for key in state.unresolved]
    print(
        f"backfill {tables.source} -> {tables.replica}: scanned {scanned}, "
        f"copied {sum(state.copied for state in states)}, "
        f"already in replica {sum(state.present for state in states)}, "
        f"corrected {sum(state.corrected for state in states)}, "
        f"refused {sum(len(state.refused) for state in states)}, unresolved {len(unresolved)}; "
        f"{seconds:.2f} s, {scanned / seconds if seconds else 0:.0f} items/s",
        file=console.out,
    )
    refused = {kid: reason for state in states for kid, reason in state.refused.items()}
    for key in unresolved[:DEFAULT_SHOW]:
        console.problem(f"unresolved: {key_text(key, tables.key_names)} ({why_unresolved(key, refused)})")
    if len(unresolved) > DEFAULT_SHOW:
        console.problem(f"unresolved: ... and {len(unresolved) - DEFAULT_SHOW} more (all in the checkpoints)")
    if not all(state.done for state in states):
        return EXIT_INTERRUPTED if not unresolved else EXIT_DIFFERENT
    return EXIT_DIFFERENT if unresolved else EXIT_OK


def why_unresolved(key: Item, refused: Mapping[str, str]) -> str:
    reason = refused.get(key_id(key))
    if reason is None:
        return "still changing; run verify --repair"
    return f"the replica refuses the write: {reason}; fix the replica table or the item, then verify --repair"


# --- verify ------------------------------------------------------------------------------------------


def verify(args: argparse.Namespace, console: Console) -> int:
    tables, source, replica, segments, workers = open_tables(args)
    started = time.perf_counter()
    with console.bar(source.item_count + replica.item_count, "verify", "item") as bar:
        source_items, replica_items = scan_both(tables, source, replica, segments, workers, bar.update)
    found = compare(source_items, replica_items, source.key_names)
    if found.total:
        found = confirm(tables, found)
    repaired = repair(tables, found) if args.repair and found.total else None
    seconds = time.perf_counter() - started
    if args.json:
        print(
            json.dumps(verify_document(tables, found, repaired, args.show, seconds), indent=1),
            file=console.out,
        )
    else:
        print_verify(tables, found, repaired, args.show, seconds, console)
    remaining = len(repaired.unresolved) if repaired is not None else found.total
    return EXIT_DIFFERENT if remaining else EXIT_OK


def verify_document(
    tables: Tables, found: Differences, repaired: Settled | None, show: int, seconds: float
) -> dict[str, Any]:
    def listing(keys: list[Item]) -> dict[str, Any]:
        return {"count": len(keys), "keys": [encode_key(key) for key in keys[:show]]}

    remaining = len(repaired.unresolved) if repaired is not None else found.total
    return {
        "source": tables.source,
        "replica": tables.replica,
        "source_items": found.source_items,
        "replica_items": found.replica_items,
        "missing": listing(found.missing),
        "extra": listing(found.extra),
        "different": listing(found.different),
        "differences": found.total,
        "repaired": None
        if repaired is None
        else {
            "puts": repaired.puts,
            "deletes": repaired.deletes,
            "unresolved": listing(repaired.unresolved),
            "refused": {
                "count": len(repaired.refused),
                "keys": [
                    {"key": encode_key(key), "reason": repaired.refused[key_id(key)]}
                    for key in [key for key in repaired.unresolved if key_id(key) in repaired.refused][:show]
                ],
            },
        },
        "identical": remaining == 0,
        "seconds": round(seconds, 3),
    }


def print_verify(
    tables: Tables, found: Differences, repaired: Settled | None, show: int, seconds: float, console: Console
) -> None:
    out = console.out
    print(
        f"verify {tables.source} -> {tables.replica}: source {found.source_items} items, "
        f"replica {found.replica_items} items ({seconds:.2f} s)",
        file=out,
    )
    for label, keys in (
        ("missing in replica", found.missing),
        ("extra in replica", found.extra),
        ("different", found.different),
    ):
        print(f"{label}: {len(keys)}", file=out)
        for key in keys[:show]:
            print(f"  {key_text(key, tables.key_names)}", file=out)
        if len(keys) > show:
            print(f"  ... and {len(keys) - show} more", file=out)
    if repaired is not None:
        print(
            f"repaired: {repaired.puts} put(s), {repaired.deletes} delete(s), "
            f"unresolved {len(repaired.unresolved)}",
            file=out,
        )
        for key in repaired.unresolved[:show]:
            print(
                f"  unresolved: {key_text(key, tables.key_names)} ({why_unresolved(key, repaired.refused)})",
                file=out,
            )
        identical = not repaired.unresolved
    else:
        identical = found.total == 0
    print("identical: yes" if identical else "identical: no", file=out)


# --- status ------------------------------------------------------------------------------------------


def deployment_from_args(args: argparse.Namespace, needs_function: bool) -> Deployment:
    """From --outputs-json, or from the flags (--function when ``needs_function``, --source, and --replica or
    --targets-json); --mapping-uuid, --queue-url, --log-group and --failure-bucket override the outputs."""
    flags = {"function": getattr(args, "function", None), "source": args.source, "replica": args.replica}
    if args.outputs_json is not None:
        given = [f"--{name}" for name, value in flags.items() if value] + (
            ["--targets-json"] if args.targets_json else []
        )
        if given:
            raise OpsError(f"{', '.join(given)}: --outputs-json says where the replication is; drop them")
        deployment = deployment_from_outputs(args.outputs_json)
    else:
        named = ("--function, " if needs_function else "") + "--source"
        if (
            (needs_function and not args.function)
            or not args.source
            or not (args.replica or args.targets_json)
        ):
            raise OpsError(
                f"name the replication: --outputs-json FILE (terraform output -json), or {named} and "
                "--replica (or --targets-json)"
            )
        if args.replica and args.targets_json:
            raise OpsError("--replica and --targets-json both name the replica: give one")
        deployment = Deployment(flags["function"] or "", args.source, status_targets(args))
    overrides = {
        "mapping_uuid": args.mapping_uuid,
        "queue_url": args.queue_url,
        "log_group": getattr(args, "log_group", None),
        "failure_bucket": getattr(args, "failure_bucket", None),
    }
    return replace(deployment, **{name: value for name, value in overrides.items() if value})


def status_targets(args: argparse.Namespace) -> tuple[ReplicaTarget, ...]:
    if args.targets_json is None:
        return (ReplicaTarget(args.replica, args.replica),)
    try:
        return read_targets_json(args.targets_json)
    except TargetError as error:
        raise OpsError(str(error)) from None


def status(args: argparse.Namespace, console: Console) -> int:
    deployment = deployment_from_args(args, needs_function=True)
    clients = Clients(Connection(args.endpoint_url, args.region))
    checks = status_module.status(deployment, clients, args.max_lag_seconds, args.since_minutes)
    reasons = status_module.needs_attention(checks)
    if args.json:
        print(json.dumps(status_module.document(checks), indent=2))
        return EXIT_DIFFERENT if reasons else EXIT_OK
    targets = ", ".join(target_label(target) for target in deployment.targets)
    console.info(f"replication {deployment.function}: {deployment.source_table} -> {targets}")
    for check in checks:
        console.info(f"  {check.name:<9} {check.summary}")
    # the verdict is printed even with --quiet
    if not reasons:
        print("healthy", file=console.out)
        return EXIT_OK
    print("needs attention:", file=console.out)
    for reason in reasons:
        print(f"  - {reason}", file=console.out)
    return EXIT_DIFFERENT


# --- redrive -----------------------------------------------------------------------------------------


def redrive(args: argparse.Namespace, console: Console) -> int:
    deployment = deployment_from_args(args, needs_function=False)
    connection = Connection(args.endpoint_url, args.region)
    clients = Clients(connection)
    destination = failure_destination(args, deployment, clients)
    replication = redrive_replication(connection, deployment, args.targets_json)
    check_no_filter(clients, deployment, replication.stream_arn)
    targets = ", ".join(target_label(target) for target in deployment.targets)
    if not args.json:
        console.info(
            f"redrive {destination.name} -> {deployment.source_table} -> {targets}"
            + (" (dry run: nothing is written or deleted)" if args.dry_run else "")
        )
    started = time.perf_counter()
    run = redrive_module.Run(
        destination,
        replication,
        clients.client("dynamodbstreams"),
        dry_run=args.dry_run,
        delete_expired=args.delete_expired,
        on_outcome=lambda outcome: None if args.json else print_outcome(outcome, args, console),
    )
    failure: str | None = None
    code = EXIT_OK
    try:
        run.run()
    except KeyboardInterrupt as error:
        failure = " ".join(
            ["interrupted; the messages not redriven are in the destination: rerun", *notes(error)]
        )
        code = EXIT_INTERRUPTED
    except (ClientError, BotoCoreError, RuntimeError) as error:
        reason = redrive_permission(error) if isinstance(error, ClientError) else None
        failure = " ".join(
            [
                f"redrive failed: {reason or error}; the messages not redriven are still there: fix, rerun",
                *notes(error),
            ]
        )
        code = EXIT_FAILED if run.begun else EXIT_NOTHING_DONE
    for message in destination.not_released:
        console.problem(f"warning: message {message} stays hidden until its visibility timeout ends")
    outcomes = run.outcomes
    kept = [outcome for outcome in outcomes if not outcome.done(args.delete_expired)]
    seconds = time.perf_counter() - started
    if args.json:
        document = redrive_document(outcomes, args, seconds, failure)
        print(json.dumps(document, indent=1), file=console.out)
    else:
        print_redrive_total(outcomes, kept, args, seconds, console)
    if failure is not None:
        console.problem(failure if code == EXIT_INTERRUPTED else f"error: {failure}")
        return code
    return EXIT_DIFFERENT if kept else EXIT_OK


def notes(error: BaseException) -> list[str]:
    return list(getattr(error, "__notes__", []))


def redrive_permission(error: ClientError) -> str | None:
    """For an authorisation failure: the action to grant, on the resource redrive was reading or writing."""
    code = error.response.get("Error", {}).get("Code", "")
    if code not in ("AccessDenied", "AccessDeniedException", "UnrecognizedClientException"):
        return None
    message = error.response.get("Error", {}).get("Message", "")
    return (
        f"missing permission for {error.operation_name} ({code}: {message}); grant it to the caller "
        "(the module's operator_policy_json has what redrive needs)"
    )


def check_no_filter(clients: Clients, deployment: Deployment, stream_arn: str) -> None:
    """A mapping with filter criteria gave the function only some records of a shard range: a replay of the
    whole range would write the others too. The mapping named (outputs, --mapping-uuid), else every mapping
    on the source's stream."""
    lambda_ = clients.client("lambda")
    try:
        if deployment.mapping_uuid is not None:
            mappings = [lambda_.get_event_source_mapping(UUID=deployment.mapping_uuid)]
        else:
            pages = lambda_.get_paginator("list_event_source_mappings").paginate(EventSourceArn=stream_arn)
            mappings = [mapping for page in pages for mapping in page.get("EventSourceMappings", [])]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            raise OpsError(
                f"event source mapping {deployment.mapping_uuid} not found: check --mapping-uuid"
            ) from None
        reason = redrive_permission(error)
        raise OpsError(f"cannot read the mapping's filter criteria: {reason or error}") from None
    filtered = [
        mapping["UUID"] for mapping in mappings if (mapping.get("FilterCriteria") or {}).get("Filters")
    ]
    if filtered:
        raise OpsError(
            f"mapping {', '.join(filtered)} has filter criteria: a failed batch's sequence range also holds "
            "records the filter dropped, which redrive cannot tell apart; not supported with filters"
        )


def failure_destination(
    args: argparse.Namespace, deployment: Deployment, clients: Clients
) -> redrive_module.QueueDestination | redrive_module.BucketDestination:
    """The on-failure queue, or the S3 bucket (with the mapping's prefix when the mapping is known)."""
    if deployment.queue_url and deployment.failure_bucket:
        raise OpsError("--queue-url and --failure-bucket: redrive one destination at a time; give one")
    if deployment.queue_url:
        return redrive_module.QueueDestination(clients.client("sqs"), deployment.queue_url, args.max_messages)
    if deployment.failure_bucket:
        if not deployment.mapping_uuid:
            raise OpsError(
                "--failure-bucket needs --mapping-uuid: the bucket may hold other mappings' failed batches "
                "(aws/lambda/<mapping UUID>/...)"
            )
        prefix = f"aws/lambda/{deployment.mapping_uuid}/"
        return redrive_module.BucketDestination(
            clients.client("s3"), deployment.failure_bucket, prefix, args.max_messages
        )
    raise OpsError(
        "no on-failure destination: give --queue-url (or --failure-bucket), or --outputs-json of a module "
        "with on_failure_destination set"
    )


def redrive_replication(
    connection: Connection, deployment: Deployment, targets_json: Path | None
) -> redrive_module.Replication:
    """Describe and check the source and every target; the tables each target's writes and settle use."""
    source_client = connection.client(threads=1)
    source = describe(source_client, deployment.source_table)
    if source.stream_view_type not in FULL_IMAGE_VIEW_TYPES:
        raise OpsError(
            f"{source.name}'s stream view type is {source.stream_view_type}: redrive replays item images, "
            "which only a NEW_IMAGE or NEW_AND_OLD_IMAGES stream carries"
        )
    targets = []
    commands = []
    for target in deployment.targets:
        replica_client = connection.client(threads=1, target=target)
        replica = describe(replica_client, target.table_name)
        check_pair(source, replica)
        remote = target.region is not None or target.role_arn is not None
        tables = Tables(
            source_client,
            source.name,
            replica.name,
            source.key_names,
            replica_client=replica_client if remote else None,
        )
        targets.append((target.name, tables))
        targets_file = targets_json or "FILE (terraform output -json replica_targets)"
        where = (
            f"--targets-json {targets_file} --target {target.name}" if remote else f"--replica {replica.name}"
        )
        commands.append(f"ddb-replica verify --source {source.name} {where} --repair")
    return redrive_module.Replication(source.arn, targets, commands, source.stream_arn or "")


def print_outcome(outcome: redrive_module.Outcome, args: argparse.Namespace, console: Console) -> None:
    """One line per message, and one per reason it is kept; printed even with --quiet when kept."""
    batch = outcome.batch
    where = outcome.where
    if batch is not None:
        where += f" ({batch.shard_id} {batch.first}..{batch.last}, {batch.size} record(s))"
    found = (
        f"{outcome.records} record(s) from the {outcome.source}, {outcome.keys} key(s)"
        if outcome.source != "none"
        else "no record found"
    )
    if args.dry_run:
        differing = ", ".join(f"{label}: {count} differ" for label, count in outcome.would_correct.items())
        verdict = "would be deleted" if outcome.done(args.delete_expired) else "would be kept"
        line = f"{where}: {found}; {differing or 'no target'}; {verdict}"
    else:
        targets = "; ".join(
            (f"{label}: {outcome.written[label]} written, " if label in outcome.written else f"{label}: ")
            + f"{outcome.settled[label].puts + outcome.settled[label].deletes} corrected by the settle"
            for label in outcome.settled
        )
        line = f"{where}: {found}; {targets or 'nothing written'}; " + (
            "deleted" if outcome.deleted else "kept"
        )
    kept = not outcome.done(args.delete_expired)
    if kept:
        console.problem(line)
        for reason in ([outcome.unnamed] if outcome.unnamed else []) + outcome.problems:
            console.problem(f"  kept: {reason}")
    else:
        console.info(line)


def print_redrive_total(
    outcomes: Sequence[redrive_module.Outcome],
    kept: Sequence[redrive_module.Outcome],
    args: argparse.Namespace,
    seconds: float,
    console: Console,
) -> None:
    done = len(outcomes) - len(kept)
    verb = "would redrive" if args.dry_run else "redriven"
    print(
        f"redrive: {len(outcomes)} message(s): {done} {verb}, {len(kept)} kept; "
        f"{sum(outcome.records for outcome in outcomes)} record(s), "
        f"{sum(outcome.keys for outcome in outcomes)} key(s); {seconds:.2f} s",
        file=console.out,
    )


def redrive_document(
    outcomes: Sequence[redrive_module.Outcome], args: argparse.Namespace, seconds: float, failure: str | None
) -> dict[str, Any]:
    def entry(outcome: redrive_module.Outcome) -> dict[str, Any]:
        batch = outcome.batch
        return {
            "message": outcome.where,
            "shard_id": batch.shard_id if batch else None,
            "first_sequence_number": batch.first if batch else None,
            "last_sequence_number": batch.last if batch else None,
            "batch_size": batch.size if batch else None,
            "records": outcome.records,
            "records_from": outcome.source,
            "keys": outcome.keys,
            "written": outcome.written,
            "corrected": {label: s.puts + s.deletes for label, s in outcome.settled.items()},
            "would_correct": outcome.would_correct if args.dry_run else None,
            "done": outcome.done(args.delete_expired),
            "deleted": outcome.deleted,
            "kept_because": ([outcome.unnamed] if outcome.unnamed else []) + outcome.problems,
        }

    kept = [outcome for outcome in outcomes if not outcome.done(args.delete_expired)]
    return {
        "dry_run": args.dry_run,
        "messages": [entry(outcome) for outcome in outcomes],
        "would_redrive" if args.dry_run else "redriven": len(outcomes) - len(kept),
        "kept": len(kept),
        "error": failure,
        "seconds": round(seconds, 3),
    }


# --- entry point -------------------------------------------------------------------------------------


COMMANDS = {"backfill": backfill, "verify": verify, "status": status, "redrive": redrive}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser(os.environ).parse_args(argv)
    console = Console(sys.stdout, sys.stderr, args.quiet)
    try:
        return COMMANDS[args.command](args, console)
    except KeyboardInterrupt:
        console.problem("interrupted")
        return EXIT_INTERRUPTED
    except OpsError as error:
        console.problem(f"error: {error}")
        return EXIT_NOTHING_DONE
    except ClientError as error:
        if error.operation_name == "AssumeRole":
            console.problem(
                f"error: cannot assume the replica's role ({error}); check that it exists, trusts your "
                "credentials (operator_role_arns of the replica-target module) and the external ID"
            )
            return EXIT_NOTHING_DONE
        console.problem(f"error: {permission_message(error) or error}")
        return EXIT_NOTHING_DONE if permission_message(error) else EXIT_FAILED
    except BotoCoreError as error:
        console.problem(f"error: {explain(error)}")
        return EXIT_NOTHING_DONE


if __name__ == "__main__":
    sys.exit(main())
