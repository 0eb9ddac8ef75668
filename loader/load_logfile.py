"""Load the workshop's web-server log CSV into the DynamoDB table ``logfile``.

Same contract as the lab's ``load_logfile.py``::

    python loader/load_logfile.py logfile ./data/logfile_stream.csv
    load-logfile logfile ./data/logfile_stream.csv --endpoint-url http://127.0.0.1:4566

The last line on stdout is ``RowCount: <rows>, Total seconds: <seconds>``, where rows are the rows
confirmed written (with ``--dry-run``: the rows that would be). Runs that write nothing because
of bad input or setup (exit 2) print only their reasons, on stderr.

Beyond the lab: rows are validated before anything is written, written with ``batch_writer``
(25-item BatchWriteItem) from a small thread pool, and large files stream from disk twice
(a validation pass, then a write pass).

Exit codes: 0 loaded, 1 loaded but bad rows were skipped (``--skip-bad``), 2 nothing written
(bad input, missing file or table, credentials), 3 a write failed part-way (the rows confirmed
before it are reported), 130 interrupted (Ctrl-C; the rows confirmed so far are reported).

Layout: argparse and I/O at the edge (``main``), pure row parsing inside (``parse_row``).
"""

from __future__ import annotations

import argparse
import codecs
import csv
import os
import queue
import random
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, Final, TextIO

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
)
from botocore.loaders import Loader, create_loader
from tqdm import tqdm

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_dynamodb.type_defs import TableDescriptionTypeDef

# --------------------------------------------------------------------------------------------
# Item layout (the lab's schema)
# --------------------------------------------------------------------------------------------

FIELDS: Final = (
    "requestid",
    "host",
    "date",
    "hourofday",
    "timezone",
    "method",
    "url",
    "responsecode",
    "bytessent",
    "useragent",
)
INTEGER_FIELDS: Final = frozenset({"requestid", "hourofday", "responsecode", "bytessent"})
REQUIRED_FIELDS: Final = ("requestid", "host")
SERVER_ERROR_CODE: Final = 500
SERVER_ERROR_VALUE: Final = "5xx"

# DynamoDB type of every attribute the loader writes (checked against the table's definitions).
ATTRIBUTE_TYPES: Final = {
    "PK": "S",
    "GSI_1_PK": "S",
    "servererror": "S",
    **{name: "N" if name in INTEGER_FIELDS else "S" for name in FIELDS},
}
ALWAYS_PRESENT: Final = frozenset(ATTRIBUTE_TYPES) - {"servererror"}

# DynamoDB limits that would otherwise fail a whole batch half-way through a load.
MAX_NUMBER_DIGITS: Final = 38
MAX_PARTITION_KEY_BYTES: Final = 2048
MAX_ITEM_BYTES: Final = 400 * 1024
NUMBER_SIZE_BOUND: Final = 21  # bytes a DynamoDB number takes at most

# Write pass tuning.
ROWS_PER_TASK: Final = 100  # one batch_writer block (4 BatchWriteItem calls) per worker task
DEFAULT_WORKERS: Final = 4
MAX_WORKERS: Final = 64
WRITE_ATTEMPTS: Final = 10  # botocore standard retries per BatchWriteItem call (throttling)
MAX_UNPROCESSED_ROUNDS: Final = 10  # consecutive BatchWriteItem replies with UnprocessedItems

EXIT_OK: Final = 0
EXIT_SKIPPED: Final = 1
EXIT_NOTHING_WRITTEN: Final = 2
EXIT_WRITE_FAILED: Final = 3
EXIT_INTERRUPTED: Final = 130

Item = dict[str, str | int]


@dataclass(frozen=True)
class RowError:
    """Why a row cannot be loaded."""

    reason: str


@dataclass(frozen=True)
class Record:
    """One CSV record: its fields, the physical line it starts on, the file offset after it."""

    line: int
    fields: list[str]
    end_offset: int
    csv_error: str | None = None


class LoadError(Exception):
    """A condition that stops the load, told in one line: exit 2 before writing, 3 once writing."""


class InputChangedError(LoadError):
    """The file no longer matches what the validation pass saw."""


# --------------------------------------------------------------------------------------------
# Pure row parsing
# --------------------------------------------------------------------------------------------


def parse_row(fields: Sequence[str]) -> Item | RowError:
    """Turn the 10 CSV fields of one row into a ``logfile`` item, or say why it is bad."""
    if len(fields) != len(FIELDS):
        return RowError(f"expected {len(FIELDS)} fields, got {len(fields)}")
    row = dict(zip(FIELDS, fields, strict=True))
    for name in REQUIRED_FIELDS:
        if not row[name]:
            return RowError(f"{name} is empty")
    item: Item = {}
    for name, text in row.items():
        value = _parse_integer(name, text) if name in INTEGER_FIELDS else text
        if isinstance(value, RowError):
            return value
        item[name] = value
    item["PK"] = f"request#{item['requestid']}"
    item["GSI_1_PK"] = f"host#{row['host']}"
    if item["responsecode"] == SERVER_ERROR_CODE:
        item["servererror"] = SERVER_ERROR_VALUE
    return _check_sizes(item)


def _parse_integer(name: str, text: str) -> int | RowError:
    digits = text[1:] if text[:1] in "+-" else text
    if not (digits.isascii() and digits.isdigit()):
        return RowError(f"{name} is not an integer: {text!r}")
    if len(digits.lstrip("0")) > MAX_NUMBER_DIGITS:
        return RowError(f"{name} has more than {MAX_NUMBER_DIGITS} digits, DynamoDB's number precision")
    return int(text)


def _check_sizes(item: Item) -> Item | RowError:
    for key in ("PK", "GSI_1_PK"):
        size = len(str(item[key]).encode())
        if size > MAX_PARTITION_KEY_BYTES:
            return RowError(
                f"{key} is {size} bytes, over DynamoDB's {MAX_PARTITION_KEY_BYTES}-byte key limit"
            )
    size = item_size(item)
    if size > MAX_ITEM_BYTES:
        return RowError(f"item is about {size} bytes, over DynamoDB's 400 KB item limit")
    return item


def item_size(item: Item) -> int:
    """Upper bound of the item's DynamoDB size: names plus values, numbers at their largest."""
    return sum(
        len(name.encode()) + (len(value.encode()) if isinstance(value, str) else NUMBER_SIZE_BOUND)
        for name, value in item.items()
    )


# --------------------------------------------------------------------------------------------
# Reading the file (streaming)
# --------------------------------------------------------------------------------------------


class UndecodableError(LoadError):
    def __init__(self, path: str, offset: int, line: int, reason: str) -> None:
        super().__init__(f"{path}:{line}: not valid UTF-8 at byte offset {offset} ({reason})")
        self.offset = offset


@dataclass
class _LineSource:
    """Decodes a binary file line by line, so a decoding error can name its byte offset."""

    path: str
    stream: IO[bytes]
    offset: int = 0
    line: int = 0

    def __iter__(self) -> Iterator[str]:
        for raw in self.stream:
            start = self.offset
            self.offset += len(raw)
            self.line += 1
            if self.line == 1 and raw.startswith(codecs.BOM_UTF8):
                raw, start = raw[len(codecs.BOM_UTF8) :], start + len(codecs.BOM_UTF8)
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise UndecodableError(self.path, start + exc.start, self.line, exc.reason) from None


def iter_records(path: str) -> Iterator[Record]:
    """Stream the file's CSV records with the physical line each one starts on.

    Empty lines hold no data and are skipped. A malformed record becomes a ``Record`` with
    ``csv_error`` set; undecodable bytes raise ``UndecodableError``.
    """
    with _open_binary(path) as stream:
        source = _LineSource(path, stream)
        reader = csv.reader(source, strict=True)
        line = 0
        while True:
            start = line + 1
            error: str | None = None
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                fields, error = [], f"malformed CSV: {exc}"
            line = reader.line_num
            if fields or error:
                yield Record(start, fields, source.offset, error)


def _open_binary(path: str) -> IO[bytes]:
    try:
        return open(path, "rb")  # the caller closes it
    except FileNotFoundError:
        raise LoadError(f"file not found: {path}") from None
    except OSError as exc:
        raise LoadError(f"cannot read {path}: {exc.strerror or exc}") from None


def checked_rows(records: Iterable[Record]) -> Iterator[tuple[Record, Item | RowError]]:
    """Parse every record and flag a requestid already used by an earlier row."""
    seen: set[int] = set()
    for record in records:
        result = RowError(record.csv_error) if record.csv_error else parse_row(record.fields)
        if not isinstance(result, RowError):
            requestid = int(result["requestid"])
            if requestid in seen:
                result = RowError(f"duplicate requestid {requestid} (an earlier row has it)")
            seen.add(requestid)
        yield record, result


@dataclass
class Validation:
    """Outcome of the validation pass."""

    good: int = 0
    bad_lines: set[int] = field(default_factory=set)


def validate_file(path: str, report: Callable[[str], None], bar: tqdm[Any]) -> Validation:
    """First pass: count the good rows and report each bad one as ``<file>:<line>: <reason>``."""
    outcome = Validation()
    for record, result in checked_rows(iter_records(path)):
        if isinstance(result, RowError):
            outcome.bad_lines.add(record.line)
            report(f"{path}:{record.line}: {result.reason}")
        else:
            outcome.good += 1
        bar.update(record.end_offset - bar.n)
    return outcome


def items_to_write(path: str, skip_lines: set[int]) -> Iterator[Item]:
    """Second pass: the good rows' items, re-read from disk."""
    for record in iter_records(path):
        if record.line in skip_lines:
            continue
        result = RowError(record.csv_error) if record.csv_error else parse_row(record.fields)
        if isinstance(result, RowError):
            raise InputChangedError(f"{path}:{record.line}: file changed during the load ({result.reason})")
        yield result


def chunked(items: Iterable[Item], size: int) -> Iterator[list[Item]]:
    chunk: list[Item] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# --------------------------------------------------------------------------------------------
# DynamoDB
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """Where to write, and how many writer threads."""

    table: str
    endpoint_url: str | None
    region: str | None
    workers: int
    loader: Loader = field(default_factory=create_loader, compare=False, repr=False)

    def session(self) -> boto3.session.Session:
        """A boto3 session of its own (credentials, clients, resources).

        Sessions share one loader of botocore's model files: parsing them is most of what a new
        session costs (~70 ms), and the parsed data is only read.
        """
        core = botocore.session.Session()
        core.register_component("data_loader", self.loader)
        return boto3.session.Session(region_name=self.region, botocore_session=core)


def _boto_config(max_attempts: int | None = None) -> Config:
    """Standard retries; None keeps botocore's attempt count (3, or $AWS_MAX_ATTEMPTS)."""
    if max_attempts is None:
        return Config(retries={"mode": "standard"})
    return Config(retries={"mode": "standard", "max_attempts": max_attempts})


def make_client(target: Target) -> DynamoDBClient:
    try:
        return target.session().client("dynamodb", endpoint_url=target.endpoint_url, config=_boto_config())
    except ValueError as exc:  # botocore's "Invalid endpoint: ..."
        raise LoadError(str(exc)) from None


def check_table(target: Target) -> None:
    """DescribeTable before writing: the table exists, is usable and fits the item layout.

    Raises ``LoadError`` with one clear line otherwise.
    """
    client = make_client(target)
    where = f"in region {client.meta.region_name} at endpoint {client.meta.endpoint_url}"
    try:
        description = client.describe_table(TableName=target.table)["Table"]
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "ResourceNotFoundException":
            raise LoadError(f"table {target.table} not found {where}") from None
        raise LoadError(f"DescribeTable {target.table} failed {where}: {exc}") from None
    problem = table_mismatch(description)
    if problem:
        raise LoadError(f"table {target.table} {where}: {problem}")


def table_mismatch(description: TableDescriptionTypeDef) -> str | None:
    """Why the table cannot take logfile items, or None when it can."""
    status = description.get("TableStatus", "ACTIVE")
    if status not in ("ACTIVE", "UPDATING"):
        return f"is {status}, not ACTIVE"
    for key in description.get("KeySchema", []):
        if key["AttributeName"] not in ALWAYS_PRESENT:
            return f"has key attribute {key['AttributeName']!r}, which logfile items do not have (key: PK)"
    for definition in description.get("AttributeDefinitions", []):
        name, kind = definition["AttributeName"], definition["AttributeType"]
        if name in ATTRIBUTE_TYPES and ATTRIBUTE_TYPES[name] != kind:
            return f"defines {name} as {kind}, but the loader writes it as {ATTRIBUTE_TYPES[name]}"
    return None


@dataclass
class _UnprocessedBackoff:
    """Sleeps between BatchWriteItem calls that returned UnprocessedItems.

    boto3's batch_writer re-sends unprocessed items at once; under throttling that is a busy loop.
    """

    sleep: Callable[[float], None] = time.sleep
    rounds: int = 0
    base: float = 0.05
    cap: float = 5.0

    def __call__(self, parsed: dict[str, Any], **_: Any) -> None:
        if not parsed.get("UnprocessedItems"):
            self.rounds = 0
            return
        self.rounds += 1
        if self.rounds > MAX_UNPROCESSED_ROUNDS:
            raise RuntimeError(
                f"BatchWriteItem left items unprocessed {MAX_UNPROCESSED_ROUNDS} times in a row"
            )
        self.sleep(random.uniform(0, min(self.cap, self.base * 2**self.rounds)))


def make_table(target: Target) -> Table:
    """A Table on a session and resource of its own, backing off when items come back unprocessed."""
    resource = target.session().resource(
        "dynamodb", endpoint_url=target.endpoint_url, config=_boto_config(WRITE_ATTEMPTS)
    )
    resource.meta.client.meta.events.register("after-call.dynamodb.BatchWriteItem", _UnprocessedBackoff())
    return resource.Table(target.table)


class _ThreadTables:
    """One boto3 session, resource and Table per worker thread (boto3 resources are not thread-safe).

    They are built up front in the calling thread, then each worker claims one for good.
    """

    def __init__(self, target: Target) -> None:
        self._free: queue.SimpleQueue[Table] = queue.SimpleQueue()
        for _ in range(target.workers):
            self._free.put(make_table(target))
        self._local = threading.local()

    def get(self) -> Table:
        table: Table | None = getattr(self._local, "table", None)
        if table is None:
            table = self._free.get_nowait()
            self._local.table = table
        return table


def write_chunk(tables: _ThreadTables, chunk: list[Item]) -> int:
    """Worker task: write the rows in one batch_writer block; they count once it has flushed."""
    with tables.get().batch_writer() as writer:
        for item in chunk:
            writer.put_item(Item=item)
    return len(chunk)


@dataclass
class WriteResult:
    written: int = 0
    error: str | None = None
    interrupted: bool = False


class _ChunkPool:
    """Worker tasks in flight (at most two per worker, so memory stays flat) and what they confirmed."""

    def __init__(self, target: Target, on_written: Callable[[int], object]) -> None:
        self.result = WriteResult()
        self._tables = _ThreadTables(target)
        self._on_written = on_written
        self._limit = 2 * target.workers
        self._in_flight: set[Future[int]] = set()
        self._executor = ThreadPoolExecutor(max_workers=target.workers, thread_name_prefix="load-logfile")

    def submit(self, chunk: list[Item]) -> None:
        self._in_flight.add(self._executor.submit(write_chunk, self._tables, chunk))
        if len(self._in_flight) >= self._limit:
            self._collect(wait(self._in_flight, return_when=FIRST_COMPLETED).done)

    def drain(self) -> None:
        self._collect(wait(self._in_flight).done)

    def close(self) -> None:
        """Cancel queued tasks, let running ones finish their batch and count them."""
        self.result.interrupted |= _shutdown(self._executor)
        self._collect(self._in_flight)

    def _collect(self, futures: Iterable[Future[int]]) -> None:
        for future in [f for f in futures if f.done()]:
            self._in_flight.discard(future)
            error = None if future.cancelled() else future.exception()
            if error is not None:
                self.result.error = self.result.error or _describe(error)
            elif not future.cancelled():
                self.result.written += future.result()
                self._on_written(future.result())


def write_items(target: Target, items: Iterable[Item], on_written: Callable[[int], object]) -> WriteResult:
    """Write items in chunks from a thread pool; rows count only once their chunk has flushed."""
    pool = _ChunkPool(target, on_written)
    try:
        for chunk in chunked(items, ROWS_PER_TASK):
            pool.submit(chunk)
            if pool.result.error:
                break
        else:
            pool.drain()
    except KeyboardInterrupt:
        pool.result.interrupted = True
    except LoadError as exc:
        pool.result.error = str(exc)
    finally:
        pool.close()
    return pool.result


def _shutdown(executor: ThreadPoolExecutor) -> bool:
    """Cancel queued tasks and let running ones finish their batch; True if Ctrl-C cut that short."""
    try:
        executor.shutdown(wait=True, cancel_futures=True)
    except KeyboardInterrupt:
        executor.shutdown(wait=False, cancel_futures=True)
        return True
    return False


def _describe(error: BaseException) -> str:
    if isinstance(error, ClientError):
        return str(error)
    return f"{type(error).__name__}: {error}"


# --------------------------------------------------------------------------------------------
# Command line (the edge)
# --------------------------------------------------------------------------------------------


def bounded_int(text: str, low: int, high: int) -> int:
    """An integer argument within [low, high] (argparse ``type`` helper, shared with ddb-replica)."""
    value = int(text)
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"must be between {low} and {high}")
    return value


def worker_count(text: str) -> int:
    return bounded_int(text, 1, MAX_WORKERS)


def build_parser(environ: Mapping[str, str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="load-logfile",
        description="Load the workshop's log CSV (no header, 10 fields) into a DynamoDB table.",
        epilog="Exit codes: 0 loaded, 1 bad rows skipped (--skip-bad), 2 nothing written, "
        "3 a write failed part-way, 130 interrupted.",
    )
    parser.add_argument("table", help="DynamoDB table name, e.g. logfile")
    parser.add_argument("file", help="CSV file, e.g. ./data/logfile_stream.csv")
    parser.add_argument(
        "--endpoint-url",
        default=environ.get("AWS_ENDPOINT_URL"),
        help="DynamoDB endpoint, e.g. http://127.0.0.1:4566 for LocalStack (default: $AWS_ENDPOINT_URL)",
    )
    parser.add_argument(
        "--region", default=None, help="AWS region (default: boto3's, e.g. $AWS_DEFAULT_REGION)"
    )
    parser.add_argument(
        "--workers",
        type=worker_count,
        default=DEFAULT_WORKERS,
        help=f"writer threads, each with its own boto3 session (default: {DEFAULT_WORKERS})",
    )
    parser.add_argument("--dry-run", action="store_true", help="validate the file only; no AWS calls")
    parser.add_argument(
        "--skip-bad",
        action="store_true",
        help="write the good rows, list the skipped ones, exit 1 (default: write nothing if any row is bad)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar or informational lines")
    return parser


@dataclass(frozen=True)
class Console:
    out: TextIO
    err: TextIO
    quiet: bool

    @property
    def show_progress(self) -> bool:
        return not self.quiet and self.err.isatty()

    def bar(self, total: int, desc: str, unit: str) -> tqdm[Any]:
        return tqdm(
            total=total,
            desc=desc,
            unit=unit,
            unit_scale=unit == "B",
            file=self.err,
            disable=not self.show_progress,
            leave=False,
        )

    def info(self, message: str) -> None:
        if not self.quiet:
            print(message, file=self.out)

    def problem(self, message: str) -> None:
        tqdm.write(message, file=self.err)

    def summary(self, rows: int, started: float) -> None:
        print(f"RowCount: {rows}, Total seconds: {time.perf_counter() - started:.3f}", file=self.out)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser(os.environ).parse_args(argv)
    console = Console(sys.stdout, sys.stderr, args.quiet)
    target = Target(args.table, args.endpoint_url, args.region, args.workers)
    started = time.perf_counter()
    try:
        return run(args.file, target, console, started, dry_run=args.dry_run, skip_bad=args.skip_bad)
    except KeyboardInterrupt:
        return finish(WriteResult(interrupted=True), 0, args.file, target, console, started)
    except (LoadError, BotoCoreError) as exc:
        console.problem(f"error: {explain(exc)}")
        return EXIT_NOTHING_WRITTEN


def explain(error: LoadError | BotoCoreError) -> str:
    """One line for a condition that stops the load before it writes."""
    if isinstance(error, NoCredentialsError | PartialCredentialsError):
        return f"no usable AWS credentials ({error}); set AWS_ACCESS_KEY_ID or AWS_PROFILE"
    if isinstance(error, NoRegionError):
        return "no AWS region; pass --region or set AWS_DEFAULT_REGION"
    if isinstance(error, EndpointConnectionError):
        return f"cannot reach DynamoDB: {error}"
    if isinstance(error, LoadError | ProfileNotFound):
        return str(error)
    return f"AWS call failed: {error}"


def run(path: str, target: Target, console: Console, started: float, *, dry_run: bool, skip_bad: bool) -> int:
    """Check the file and table, validate every row, then write the good ones."""
    _open_binary(path).close()  # a missing file is reported before any AWS call
    if not dry_run:
        check_table(target)
    with console.bar(os.path.getsize(path), "validating", "B") as bar:
        validation = validate_file(path, console.problem, bar)
    bad = len(validation.bad_lines)
    if bad and not skip_bad:
        console.problem(f"{path}: {bad} bad row(s); nothing written (--skip-bad loads the good rows)")
        return EXIT_NOTHING_WRITTEN
    if dry_run:
        console.info(f"dry run: {validation.good} row(s) valid, {bad} bad; nothing written to {target.table}")
        console.summary(validation.good, started)
        return EXIT_SKIPPED if bad else EXIT_OK
    with console.bar(validation.good, f"writing {target.table}", "row") as bar:
        outcome = write_items(target, items_to_write(path, validation.bad_lines), bar.update)
    return finish(outcome, bad, path, target, console, started)


def finish(
    outcome: WriteResult, bad: int, path: str, target: Target, console: Console, started: float
) -> int:
    if outcome.interrupted:
        console.problem(f"interrupted: {outcome.written} row(s) confirmed written to {target.table}")
        console.summary(outcome.written, started)
        return EXIT_INTERRUPTED
    if outcome.error:
        console.problem(
            f"error: writing {target.table} failed after {outcome.written} confirmed row(s): {outcome.error}"
        )
        console.summary(outcome.written, started)
        return EXIT_WRITE_FAILED
    if bad:
        console.problem(f"{path}: skipped {bad} bad row(s) listed above")
    console.summary(outcome.written, started)
    return EXIT_SKIPPED if bad else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
