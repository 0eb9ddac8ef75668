"""Fixtures for the ``ddb-replica`` tests: moto tables, a seeded data set, and the stream driven by hand.

``Stream.apply()`` is the live mapping: it runs the real handler on the source's stream records not yet
delivered (read with GetRecords, as Lambda would deliver them), so races can be staged in any order.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "lambda_src"))
sys.path.insert(0, str(Path(__file__).parent))

import ddbreplica_lambda as handler
import pytest
from botocore.exceptions import ClientError
from stream_events import (
    REPLICA,
    SOURCE,
    FakeContext,
    SourceTable,
    create_table,
    dynamodb,
    lambda_event,
    scan,
)
from write_hooks import cancelled_transaction, items_written, on_client_writes

from loader.ddb_replica import cli
from loader.ddb_replica.tables import Connection
from loader.ddb_replica.writes import Tables

type Item = dict[str, Any]


def seeded_item(number: int) -> Item:
    """Item ``number`` of the seeded data set: every scalar and document type, deterministic."""
    return {
        "PK": {"S": f"item#{number:06d}"},
        "n": {"N": str(number)},
        "price": {"N": f"{number}.{number % 100:02d}"},
        "b": {"B": number.to_bytes(4, "big") + b"\xff"},
        "ss": {"SS": [f"tag{number % 7}", f"tag{number % 11}x"]},
        "m": {"M": {"nested": {"L": [{"N": "1"}, {"BOOL": number % 2 == 0}, {"NULL": True}]}}},
        "text": {"S": f"row {number} ✓"},
    }


def wide_item(number: int, attributes: int = 400) -> Item:
    """Seeded item ``number`` with ``attributes`` more: too wide to compare whole in one condition
    (``#a = :v AND …`` over 150 attributes is over DynamoDB's 300 operators)."""
    extra = {f"attribute_{index:03d}": {"N": str(index * number)} for index in range(attributes)}
    return seeded_item(number) | extra


def seed(table: str, count: int, start: int = 0) -> list[Item]:
    """Write ``count`` seeded items with BatchWriteItem (25 per call)."""
    client = dynamodb()
    items = [seeded_item(number) for number in range(start, start + count)]
    for offset in range(0, len(items), 25):
        requests: Any = [{"PutRequest": {"Item": item}} for item in items[offset : offset + 25]]
        client.batch_write_item(RequestItems={table: requests})
    return items


def replica_tables(threads: int = 1, sleep: Callable[[float], None] = time.sleep) -> Tables:
    """Tables for SOURCE and REPLICA (key PK) on a client like the commands' own."""
    return Tables(Connection(None, None).client(threads=threads), SOURCE, REPLICA, ("PK",), sleep=sleep)


def key(number: int) -> Item:
    return {"PK": {"S": f"item#{number:06d}"}}


REFUSAL = "One or more parameter values were invalid: Type mismatch for Index Key g Expected: N Actual: S"


def replica_items_written(params: dict[str, Any]) -> list[Item]:
    """The items (or keys) a write request sends to the replica (write_hooks.items_written)."""
    return items_written(params, REPLICA)


def refuse_writes_of(monkeypatch: pytest.MonkeyPatch, number: int, whole_transaction: bool = False) -> None:
    """The replica refuses every write of item ``number`` as AWS refuses an index key of the wrong type
    (moto does not check index key types), on the clients the commands make: a single write or a whole
    BatchWriteItem with ValidationException, a transaction cancelled with ValidationError for that item (or,
    ``whole_transaction``, refused with ValidationException, as AWS answers for an empty index key)."""

    def refuse(params: dict[str, Any], model: Any, **_: Any) -> None:
        refused = [written.get("PK") == key(number)["PK"] for written in replica_items_written(params)]
        if not any(refused):
            return
        if model.name == "TransactWriteItems" and not whole_transaction:
            refusal = {"Code": "ValidationError", "Message": REFUSAL}
            raise cancelled_transaction([refusal if hit else {"Code": "None"} for hit in refused])
        response: Any = {"Error": {"Code": "ValidationException", "Message": REFUSAL}}
        raise ClientError(response | {"ResponseMetadata": {"HTTPStatusCode": 400}}, model.name)

    on_client_writes(monkeypatch, refuse)


@dataclass
class Stream:
    """The stream mapping, run by hand: each apply() delivers the records written since the last one."""

    source: SourceTable
    delivered: int = 0

    def apply(self) -> None:
        records = self.source.records()[self.delivered :]
        self.delivered += len(records)
        if records:
            target = handler.Target(dynamodb(), REPLICA, FakeContext())
            response = handler.replicate(lambda_event(records), target)
            assert response == {"batchItemFailures": []}

    def skip_history(self) -> None:
        """Treat every record so far as older than the stream (the items the backfill is for)."""
        self.delivered = len(self.source.records())


@dataclass
class Lab:
    """Source with a NEW_IMAGE stream, an empty replica, and the CLI."""

    source: SourceTable
    stream: Stream
    state_dir: Path
    capsys: pytest.CaptureFixture[str]

    def run(self, *args: str) -> tuple[int, str, str]:
        code = cli.main(list(args))
        captured = self.capsys.readouterr()
        return code, captured.out, captured.err

    def backfill(self, *extra: str) -> tuple[int, str, str]:
        return self.run(
            "backfill", "--source", SOURCE, "--replica", REPLICA, "--state-dir", str(self.state_dir), *extra
        )

    def verify(self, *extra: str) -> tuple[int, str, str]:
        return self.run("verify", "--source", SOURCE, "--replica", REPLICA, *extra)


def make_lab(state_dir: Path, capsys: pytest.CaptureFixture[str]) -> Lab:
    source = SourceTable.create(SOURCE)
    create_table(REPLICA)
    return Lab(source, Stream(source), state_dir, capsys)


def replica_equals_source() -> bool:
    return scan(SOURCE) == scan(REPLICA)


def replica_item(number: int) -> Item | None:
    item: Item | None = dynamodb().get_item(TableName=REPLICA, Key=key(number)).get("Item")
    return item


def hook_put(monkeypatch: pytest.MonkeyPatch, before: Callable[[Item], object]) -> None:
    """Run ``before(item)`` for each item of every write request to the replica, just before it is sent (the
    moment a stream write can slip in), in every copy mode: PutItem, BatchWriteItem, TransactWriteItems."""

    def see(params: dict[str, Any], **_: Any) -> None:
        for item in replica_items_written(params):
            before(item)

    on_client_writes(monkeypatch, see, ("PutItem", "BatchWriteItem", "TransactWriteItems"))


def counts(out: str) -> dict[str, int]:
    """The figures of the backfill summary line."""
    line = next(line for line in out.splitlines() if " scanned " in line)
    words = line.replace(",", "").replace(";", "").split()
    names = ("scanned", "copied", "replica", "corrected", "unresolved")
    return {name: int(words[words.index(name) + 1]) for name in names}
