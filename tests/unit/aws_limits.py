"""DynamoDB's expression limits, which moto does not enforce: inside ``moto_aws()`` a request over them fails
with the ValidationException AWS answers. So does a transaction over 4 MB.

Limits (DynamoDB developer guide, "Expression parameters"): an expression string is at most 4 KB, and holds
at most 300 operators and functions. Comparators, AND/OR/NOT, BETWEEN, IN and each function call count one.
"""

from __future__ import annotations

import re
from typing import Any

from botocore.exceptions import ClientError

from loader.ddb_replica.items import item_size

MAX_EXPRESSION_BYTES = 4096
MAX_OPERATORS = 300
MAX_TRANSACTION_BYTES = (
    4 * 1024 * 1024
)  # the items of one TransactWriteItems (moto checks only its 100 actions)
CHECKED = ("ConditionExpression", "KeyConditionExpression", "FilterExpression")
OPERATOR = re.compile(r"\b(?:AND|OR|NOT|BETWEEN|IN)\b|<>|<=|>=|=|<|>|\b[a-z_]+\(", re.IGNORECASE)


def operators(expression: str) -> int:
    return len(OPERATOR.findall(expression))


def check_expressions(params: dict[str, Any], model: Any, **_: Any) -> None:
    """A botocore before-parameter-build handler: raise as DynamoDB would for an expression over a limit,
    or a transaction over 4 MB."""
    if model.name == "TransactWriteItems":
        _check_transaction(params, model.name)
    for name in CHECKED:
        expression = params.get(name)
        if not isinstance(expression, str):
            continue
        size = len(expression.encode())
        if size > MAX_EXPRESSION_BYTES:
            raise _invalid(
                model.name,
                f"Invalid {name}: Expression size has exceeded the maximum allowed size; "
                f"expression size: {size}",
            )
        count = operators(expression)
        if count > MAX_OPERATORS:
            raise _invalid(
                model.name,
                f"Invalid {name}: The expression contains too many operators; operator count: {count}",
            )


def _check_transaction(params: dict[str, Any], operation: str) -> None:
    size = sum(
        item_size(write.get("Item", {}))
        for action in params.get("TransactItems", [])
        for write in action.values()
    )
    if size > MAX_TRANSACTION_BYTES:
        raise _invalid(operation, f"Transaction request cannot be larger than 4 MB; request size: {size}")


def _invalid(operation: str, message: str) -> ClientError:
    response: Any = {
        "Error": {"Code": "ValidationException", "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": 400},
    }
    return ClientError(response, operation)


HANDLER = ("before-parameter-build.dynamodb", check_expressions)
