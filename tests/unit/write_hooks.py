"""Hooks on the clients ``ddb-replica`` makes (Connection.client): see, stage or refuse its write requests
before they are sent. No moto here: the LocalStack tests use them too."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest
from botocore.exceptions import ClientError

from loader.ddb_replica.tables import Connection

type Item = dict[str, Any]

WRITES = ("PutItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")


def items_written(params: dict[str, Any], table: str) -> list[Item]:
    """The items (or keys, for a delete) a PutItem, DeleteItem, BatchWriteItem or TransactWriteItems
    request writes to ``table``: the parameters as the caller gave them."""
    if params.get("TableName") == table:
        return [params.get("Item", params.get("Key", {}))]
    written = []
    for request in params.get("RequestItems", {}).get(table, []):
        written.append(request.get("PutRequest", {}).get("Item") or request.get("DeleteRequest", {})["Key"])
    for action in params.get("TransactItems", []):
        (write,) = action.values()
        if write.get("TableName") == table:
            written.append(write.get("Item", write.get("Key", {})))
    return written


def on_client_writes(
    monkeypatch: pytest.MonkeyPatch, handler: Callable[..., None], operations: Sequence[str] = WRITES
) -> None:
    """Register a botocore before-parameter-build ``handler`` for ``operations`` on every client the
    commands make (Connection.client), and so see or refuse their requests before they are sent."""
    original = Connection.client

    def client(self: Connection, threads: int, target: Any = None) -> Any:
        made = original(self, threads, target)
        for operation in operations:
            made.meta.events.register(f"before-parameter-build.dynamodb.{operation}", handler)
        return made

    monkeypatch.setattr(Connection, "client", client)


def cancelled_transaction(reasons: Sequence[dict[str, str]]) -> ClientError:
    """TransactWriteItems' TransactionCanceledException, with one cancellation reason per action."""
    response: Any = {
        "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"},
        "CancellationReasons": list(reasons),
        "ResponseMetadata": {"HTTPStatusCode": 400},
    }
    return ClientError(response, "TransactWriteItems")
