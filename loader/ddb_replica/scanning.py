"""Parallel Scan: segments, pages, and a whole table read into memory (for verify)."""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .items import Item, key_id, key_of
from .tables import TableInfo
from .writes import call_with_retries

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

ITEMS_PER_SEGMENT = 2_500  # default: a segment per this many items (a few seconds of writes each)
MAX_DEFAULT_SEGMENTS = 32
MAX_SEGMENTS = 1_000_000  # DynamoDB's limit on TotalSegments
MAX_DEFAULT_WORKERS = 8


def default_segments(info: TableInfo) -> int:
    """From the table's item count (DynamoDB's estimate): 1 for a small table, at most 32."""
    return min(MAX_DEFAULT_SEGMENTS, max(1, math.ceil(info.item_count / ITEMS_PER_SEGMENT)))


def default_workers(segments: int) -> int:
    return min(segments, MAX_DEFAULT_WORKERS)


@dataclass(frozen=True)
class Page:
    items: list[Item]
    last_key: Item | None  # None: the segment is done


def pages(
    client: DynamoDBClient,
    table: str,
    segment: int,
    total_segments: int,
    start_key: Item | None = None,
    *,
    consistent: bool = False,
    limit: int | None = None,
) -> Iterator[Page]:
    """The pages of one segment, from ``start_key`` (exclusive) on; ``limit`` items per page at most."""
    while True:
        request: dict[str, Any] = {"TableName": table, "ConsistentRead": consistent}
        if total_segments > 1:
            request |= {"Segment": segment, "TotalSegments": total_segments}
        if start_key is not None:
            request["ExclusiveStartKey"] = start_key
        if limit is not None:
            request["Limit"] = limit
        response: Any = call_with_retries(functools.partial(client.scan, **request))
        last = response.get("LastEvaluatedKey")
        yield Page(list(response.get("Items", [])), last)
        if last is None:
            return
        start_key = last


def read_table(
    client: DynamoDBClient,
    info: TableInfo,
    segments: int,
    workers: int,
    on_items: Callable[[int], object] = lambda count: None,
) -> dict[str, Item]:
    """Every item of the table by key id, read with strongly consistent parallel scans."""
    found: dict[str, Item] = {}
    lock = threading.Lock()

    def read_segment(segment: int) -> None:
        for page in pages(client, info.name, segment, segments, consistent=True):
            with lock:
                for item in page.items:
                    found[key_id(key_of(item, info.key_names))] = item
            on_items(len(page.items))

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"scan-{info.name}") as pool:
        for future in [pool.submit(read_segment, segment) for segment in range(segments)]:
            future.result()
    return found
