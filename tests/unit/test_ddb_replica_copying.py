"""The backfill's copy modes (copying.py) on moto: write calls per item, a transaction cancelled by a conflict
with the stream, refusals and denials in each mode, and the limits of one transaction."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

sys.path.insert(0, str(Path(__file__).parent))

from replica_ops_fixtures import (
    REFUSAL,
    Lab,
    counts,
    make_lab,
    refuse_writes_of,
    replica_equals_source,
    replica_item,
    replica_items_written,
    replica_tables,
    seed,
    seeded_item,
)
from stream_events import REPLICA, SOURCE, dynamodb, moto_aws
from write_hooks import cancelled_transaction, on_client_writes

from loader.ddb_replica.copying import (
    COPY_MODES,
    TRANSACT_BYTES,
    TRANSACT_ITEMS,
    _transaction_chunks,
    copy_missing,
)
from loader.ddb_replica.items import item_size

MODES = pytest.mark.parametrize("mode", COPY_MODES)


@pytest.fixture
def lab(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Lab]:
    with moto_aws():
        yield make_lab(tmp_path / "state", capsys)


def test_batch_copies_with_at_most_one_call_per_25_items(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    seed(SOURCE, 1_000)
    calls: list[str] = []
    on_client_writes(monkeypatch, lambda model, **_: calls.append(model.name))
    code, out, _ = lab.backfill("--page-size", "500")
    assert code == 0 and counts(out)["copied"] == 1_000
    assert Counter(calls) == {"BatchWriteItem": 40}, "0.04 write calls per copied item"
    assert replica_equals_source()


def test_a_transaction_cancelled_by_a_stream_write_is_tried_again_without_the_written_key(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a first transaction that meets a stream write of item 3 (already in the replica) and a conflict on
    # item 5, as DynamoDB reports them: every other item cancelled with reason None
    seed(SOURCE, 10)
    calls: list[int] = []

    def first_call_cancelled(params: dict[str, Any], **_: Any) -> None:
        written = replica_items_written(params)
        calls.append(len(written))
        if len(calls) == 1:
            dynamodb().put_item(TableName=REPLICA, Item=seeded_item(3) | {"text": {"S": "from the stream"}})
            named = {
                seeded_item(3)["PK"]["S"]: "ConditionalCheckFailed",
                seeded_item(5)["PK"]["S"]: "TransactionConflict",
            }
            raise cancelled_transaction([{"Code": named.get(item["PK"]["S"], "None")} for item in written])

    on_client_writes(monkeypatch, first_call_cancelled, ("TransactWriteItems",))
    # WHEN
    code, out, _ = lab.backfill("--copy", "transact")
    # THEN the second call writes the 9 others (the conflicting one included), and the stream's item stays
    assert code == 0 and calls == [10, 9]
    assert counts(out) | {"copied": 9, "replica": 1, "corrected": 1} == counts(
        out
    )  # the settle: source state
    assert replica_equals_source()


def test_a_transaction_that_keeps_failing_leaves_its_items_to_the_settle(lab: Lab) -> None:
    seed(SOURCE, 5)
    every = replica_tables(sleep=lambda _: None)

    def conflict(**_: Any) -> None:
        raise cancelled_transaction([{"Code": "TransactionConflict"}] * 5)

    every.replica_side.meta.events.register("before-parameter-build.dynamodb.TransactWriteItems", conflict)
    items = [seeded_item(number) for number in range(5)]
    result = copy_missing(every, items, "transact")
    assert (result.copied, result.present) == (0, 0), "nothing counted copied that was not written"
    assert all(replica_item(number) is None for number in range(5))


def test_a_transaction_whose_answer_was_lost_is_sent_again_with_its_token(lab: Lab) -> None:
    """After a timeout DynamoDB may have committed it: the same ClientRequestToken makes it answer for that
    one (moto ignores the token, and answers with a cancellation: the items are there by then)."""
    seed(SOURCE, 4)
    tokens: list[str] = []
    writer = replica_tables(sleep=lambda _: None)

    def record(params: dict[str, Any], **_: Any) -> None:
        tokens.append(params["ClientRequestToken"])

    def lose_the_first_answer(**_: Any) -> None:
        if len(tokens) == 1:
            raise ReadTimeoutError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")

    writer.replica_side.meta.events.register("before-parameter-build.dynamodb.TransactWriteItems", record)
    writer.replica_side.meta.events.register("after-call.dynamodb.TransactWriteItems", lose_the_first_answer)
    items = [seeded_item(number) for number in range(4)]
    copy_missing(writer, items, "transact")
    assert len(tokens) == 2 and tokens[0] == tokens[1]
    assert all(replica_item(number) == items[number] for number in range(4))


def test_a_transaction_refused_whole_is_split_to_find_the_item(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(SOURCE, 30)
    calls: list[int] = []  # registered first, so it sees the requests the refusal then stops
    on_client_writes(
        monkeypatch, lambda params, **_: calls.append(len(params["TransactItems"])), ("TransactWriteItems",)
    )
    refuse_writes_of(monkeypatch, 3, whole_transaction=True)
    code, out, err = lab.backfill("--copy", "transact")
    assert code == 1
    assert counts(out) == {"scanned": 30, "copied": 29, "replica": 0, "corrected": 0, "unresolved": 1}
    assert (
        f"unresolved: PK=item#000003 (the replica refuses the write: ValidationException: {REFUSAL};" in err
    )
    assert calls[:3] == [30, 15, 7] and len(calls) <= 11, "halves down to the refused item, not one by one"


@MODES
def test_a_key_the_replica_refuses_is_reported_and_the_rest_copied(
    lab: Lab, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    seed(SOURCE, 30)
    refuse_writes_of(monkeypatch, 3)
    code, out, err = lab.backfill("--copy", mode)
    assert code == 1
    assert counts(out) == {"scanned": 30, "copied": 29, "replica": 0, "corrected": 0, "unresolved": 1}
    assert (
        f"unresolved: PK=item#000003 (the replica refuses the write: ValidationException: {REFUSAL};" in err
    )
    assert replica_item(3) is None and all(replica_item(n) == seeded_item(n) for n in range(30) if n != 3)


@pytest.mark.parametrize(("mode", "action"), [("batch", "BatchWriteItem"), ("transact", "PutItem")])
def test_a_denied_copy_stops_the_run_and_names_the_permission(
    lab: Lab, monkeypatch: pytest.MonkeyPatch, mode: str, action: str
) -> None:
    seed(SOURCE, 10)

    def deny(model: Any, **_: Any) -> None:
        message = f"User: arn:aws:iam::123456789012:user/ops is not authorized to perform: dynamodb:{action}"
        response: Any = {"Error": {"Code": "AccessDeniedException", "Message": message}}
        raise ClientError(response, model.name)

    on_client_writes(monkeypatch, deny, ("BatchWriteItem", "TransactWriteItems"))
    code, _, err = lab.backfill("--copy", mode)
    assert code == 3
    assert f"error: backfill failed: missing permission dynamodb:{action} (AccessDeniedException" in err
    assert "--resume" in err


def test_transactions_hold_at_most_100_items_and_4_mb() -> None:
    small = [seeded_item(number) for number in range(250)]
    assert [len(chunk) for chunk in _transaction_chunks(small)] == [100, 100, 50]
    large = [seeded_item(number) | {"blob": {"B": b"x" * 350_000}} for number in range(30)]
    chunks = list(_transaction_chunks(large))
    assert sum(map(len, chunks)) == 30 and len(chunks) == 3
    assert all(sum(item_size(item) for item in chunk) <= TRANSACT_BYTES for chunk in chunks)
    assert all(len(chunk) <= TRANSACT_ITEMS for chunk in chunks)


def test_large_items_are_copied_in_transactions_within_the_limits(lab: Lab) -> None:
    """aws_limits.py refuses a transaction over 4 MB, as DynamoDB does and moto does not. (The backfill
    passes at most 100 items of a 1 MB Scan page; copy_missing takes any list.)"""
    items = [seeded_item(number) | {"blob": {"B": b"x" * 350_000}} for number in range(24)]
    calls: list[int] = []
    writer = replica_tables(sleep=lambda _: None)
    writer.replica_side.meta.events.register(
        "before-parameter-build.dynamodb.TransactWriteItems",
        lambda params, **_: calls.append(len(params["TransactItems"])),
    )
    result = copy_missing(writer, items, "transact")
    assert (result.copied, result.present) == (24, 0)
    assert calls == [11, 11, 2]
    assert all(replica_item(number) == items[number] for number in range(24))
