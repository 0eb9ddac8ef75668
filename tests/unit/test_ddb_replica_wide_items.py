"""Items too wide for one condition, and keys the replica refuses: settle, backfill, resume and
``verify --repair`` finish, and name what they could not write.

DynamoDB refuses an expression of more than 300 operators or 4 KB; moto does not, so ``moto_aws()``
enforces both here (aws_limits.py), as AWS does.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent))

import aws_limits
from replica_ops_fixtures import (
    REFUSAL,
    Item,
    Lab,
    counts,
    hook_put,
    key,
    make_lab,
    refuse_writes_of,
    replica_equals_source,
    replica_item,
    replica_tables,
    seed,
    seeded_item,
    wide_item,
)
from stream_events import REPLICA, SOURCE, dynamodb, moto_aws

from loader.ddb_replica import backfill as backfill_module
from loader.ddb_replica import items
from loader.ddb_replica.settle import settle


@pytest.fixture
def lab(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Lab]:
    with moto_aws():
        yield make_lab(tmp_path / "state", capsys)


# --- the condition fits DynamoDB's limits, whatever the item ---------------------------------------------

VALUES = st.sampled_from([{"N": "1"}, {"S": "x" * 300}, {"NULL": True}, {"L": [{"S": "a"}] * 50}])


@settings(max_examples=200, deadline=None)
@given(
    count=st.integers(0, 600),
    name_length=st.integers(1, 255),
    values=st.lists(VALUES, min_size=1, max_size=5),
    sort_key=st.booleans(),
)
def test_the_unchanged_condition_always_fits_and_compares_the_key_first(
    count: int, name_length: int, values: list[dict[str, Any]], sort_key: bool
) -> None:
    key_names = ("PK", "SK") if sort_key else ("PK",)
    attributes = {
        f"{index:03d}".ljust(name_length, "_"): values[index % len(values)] for index in range(count)
    }
    expected = {name: {"S": f"key {name}"} for name in key_names} | attributes
    condition = items.unchanged_condition(expected, key_names)
    expression = condition["ConditionExpression"]
    assert len(expression.encode()) <= aws_limits.MAX_EXPRESSION_BYTES
    assert aws_limits.operators(expression) <= aws_limits.MAX_OPERATORS
    compared = condition["ExpressionAttributeNames"]
    assert list(compared.values())[: len(key_names)] == list(key_names)
    for placeholder, name in compared.items():
        assert condition["ExpressionAttributeValues"][placeholder.replace("#a", ":v")] == expected[name]
        assert f"{placeholder} = {placeholder.replace('#a', ':v')}" in expression.split(" AND ")
    if len(expected) <= 150:
        assert sorted(compared.values()) == sorted(expected), (
            "an item of up to 150 attributes is compared whole"
        )
    else:
        assert len(compared) == 150


# --- wide items settle ------------------------------------------------------------------------------


@pytest.mark.usefixtures("lab")
def test_a_wide_item_that_differs_is_put_and_one_the_source_deleted_is_deleted() -> None:
    dynamodb().put_item(TableName=REPLICA, Item=wide_item(1))
    dynamodb().put_item(TableName=SOURCE, Item=wide_item(1) | {"attribute_399": {"N": "-1"}})
    dynamodb().put_item(TableName=REPLICA, Item=wide_item(2))  # deleted from the source
    result = settle(replica_tables(), [key(1), key(2)])
    assert (result.puts, result.deletes, result.unresolved) == (1, 1, [])
    assert replica_item(1) == wide_item(1) | {"attribute_399": {"N": "-1"}}
    assert replica_item(2) is None


@pytest.mark.usefixtures("lab")
def test_a_wide_item_the_stream_changed_after_the_read_is_not_overwritten(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN a replica item behind the source in an attribute that sorts after the first 150 names
    stale = wide_item(1) | {"zzz": {"N": "1"}}
    dynamodb().put_item(TableName=REPLICA, Item=stale)
    dynamodb().put_item(TableName=SOURCE, Item=stale | {"zzz": {"N": "2"}})
    newer = stale | {"zzz": {"N": "3"}}
    target = replica_tables()
    original = target.put_if_unchanged

    def stream_first(item: Item, expected: Item | None, wait: bool = True) -> bool:
        # the source changes zzz again, and the stream writes that to the replica, between read and write
        for table in (SOURCE, REPLICA):
            dynamodb().put_item(TableName=table, Item=newer)
        return original(item, expected, wait)

    monkeypatch.setattr(target, "put_if_unchanged", stream_first)
    # WHEN one round writes, and the next only reads
    result = settle(target, [key(1)], max_rounds=2)
    # THEN the condition compared zzz (it differed from the source): the stream's newer item stays
    assert (result.puts, result.unresolved) == (0, [])
    assert replica_item(1) == newer


@pytest.mark.usefixtures("lab")
def test_a_wide_item_the_stream_deleted_after_the_read_is_not_brought_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN a stale wide item in the replica, and the source's newer image
    dynamodb().put_item(TableName=REPLICA, Item=wide_item(1))
    dynamodb().put_item(TableName=SOURCE, Item=wide_item(1) | {"n": {"N": "-1"}})
    target = replica_tables()
    original = target.put_if_unchanged

    def delete_first(item: Item, expected: Item | None, wait: bool = True) -> bool:
        # the source deletes the item, and the stream deletes it from the replica, between read and write
        dynamodb().delete_item(TableName=SOURCE, Key=key(1))
        dynamodb().delete_item(TableName=REPLICA, Key=key(1))
        return original(item, expected, wait)

    monkeypatch.setattr(target, "put_if_unchanged", delete_first)
    # WHEN
    result = settle(target, [key(1)], max_rounds=2)
    # THEN the condition, on the key first, saw the delete: nothing was put back
    assert result.puts == 0 and result.unresolved == []
    assert replica_item(1) is None


@pytest.mark.parametrize("attributes", [153, 400])  # over 300 operators only; over 4 KB as well
def test_backfill_removes_a_wide_item_deleted_during_its_copy(
    lab: Lab, monkeypatch: pytest.MonkeyPatch, attributes: int
) -> None:
    dynamodb().put_item(TableName=SOURCE, Item=wide_item(50, attributes))
    seed(SOURCE, 20)  # items 0-19
    lab.stream.skip_history()

    def delete_then_stream(item: Item) -> None:
        if item["PK"] == key(50)["PK"] and dynamodb().get_item(TableName=SOURCE, Key=key(50)).get("Item"):
            dynamodb().delete_item(TableName=SOURCE, Key=key(50))
            lab.stream.apply()  # the REMOVE reaches the replica first (nothing to delete there yet)

    hook_put(monkeypatch, delete_then_stream)
    code, out, err = lab.backfill()
    assert (code, err) == (0, "")
    assert counts(out)["corrected"] == 1 and replica_item(50) is None
    assert replica_equals_source()


@pytest.mark.parametrize("attributes", [153, 400])
def test_a_wide_pending_key_is_settled_on_resume(
    lab: Lab, monkeypatch: pytest.MonkeyPatch, attributes: int
) -> None:
    dynamodb().put_item(TableName=SOURCE, Item=wide_item(4, attributes))
    lab.stream.skip_history()

    def crash(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("power cut")

    with monkeypatch.context() as patch:
        patch.setattr(backfill_module, "settle", crash)
        assert lab.backfill()[0] == 3
    dynamodb().put_item(
        TableName=SOURCE, Item=wide_item(4, attributes) | {"text": {"S": "changed while stopped"}}
    )

    code, out, err = lab.backfill("--resume")
    assert (code, err) == (0, "")
    assert counts(out)["corrected"] == 1
    assert replica_equals_source()


def test_verify_repair_settles_wide_items(lab: Lab) -> None:
    for number in range(3):
        dynamodb().put_item(TableName=SOURCE, Item=wide_item(number))
        dynamodb().put_item(TableName=REPLICA, Item=wide_item(number) | {"text": {"S": "stale"}})
    dynamodb().put_item(TableName=REPLICA, Item=wide_item(3))
    code, out, _ = lab.verify("--repair")
    assert code == 0 and "repaired: 3 put(s), 1 delete(s), unresolved 0" in out
    assert replica_equals_source()


# --- a key the replica refuses ----------------------------------------------------------------------


def test_backfill_names_a_key_the_replica_refuses_and_copies_the_rest(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(SOURCE, 30)
    refuse_writes_of(monkeypatch, 3)
    code, out, err = lab.backfill()
    assert code == 1
    assert counts(out) == {"scanned": 30, "copied": 29, "replica": 0, "corrected": 0, "unresolved": 1}
    assert "refused 1, unresolved 1;" in out
    assert (
        f"unresolved: PK=item#000003 (the replica refuses the write: ValidationException: {REFUSAL};" in err
    )
    assert replica_item(3) is None and all(replica_item(n) == seeded_item(n) for n in range(30) if n != 3)
    segment = json.loads((lab.state_dir / "segment-00000.json").read_text())
    assert segment["done"] and segment["pending"] == []
    # AND a resume does not stop on it: it reports the finished run again
    code, _, err = lab.backfill("--resume")
    assert code == 1 and "unresolved: PK=item#000003 (the replica refuses the write" in err


def test_a_backfill_stops_when_the_replica_refuses_many_keys(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a replica that refuses every item (as it would an index key of another type)
    seed(SOURCE, 40)
    for number in range(40):
        refuse_writes_of(monkeypatch, number)
    # WHEN / THEN the run stops after the limit, names the cause, and keeps its checkpoints
    code, out, err = lab.backfill("--max-refused", "5", "--page-size", "4")
    assert code == 3
    assert "the replica refused the writes of 8 keys (more than --max-refused 5)" in err
    assert f"ValidationException: {REFUSAL}" in err and "--resume" in err
    # AND a resume stops again until the cause is fixed, or the limit raised
    assert lab.backfill("--resume", "--max-refused", "5", "--page-size", "4")[0] == 3
    code, out, _ = lab.backfill("--resume", "--max-refused", "40", "--page-size", "4")
    assert code == 1 and "refused 40, unresolved 40;" in out


def test_a_validation_error_of_our_own_condition_is_not_a_refusal() -> None:
    from botocore.exceptions import ClientError
    from ddbreplica_lambda import is_refused

    def validation(message: str) -> ClientError:
        return ClientError({"Error": {"Code": "ValidationException", "Message": message}}, "PutItem")

    assert is_refused(validation(REFUSAL))
    assert not is_refused(validation("Invalid ConditionExpression: too many operators; operator count: 301"))
    assert not is_refused(validation("Value provided in ExpressionAttributeNames unused in expressions"))


def test_verify_repair_names_a_key_the_replica_refuses_and_repairs_the_rest(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(SOURCE, 10)
    refuse_writes_of(monkeypatch, 3)
    code, out, _ = lab.verify("--repair")
    assert code == 1
    assert "repaired: 9 put(s), 0 delete(s), unresolved 1" in out
    assert (
        f"  unresolved: PK=item#000003 (the replica refuses the write: ValidationException: {REFUSAL};" in out
    )
    code, out, _ = lab.verify("--repair", "--json")
    document = json.loads(out)
    assert code == 1 and document["repaired"]["refused"] == {
        "count": 1,
        "keys": [{"key": {"PK": {"S": "item#000003"}}, "reason": f"ValidationException: {REFUSAL}"}],
    }
