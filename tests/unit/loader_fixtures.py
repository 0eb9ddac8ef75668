"""Helpers shared by the loader tests: CSV rows, a moto ``logfile`` table, running ``main``.

Import with ``sys.path`` pointing at this folder (tests/unit has no package and no conftest of ours).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
import pytest
from moto import mock_aws

from loader import load_logfile

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

REPO = Path(__file__).resolve().parents[2]
DATA_FILE = REPO / "data" / "logfile_stream.csv"
LOADER_SCRIPT = REPO / "loader" / "load_logfile.py"
TABLE = "logfile"
REGION = "us-east-1"

# The first row of data/logfile_stream.csv, split into its 10 fields.
FIRST_ROW = (
    "4001",
    "66.249.67.3",
    "2009-07-21",
    "06",
    "GMT-0700",
    "GET",
    "/gallery/main.php?g2_itemId=25483",
    "200",
    "7989",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
)


def row(requestid: int | str = 4001, **overrides: str) -> list[str]:
    """FIRST_ROW with another requestid and any field replaced by name."""
    fields = dict(zip(load_logfile.FIELDS, FIRST_ROW, strict=True))
    fields["requestid"] = str(requestid)
    fields.update(overrides)
    return list(fields.values())


def csv_text(rows: Sequence[Sequence[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def write_csv(path: Path, rows: Sequence[Sequence[str]]) -> Path:
    path.write_text(csv_text(rows), encoding="utf-8", newline="")
    return path


def good_rows(count: int, first: int = 1) -> list[list[str]]:
    return [row(first + n) for n in range(count)]


def isolate_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep boto3 off any endpoint set in the developer's shell (moto only intercepts AWS URLs)."""
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
        monkeypatch.delenv(name, raising=False)


def create_table(name: str = TABLE, hash_key: str = "PK", key_type: str = "S") -> Table:
    """The workshop's schema: hash key PK (S)."""
    resource = boto3.resource("dynamodb", region_name=REGION)
    table = resource.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": hash_key, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": hash_key, "AttributeType": key_type}],  # type: ignore[typeddict-item]
        BillingMode="PAY_PER_REQUEST",
    )
    table.wait_until_exists()
    return table


@contextmanager
def moto_table(monkeypatch: pytest.MonkeyPatch) -> Iterator[Table]:
    isolate_endpoint(monkeypatch)
    with mock_aws():
        yield create_table()


def item_count(table: Table) -> int:
    return sum(page["Count"] for page in _scan_pages(table))


def _scan_pages(table: Table) -> Iterator[dict[str, int]]:
    kwargs: dict[str, object] = {"Select": "COUNT"}
    while True:
        page = table.scan(**kwargs)  # type: ignore[arg-type]
        yield {"Count": page["Count"]}
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str

    @property
    def last_line(self) -> str:
        return self.out.strip().splitlines()[-1]

    @property
    def row_count(self) -> int:
        return int(self.last_line.split(",")[0].removeprefix("RowCount: "))


def run_main(capsys: pytest.CaptureFixture[str], *argv: str) -> Run:
    code = load_logfile.main(list(argv))
    captured = capsys.readouterr()
    return Run(code, captured.out, captured.err)
