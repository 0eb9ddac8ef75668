"""parse, plan and report on their own, on records read from a real (moto) stream: no handler AWS calls."""

from __future__ import annotations

import copy
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "lambda_src"))
sys.path.insert(0, str(Path(__file__).parent))

import ddbreplica_lambda as replica
from stream_events import (
    FakeContext,
    LambdaRecord,
    SourceTable,
    failures,
    moto_aws,
)

ITEM_A = {"PK": {"S": "a"}, "v": {"N": "1"}}
ITEM_A2 = {"PK": {"S": "a"}, "v": {"N": "2"}}
ITEM_B = {"PK": {"S": "b"}, "blob": {"B": b"\x00\xff"}, "m": {"M": {"l": {"L": [{"BS": [b"\x01"]}]}}}}


@pytest.fixture(scope="module")
def records() -> dict[str, LambdaRecord]:
    """INSERT a, MODIFY a, REMOVE a, INSERT b (binary), as Lambda delivers them."""
    with moto_aws():
        source = SourceTable.create()
        source.put(ITEM_A, ITEM_A2)
        source.delete({"PK": {"S": "a"}})
        source.put(ITEM_B)
        insert, modify, remove, binary = source.records()
    return {"insert": insert, "modify": modify, "remove": remove, "binary": binary}


def seq(record: LambdaRecord) -> str:
    return str(record["dynamodb"]["SequenceNumber"])


def parse_one(record: LambdaRecord) -> replica.Parsed:
    (parsed,) = replica.parse([record])
    return parsed


def change(record: LambdaRecord, key: str, image: dict[str, Any] | None) -> replica.Change:
    """The Change a record of key PK=key should parse into (with the record's creation time)."""
    name, created = record["eventName"], record["dynamodb"]["ApproximateCreationDateTime"]
    return replica.Change(
        seq(record), name, {"PK": {"S": key}}, f'{{"PK": {{"S": "{key}"}}}}', image, created
    )


# --- parse -------------------------------------------------------------------------------------------


def test_parse_turns_insert_modify_remove_into_puts_and_a_delete(records: dict[str, LambdaRecord]) -> None:
    # WHEN
    parsed = list(replica.parse([records["insert"], records["modify"], records["remove"]]))
    # THEN
    assert parsed == [
        change(records["insert"], "a", ITEM_A),
        change(records["modify"], "a", ITEM_A2),
        change(records["remove"], "a", None),
    ]


def test_parse_decodes_base64_binary_back_to_the_source_bytes(records: dict[str, LambdaRecord]) -> None:
    # GIVEN Lambda's JSON event carries binary as base64 text
    assert records["binary"]["dynamodb"]["NewImage"]["blob"] == {"B": "AP8="}
    # WHEN / THEN the image is the source item again, nested B and BS included
    assert parse_one(records["binary"]) == change(records["binary"], "b", ITEM_B)


def test_a_remove_with_an_empty_new_image_is_a_delete(records: dict[str, LambdaRecord]) -> None:
    # GIVEN a REMOVE as LocalStack sends it
    record = copy.deepcopy(records["remove"])
    record["dynamodb"]["NewImage"] = {}
    # WHEN / THEN
    assert parse_one(record) == change(records["remove"], "a", None)


@pytest.mark.parametrize("created", [None, "2026-12-02T08:00:00", True])
def test_a_record_without_a_usable_creation_time_is_still_replicated(
    records: dict[str, LambdaRecord], created: object
) -> None:
    # GIVEN a record whose creation time is missing or not epoch seconds (it only feeds the latency metric)
    record = copy.deepcopy(records["remove"])
    record["dynamodb"]["ApproximateCreationDateTime"] = created
    if created is None:
        del record["dynamodb"]["ApproximateCreationDateTime"]
    # WHEN / THEN it is the same change, without a creation time
    parsed = parse_one(record)
    assert isinstance(parsed, replica.Change) and parsed.created is None
    assert replace(parsed, created=records["remove"]["dynamodb"]["ApproximateCreationDateTime"]) == change(
        records["remove"], "a", None
    )


@pytest.mark.parametrize("view_type", ["KEYS_ONLY", "OLD_IMAGE"])
def test_a_stream_without_new_images_fails_loudly(view_type: str) -> None:
    # GIVEN real records of a stream that carries no new images
    with moto_aws():
        source = SourceTable.create(view_type=view_type)
        source.put(ITEM_A, ITEM_A2)
        insert, modify = source.records()
    # WHEN / THEN parsing either one is a configuration error naming the view type and the fix
    for record in (insert, modify):
        message = f"{view_type}'.*Set the stream view type to NEW_IMAGE or NEW_AND_OLD_IMAGES"
        with pytest.raises(replica.StreamViewTypeError, match=message):
            parse_one(record)


def test_an_insert_without_new_image_on_a_new_image_stream_is_malformed(
    records: dict[str, LambdaRecord],
) -> None:
    record = copy.deepcopy(records["insert"])
    del record["dynamodb"]["NewImage"]
    assert parse_one(record) == replica.Unparsed(
        seq(record), "INSERT record without NewImage on a NEW_IMAGE stream"
    )


def _set(path: str, value: object) -> Callable[[LambdaRecord], None]:
    """A mutation that puts value at a dotted path of the record."""

    def mutate(record: LambdaRecord) -> None:
        *parents, last = path.split(".")
        target = record
        for name in parents:
            target = target[name]
        target[last] = value

    return mutate


MALFORMED = {
    "unknown event name": (_set("eventName", "UPSERT"), "unknown eventName 'UPSERT'"),
    "no Keys": (_set("dynamodb.Keys", None), "Keys is not a map: None"),
    "empty Keys": (_set("dynamodb.Keys", {}), "Keys is empty"),
    "image not a map": (_set("dynamodb.NewImage", "PK=a"), "NewImage is not a map: 'PK=a'"),
    "binary not base64": (
        _set("dynamodb.NewImage.blob", {"B": "***"}),
        "binary value is not base64 text: '***'",
    ),
    "binary not text": (_set("dynamodb.NewImage.blob", {"B": 7}), "binary value is not base64 text: 7"),
    "two type tags": (
        _set("dynamodb.NewImage.v", {"S": "x", "N": "1"}),
        "not an attribute value: {'S': 'x', 'N': '1'}",
    ),
    "unknown type tag": (_set("dynamodb.NewImage.v", {"X": "1"}), "not an attribute value: {'X': '1'}"),
    "number not text": (_set("dynamodb.NewImage.v", {"N": 1}), "not an attribute value: {'N': 1}"),
    "set member not text": (_set("dynamodb.NewImage.v", {"SS": [1]}), "not an attribute value: {'SS': [1]}"),
    "list not a list": (_set("dynamodb.NewImage.v", {"L": "x"}), "not a list: 'x'"),
    "NULL not a bool": (
        _set("dynamodb.NewImage.v", {"NULL": "yes"}),
        "not an attribute value: {'NULL': 'yes'}",
    ),
}


@pytest.mark.parametrize("mutate, reason", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_record_is_unparsed_not_a_crash(
    records: dict[str, LambdaRecord], mutate: Callable[[LambdaRecord], None], reason: str
) -> None:
    # GIVEN a real INSERT, damaged
    record = copy.deepcopy(records["binary"])
    mutate(record)
    # WHEN / THEN it is kept, with its sequence number, to be reported
    assert parse_one(record) == replica.Unparsed(seq(record), reason)


@pytest.mark.parametrize("sequence", [None, "", 123])
def test_a_record_without_a_sequence_number_cannot_be_reported_so_it_raises(
    records: dict[str, LambdaRecord], sequence: object
) -> None:
    record = copy.deepcopy(records["insert"])
    record["dynamodb"]["SequenceNumber"] = sequence
    with pytest.raises(replica.MalformedBatchError, match="without a SequenceNumber"):
        parse_one(record)


def test_an_event_without_records_raises() -> None:
    target = replica.Target(cast(Any, None), "logfile_replica", FakeContext())
    with pytest.raises(replica.MalformedBatchError, match="no Records list"):
        replica.replicate({"detail": {}}, target)


# --- plan --------------------------------------------------------------------------------------------


def test_plan_keeps_the_last_change_of_each_key_in_stream_order(records: dict[str, LambdaRecord]) -> None:
    # GIVEN put a, put b, modify a, remove a
    changes = list(
        replica.parse([records["insert"], records["binary"], records["modify"], records["remove"]])
    )
    insert_a, put_b, modify_a, remove_a = cast(list[replica.Change], changes)
    # WHEN / THEN a put followed by a delete is a delete; b comes first, its last change being earlier
    assert replica.plan([insert_a, put_b, modify_a, remove_a]) == [put_b, remove_a]
    assert replica.plan([remove_a, modify_a]) == [modify_a]
    assert replica.plan([]) == []


# --- report ------------------------------------------------------------------------------------------


def _change(sequence: str, key: str) -> replica.Change:
    return replica.Change(sequence, "INSERT", {"PK": {"S": key}}, key, {"PK": {"S": key}})


def test_report_fails_every_record_of_a_key_that_did_not_land_in_sequence_order() -> None:
    # GIVEN a landed, b not; b has records before and after a's; one record unparsed
    parsed: list[replica.Parsed] = [
        _change("98", "b"),
        _change("99", "a"),
        replica.Unparsed("100", "bad"),
        _change("101", "b"),
        _change("1000", "a"),
    ]
    # WHEN
    response = replica.report(list(reversed(parsed)), frozenset({"a"}))
    # THEN numeric order, although "1000" < "98" as text
    assert response == failures("98", "100", "101")


def test_report_of_a_batch_that_landed_is_empty() -> None:
    assert replica.report([_change("1", "a")], frozenset({"a"})) == failures()
    assert replica.report([], frozenset()) == failures()
