"""Items as the low-level DynamoDB client sees them (DynamoDB JSON, binary as bytes).

Pure functions: canonical forms for comparing items, key text for reports, a JSON codec for checkpoints,
the write-unit estimate used by the rate limit, and the condition that says "unchanged since read".
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Collection, Mapping, Sequence
from decimal import Context, Decimal, InvalidOperation
from typing import Any

type AttributeValue = dict[str, Any]
type Item = dict[str, AttributeValue]

MAX_EXPRESSION_CHARS = 4096  # DynamoDB's limit on the length of one expression string
MAX_EXPRESSION_OPERATORS = 300  # and on its operators and functions (AND and = count one each)
WRITE_UNIT_BYTES = 1024


def key_of(item: Mapping[str, AttributeValue], key_names: Sequence[str]) -> Item:
    """The primary key attributes of an item."""
    return {name: item[name] for name in key_names}


def key_text(key: Mapping[str, AttributeValue], key_names: Sequence[str]) -> str:
    """A key for people, in key-schema order: ``PK=request#12`` or ``PK=a, SK=3``; binary as base64."""
    return ", ".join(f"{name}={_scalar_text(key[name])}" for name in key_names)


def _scalar_text(value: AttributeValue) -> str:
    (kind, data), *_ = value.items()
    if kind == "B":
        return "b64:" + base64.b64encode(data).decode()
    return str(data)


def canonical(value: AttributeValue) -> Any:
    """A comparable form of one value: numbers by value, sets without order, binary as bytes."""
    (kind, data), *_ = value.items()
    if kind == "N":
        return ("N", _number(data))
    if kind in ("SS", "BS"):
        return (kind, tuple(sorted(data)))
    if kind == "NS":
        return (kind, tuple(sorted(_number(number) for number in data)))
    if kind == "L":
        return ("L", tuple(canonical(element) for element in data))
    if kind == "M":
        return ("M", canonical_item(data))
    return (kind, data)


def canonical_item(item: Mapping[str, AttributeValue]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted((name, canonical(value)) for name, value in item.items()))


def same_item(left: Mapping[str, AttributeValue] | None, right: Mapping[str, AttributeValue] | None) -> bool:
    if left is None or right is None:
        return left is right
    return canonical_item(left) == canonical_item(right)


def key_id(key: Mapping[str, AttributeValue]) -> str:
    """Equal keys, equal text (a dictionary key for matching items of both tables)."""
    return json.dumps(canonical_item(key), default=_bytes_text, separators=(",", ":"))


def _number(text: str) -> Decimal | str:
    """A number's exact value in one form: ``1.0``, ``10E-1`` give ``1``; ``-0``, ``0E+5`` give ``0``.

    Exact for every value DynamoDB accepts (38 significant digits, exponents -130 to +125): the context of
    ``normalize`` has as many digits as the number, so it never rounds. Python's default context keeps 28
    digits and would round: two keys that share their first 28 digits would become one.
    """
    try:
        number = Decimal(text)
    except InvalidOperation:
        return text
    if not number.is_finite():  # DynamoDB has no NaN or Infinity; compare such text as text
        return text
    if number.is_zero():
        return Decimal(0)
    return number.normalize(Context(prec=len(number.as_tuple().digits)))


def _bytes_text(value: object) -> str:
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


# --- checkpoint codec (keys only: S, N or B) ---------------------------------------------------------


def encode_key(key: Mapping[str, AttributeValue]) -> dict[str, dict[str, str]]:
    """JSON-safe form of a key (binary becomes base64 text under "B64")."""
    encoded = {}
    for name, value in key.items():
        (kind, data), *_ = value.items()
        encoded[name] = {"B64": base64.b64encode(data).decode()} if kind == "B" else {kind: data}
    return encoded


def decode_key(encoded: Mapping[str, Mapping[str, str]]) -> Item:
    decoded: Item = {}
    for name, value in encoded.items():
        (kind, data), *_ = value.items()
        decoded[name] = {"B": base64.b64decode(data)} if kind == "B64" else {kind: data}
    return decoded


# --- write units -------------------------------------------------------------------------------------


def item_size(item: Mapping[str, AttributeValue]) -> int:
    """Approximate stored size in bytes, by DynamoDB's published rules (names + values)."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _value_size(value: AttributeValue) -> int:
    (kind, data), *_ = value.items()
    if kind == "S":
        return len(data.encode())
    if kind == "B":
        return len(data)
    if kind == "N":
        return _number_size(data)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(text.encode()) for text in data)
    if kind == "BS":
        return sum(len(blob) for blob in data)
    if kind == "NS":
        return sum(_number_size(number) for number in data)
    if kind == "L":
        return 3 + sum(1 + _value_size(element) for element in data)
    if kind == "M":
        return 3 + sum(1 + len(name.encode()) + _value_size(element) for name, element in data.items())
    return len(json.dumps(data, default=str))


def _number_size(text: str) -> int:
    digits = len(text.lstrip("-").replace(".", "").lstrip("0")) or 1
    return math.ceil(digits / 2) + 1


def write_units(item: Mapping[str, AttributeValue]) -> int:
    """Write capacity units one PutItem of this item consumes (1 per started KB)."""
    return max(1, math.ceil(item_size(item) / WRITE_UNIT_BYTES))


# --- conditions --------------------------------------------------------------------------------------


def unchanged_condition(
    expected: Mapping[str, AttributeValue] | None,
    key_names: Sequence[str],
    first: Collection[str] = (),
) -> dict[str, Any]:
    """ConditionExpression arguments meaning "the item is still as it was read".

    ``None`` means it was absent: ``attribute_not_exists`` of the partition key. Otherwise the attributes
    must equal the values read: the key first, then the attributes named in ``first`` (settle passes those
    that differ from the source: the ones that changed lately, so the likeliest to change again), then the
    others, each group by name, as many as DynamoDB's expression limits allow (all of an item of up to 150
    attributes: ``#a = :v AND …`` is 2N-1 operators). The key comparison alone already fails when the item
    was deleted, so a deleted item never comes back. A change confined to attributes left out, or an
    attribute added since the read, goes unnoticed here; settle reads every key it wrote again, so such a
    write is corrected in its next round or reported, never left unsaid.
    """
    if expected is None:
        return {
            "ConditionExpression": "attribute_not_exists(#k0)",
            "ExpressionAttributeNames": {"#k0": key_names[0]},
        }
    keys = [name for name in key_names if name in expected]
    rest = [name for name in expected if name not in key_names]
    names = [
        *keys,
        *sorted(name for name in rest if name in first),
        *sorted(n for n in rest if n not in first),
    ]
    terms: list[str] = []
    length = -len(" AND ")  # of the expression so far, as if joined
    for index in range(len(names)):
        term = f"#a{index} = :v{index}"
        operators = 2 * len(terms) + 1  # with this term: one = each, one AND between two
        length += len(" AND ") + len(term)
        if operators > MAX_EXPRESSION_OPERATORS or length > MAX_EXPRESSION_CHARS:
            break
        terms.append(term)
    compared = names[: len(terms)]
    return {
        "ConditionExpression": " AND ".join(terms),
        "ExpressionAttributeNames": {f"#a{index}": name for index, name in enumerate(compared)},
        "ExpressionAttributeValues": {f":v{index}": expected[name] for index, name in enumerate(compared)},
    }
