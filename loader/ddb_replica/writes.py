"""Conditional writes to the replica, reads of both tables, retried like the Lambda handler retries.

Every write here is a compare-and-set against what was last seen in the replica, so a change the stream
delivers in the meantime always wins: a put where the replica has no item (the backfill's ``--copy item``),
and the settle's or a repair's writes, which apply only while the replica item is still the one that was
read. (The backfill's batched copy, copying.py, writes through the handler's write() instead.)
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError
from ddbreplica_lambda import backoff_delay, is_retryable

from .items import AttributeValue, Item, key_id, key_of, unchanged_condition, write_units

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

MAX_ATTEMPTS = 10  # our attempts per call, each after botocore's own (standard mode: 3)
MAX_BATCH_GET = 100  # BatchGetItem takes at most 100 keys


class UnprocessedKeysError(RuntimeError):
    """DynamoDB kept returning UnprocessedKeys (sustained throttling of reads)."""


class RateLimiter:
    """A token bucket of write capacity units per second, shared by every thread; None = unlimited.

    Hand-written: the standard library has none, and a dependency for fifteen lines is not worth it.
    """

    def __init__(
        self,
        units_per_second: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate = units_per_second
        self.clock = clock
        self.sleep = sleep
        self.tokens = units_per_second  # a one-second burst
        self.updated = clock()
        self.lock = threading.Lock()

    def acquire(self, units: float, wait: bool = True) -> None:
        """Take ``units``; sleep as long as the bucket is in debt (first come, first served). ``wait=False``
        takes them without sleeping: the debt delays the next caller that waits."""
        with self.lock:
            now = self.clock()
            self.tokens = min(self.rate, self.tokens + (now - self.updated) * self.rate) - units
            self.updated = now
            delay = -self.tokens / self.rate if self.tokens < 0 else 0.0
        if wait and delay > 0:
            self.sleep(delay)


def call_with_retries[T](call: Callable[[], T], sleep: Callable[[float], None] = time.sleep) -> T:
    """Run one AWS call; throttling and server errors are retried with the handler's backoff."""
    for attempt in range(MAX_ATTEMPTS):
        try:
            return call()
        except (ClientError, BotoCoreError) as error:
            if not is_retryable(error) or attempt == MAX_ATTEMPTS - 1:
                raise
        sleep(backoff_delay(attempt))
    raise AssertionError("unreachable")


@dataclass
class Tables:
    """Reads of both tables and conditional writes to the replica.

    ``client`` reaches the source; ``replica_client`` the replica when it lives in another region or
    account (default: ``client``).
    """

    client: DynamoDBClient
    source: str
    replica: str
    key_names: Sequence[str]
    limiter: RateLimiter | None = None
    sleep: Callable[[float], None] = time.sleep
    replica_client: DynamoDBClient | None = None

    @property
    def replica_side(self) -> DynamoDBClient:
        return self.replica_client or self.client

    # -- writes (replica only) --------------------------------------------------------------------------

    def put_if_absent(self, item: Item) -> bool:
        """Backfill one scanned item: only where the replica has none. False if it already had one."""
        return self.put_if_unchanged(item, expected=None)

    def put_if_unchanged(
        self, item: Item, expected: Mapping[str, AttributeValue] | None, wait: bool = True
    ) -> bool:
        """PutItem if the replica item is still ``expected`` (None: absent). False if it changed."""
        self.take_capacity(write_units(item), wait)
        changed = [name for name, value in (expected or {}).items() if item.get(name) != value]
        condition = unchanged_condition(expected, self.key_names, first=changed)
        return self._conditional(
            lambda: self.replica_side.put_item(TableName=self.replica, Item=item, **condition)
        )

    def delete_if_unchanged(self, expected: Item, wait: bool = True) -> bool:
        """DeleteItem if the replica item is still ``expected``. False if it changed (or is gone)."""
        self.take_capacity(write_units(expected), wait)
        condition = unchanged_condition(expected, self.key_names)
        key = key_of(expected, self.key_names)
        return self._conditional(
            lambda: self.replica_side.delete_item(TableName=self.replica, Key=key, **condition)
        )

    def take_capacity(self, units: float, wait: bool = True) -> None:
        """Wait for ``units`` write capacity units under --max-wcu (no wait without it, nor with ``wait``
        False: then the next caller that waits makes up for them)."""
        if self.limiter is not None:
            self.limiter.acquire(units, wait)

    def _conditional(self, call: Callable[[], object]) -> bool:
        try:
            call_with_retries(call, self.sleep)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    # -- reads (strongly consistent) ---------------------------------------------------------------------

    def source_items(self, keys: Sequence[Item]) -> dict[str, Item]:
        """The source items of ``keys`` that exist, by key id (strongly consistent)."""
        return self._get_many(self.client, self.source, keys)

    def replica_items(self, keys: Sequence[Item]) -> dict[str, Item]:
        """The replica items of ``keys`` that exist, by key id (strongly consistent)."""
        return self._get_many(self.replica_side, self.replica, keys)

    def _get_many(self, client: DynamoDBClient, table: str, keys: Sequence[Item]) -> dict[str, Item]:
        """BatchGetItem with strongly consistent reads: the items that exist, by key id."""
        found: dict[str, Item] = {}
        for chunk in _chunks(keys, MAX_BATCH_GET):
            pending: Any = {table: {"Keys": list(chunk), "ConsistentRead": True}}
            attempt = 0
            while pending:
                call = functools.partial(client.batch_get_item, RequestItems=pending)
                response: Any = call_with_retries(call, self.sleep)
                for item in response.get("Responses", {}).get(table, []):
                    found[key_id(key_of(item, self.key_names))] = item
                pending = response.get("UnprocessedKeys") or {}
                if pending:
                    if attempt == MAX_ATTEMPTS:
                        raise UnprocessedKeysError(
                            f"BatchGetItem on {table} left keys unprocessed {attempt} times"
                        )
                    self.sleep(backoff_delay(attempt))
                    attempt += 1
        return found


def _chunks[T](values: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
