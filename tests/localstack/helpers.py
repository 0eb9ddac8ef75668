"""Small helpers for tests against LocalStack: clients, unique names, zips, waiting."""

from __future__ import annotations

import io
import time
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from e2e import client  # tools/ is on sys.path (tests/conftest.py)

__all__ = ["client", "create_function", "create_stream_table", "scan_all", "unique", "wait_for", "zip_of"]

FUNCTIONS = Path(__file__).parent / "functions"
ROLE_ARN = "arn:aws:iam::000000000000:role/lambda-test"  # LocalStack does not enforce IAM by default
T = TypeVar("T")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def zip_of(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.write(FUNCTIONS / name, name)
    return buffer.getvalue()


def wait_for[T](check: Callable[[], T | None], timeout: float = 30.0, interval: float = 0.25) -> T:
    """Poll ``check`` until it returns something truthy; fail with the last value after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s (last value: {last!r})")


def create_function(
    lam: Any,
    name: str,
    handler: str,
    files: tuple[str, ...],
    runtime: str = "python3.12",
    timeout: int = 10,
    env: dict[str, str] | None = None,
) -> str:
    arn: str = lam.create_function(
        FunctionName=name,
        Runtime=runtime,
        Role=ROLE_ARN,
        Handler=handler,
        Code={"ZipFile": zip_of(*files)},
        Timeout=timeout,
        Environment={"Variables": env or {}},
    )["FunctionArn"]
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1})
    return arn


def create_stream_table(ddb: Any, name: str, stream: bool = True) -> str | None:
    args: dict[str, Any] = {
        "TableName": name,
        "KeySchema": [{"AttributeName": "PK", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "PK", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
    }
    if stream:
        args["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    table: dict[str, Any] = ddb.create_table(**args)["TableDescription"]
    return table.get("LatestStreamArn")


def scan_all(ddb: Any, table: str) -> dict[str, dict[str, Any]]:
    items: dict[str, dict[str, Any]] = {}
    for page in ddb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        for item in page["Items"]:
            items[item["PK"]["S"]] = item
    return items
