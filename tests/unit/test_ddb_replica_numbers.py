"""Numbers in ``ddb-replica``: key identity and item equality are exact for every number DynamoDB accepts
(up to 38 significant digits, exponents from -130 to +125), whatever form the text takes (``1.0`` = ``1``,
``-0`` = ``0``), in sets too. Python's default decimal context keeps only 28 digits."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent))

from replica_ops_fixtures import Lab, Stream
from stream_events import REPLICA, SOURCE, KeySchema, SourceTable, create_table, dynamodb, moto_aws

from loader.ddb_replica.items import key_id, same_item

NUMBER_KEY: KeySchema = (("PK", "N"),)


@st.composite
def dynamodb_numbers(draw: st.DrawFn) -> Decimal:
    """Any non-zero number DynamoDB stores: 1 to 38 significant digits, magnitude 1E-130 to <1E+126."""
    digits = draw(st.text("0123456789", min_size=1, max_size=38).filter(lambda d: d[0] != "0"))
    adjusted = draw(st.integers(-130, 125))  # the exponent of the first digit
    sign = draw(st.sampled_from(["", "-"]))
    return Decimal(f"{sign}{digits[0]}.{digits[1:] or '0'}E{adjusted}")


@st.composite
def renderings(draw: st.DrawFn, number: Decimal) -> str:
    """One of the texts a client may send for ``number``: scientific, plain, with trailing zeros."""
    form = draw(st.sampled_from(["scientific", "plain", "trailing zeros"]))
    if form == "plain":
        return format(number, "f")
    if form == "trailing zeros":
        sign, digits, exponent = number.as_tuple()
        zeros = draw(st.integers(1, 3))
        coefficient = "".join(map(str, digits)) + "0" * zeros
        return f"{'-' if sign else ''}{coefficient}E{int(exponent) - zeros}"
    return str(number)


def pk(text: str) -> dict[str, dict[str, str]]:
    return {"PK": {"N": text}}


def neighbour(number: Decimal, position: int) -> Decimal:
    """``number`` with one digit changed (at ``position``, counted in its digits): the closest other value."""
    sign, digits, exponent = number.as_tuple()
    padded = list(digits) + [0] * (38 - len(digits))
    index = position % 38
    padded[index] = (padded[index] + 1) % 10
    return Decimal((sign, tuple(padded), int(exponent) - (38 - len(digits))))


@settings(max_examples=300, deadline=None)
@given(st.data(), dynamodb_numbers())
def test_every_form_of_a_number_is_one_key_and_one_value(data: st.DataObject, number: Decimal) -> None:
    first, second = data.draw(renderings(number)), data.draw(renderings(number))
    assert Decimal(first) == Decimal(second) == number
    assert key_id(pk(first)) == key_id(pk(second))
    assert same_item({"v": {"N": first}}, {"v": {"N": second}})
    other = data.draw(dynamodb_numbers())
    numbers = [first, str(other)]
    assert same_item({"s": {"NS": numbers}}, {"s": {"NS": [str(other), second]}})


@settings(max_examples=300, deadline=None)
@given(dynamodb_numbers(), st.integers(0, 37))
def test_numbers_that_differ_in_any_of_38_digits_are_different_keys_and_values(
    number: Decimal, position: int
) -> None:
    other = neighbour(number, position)
    assert other != number
    assert key_id(pk(str(number))) != key_id(pk(str(other)))
    assert not same_item({"v": {"N": str(number)}}, {"v": {"N": str(other)}})
    assert not same_item({"s": {"NS": [str(number)]}}, {"s": {"NS": [str(other)]}})


@settings(max_examples=300, deadline=None)
@given(dynamodb_numbers(), dynamodb_numbers())
def test_key_identity_is_exact_equality(left: Decimal, right: Decimal) -> None:
    assert (key_id(pk(str(left))) == key_id(pk(str(right)))) == (left == right)


@pytest.mark.parametrize("text", ["0", "-0", "0.000", "0E+125", "-0E-130"])
def test_every_zero_is_zero(text: str) -> None:
    assert key_id(pk(text)) == key_id(pk("0"))
    assert same_item({"v": {"N": text}}, {"v": {"N": "0"}})


# --- the commands, on moto: keys that share their first 28 digits ----------------------------------------

A = "1234567890123456789012345678901234567"  # 37 digits
B = A[:-1] + "8"  # the same first 36 digits


@pytest.fixture
def number_lab(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Lab]:
    with moto_aws():
        source = SourceTable.create(SOURCE, keys=NUMBER_KEY)
        create_table(REPLICA, keys=NUMBER_KEY)
        yield Lab(source, Stream(source), tmp_path / "state", capsys)


def test_backfill_copies_both_keys_that_share_28_digits(number_lab: Lab) -> None:
    number_lab.source.put({**pk(A), "v": {"N": "1"}}, {**pk(B), "v": {"N": "2"}})
    dynamodb().put_item(TableName=REPLICA, Item={**pk(A), "v": {"N": "1"}})  # one is there already

    code, out, _ = number_lab.backfill()

    assert code == 0, out
    assert "scanned 2, copied 1, already in replica 1" in out
    replica = dynamodb().get_item(TableName=REPLICA, Key=pk(B), ConsistentRead=True).get("Item")
    assert replica == {**pk(B), "v": {"N": "2"}}


def test_verify_finds_a_difference_after_digit_28_and_repair_fixes_it(number_lab: Lab) -> None:
    number_lab.source.put({**pk(A), "v": {"N": A}})
    dynamodb().put_item(TableName=REPLICA, Item={**pk(A), "v": {"N": B}})

    code, out, _ = number_lab.verify()
    assert code == 1 and f"different: 1\n  PK={A}\n" in out

    code, out, _ = number_lab.verify("--repair")
    assert code == 0 and "repaired: 1 put(s)" in out
    assert dynamodb().get_item(TableName=REPLICA, Key=pk(A), ConsistentRead=True)["Item"]["v"] == {"N": A}
