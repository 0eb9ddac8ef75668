"""Fixtures for the ``ddb-replica`` tests: moto tables, a seeded data set, and the stream driven by hand.

``Stream.apply()`` is the live mapping: it runs the real handler on the source's stream records not yet
delivered (read with GetRecords, as Lambda would deliver them), so races can be staged in any order.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "lambda_src"))
sys.path.insert(0, str(Path(__file__).parent))

import ddbreplica_lambda as handler
import pytest
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

from loader.ddb_replica import cli

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


def seed(table: str, count: int, start: int = 0) -> list[Item]:
    """Write ``count`` seeded items with BatchWriteItem (25 per call)."""
    client = dynamodb()
    items = [seeded_item(number) for number in range(start, start + count)]
    for offset in range(0, len(items), 25):
        requests: Any = [{"PutRequest": {"Item": item}} for item in items[offset : offset + 25]]
        client.batch_write_item(RequestItems={table: requests})
    return items


def key(number: int) -> Item:
    return {"PK": {"S": f"item#{number:06d}"}}


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


def once_for(number: int, action: Callable[[], object]) -> Callable[[Item], bool]:
    """A hook for put_if_absent: run ``action`` once, just before the put of item ``number``."""
    done: list[bool] = []

    def hook(item: Item) -> bool:
        if item["PK"] == key(number)["PK"] and not done:
            done.append(True)
            action()
        return True

    return hook
