"""The checkpoints of a serverless backfill: one DynamoDB item per segment, in the module's checkpoint table.

A local backfill keeps its checkpoints in files (``backfill.Checkpoints``); the backfill function runs in
Lambda, whose disk does not outlive an invocation, so its segments' states live in a small table (the
module's ``backfill_checkpoint_table``), keyed by the run and the segment:

- ``run`` (S), ``segment`` (N) = -1: the run's manifest (the tables, the target, the copy mode, the write
  budget), written by ``ddb-replica backfill --serverless`` before the execution starts;
- ``run``, ``segment`` = 0..N-1: the segment's ``SegmentState`` as JSON, saved before each chunk (its keys
  pending) and after it, as the files are.

A segment is worked on by one invocation at a time: an invocation takes the segment's lease (its request id,
until its own timeout) and every save is conditional on still holding it. An invocation that a stopped
execution left running keeps the lease until it returns or times out; a resumed execution's invocation
meanwhile gets ``SegmentBusyError`` and tries again later (the state machine's retrier), instead of working
on the same segment's checkpoint from another position.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from .backfill import SegmentState
from .tables import OpsError
from .writes import call_with_retries

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

MANIFEST_SEGMENT = -1
STORE_VERSION = 1
# DynamoDB holds 400 KB per item: a segment's state (its pending, unresolved and refused keys) must fit.
MAX_STATE_BYTES = 350 * 1024


class SegmentBusyError(RuntimeError):
    """Another invocation holds the segment's lease (an execution stopped while it ran); try again later."""


class LeaseLostError(RuntimeError):
    """The segment's lease passed to another invocation: this one stops without saving."""


@dataclass
class TableCheckpoints:
    """The checkpoints of run ``run`` in ``table``; ``owner`` is the invocation holding a segment's lease
    (None in the CLI, which reads and starts runs but never works on a segment)."""

    client: DynamoDBClient
    table: str
    run: str
    owner: str | None = None
    clock: Callable[[], float] = time.time
    lease_until_ms: int = 0  # the end of the lease taken by acquire()

    # -- the run (CLI) ----------------------------------------------------------------------------------

    def start(self, manifest: dict[str, Any], total_segments: int) -> list[SegmentState]:
        """Write a new run's manifest and its segments' first states; the run id must be new."""
        document = {"version": STORE_VERSION, **manifest, "total_segments": total_segments}
        try:
            self._call(
                self.client.put_item,
                TableName=self.table,
                Item=self._row(MANIFEST_SEGMENT, document),
                ConditionExpression="attribute_not_exists(#r)",
                ExpressionAttributeNames={"#r": "run"},
            )
        except ClientError as error:
            if _code(error) == "ConditionalCheckFailedException":
                raise OpsError(f"{self.table}: run {self.run} exists already; start another run id") from None
            raise
        states = [SegmentState(segment, total_segments) for segment in range(total_segments)]
        for state in states:
            self._call(self.client.put_item, TableName=self.table, Item=self._state_row(state))
        return states

    def manifest(self) -> dict[str, Any]:
        """The run's manifest; an error naming the table when there is none."""
        item = self._get(MANIFEST_SEGMENT)
        if item is None:
            raise OpsError(
                f"{self.table}: no backfill run {self.run!r} (start one with ddb-replica backfill "
                "--serverless)"
            )
        return _document(item)

    def fill_missing(self, total_segments: int) -> None:
        """Create the first state of each segment a start that was interrupted left without one."""
        present = {state.segment for state in self.states()}
        for segment in range(total_segments):
            if segment in present:
                continue
            try:
                self._call(
                    self.client.put_item,
                    TableName=self.table,
                    Item=self._state_row(SegmentState(segment, total_segments)),
                    ConditionExpression="attribute_not_exists(#r)",
                    ExpressionAttributeNames={"#r": "run"},
                )
            except ClientError as error:
                if _code(error) != "ConditionalCheckFailedException":  # written meanwhile: keep it
                    raise

    def update_manifest(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Change settings of the run (a resume's --max-wcu, --page-size, --max-refused); the next invocation
        of each segment reads them. The manifest as it is now."""
        document = self.manifest() | changes
        self._call(
            self.client.update_item,
            TableName=self.table,
            Key=self._key(MANIFEST_SEGMENT),
            UpdateExpression="SET #d = :d",
            ExpressionAttributeNames={"#d": "document"},
            ExpressionAttributeValues={":d": {"S": json.dumps(document, separators=(",", ":"))}},
        )
        return document

    def hand_over(self, execution: str | None) -> None:
        """Name the execution that may work on the run (None: none, the run is stopped). The invocations of
        any other execution stop at their next chunk and give their segments up."""
        update = (
            {"UpdateExpression": "SET #e = :e", "ExpressionAttributeValues": {":e": {"S": execution}}}
            if execution is not None
            else {"UpdateExpression": "REMOVE #e"}
        )
        self._call(
            self.client.update_item,
            TableName=self.table,
            Key=self._key(MANIFEST_SEGMENT),
            ExpressionAttributeNames={"#e": "execution"},
            **update,
        )

    def current_execution(self) -> str | None:
        """The execution that may work on the run, if any."""
        response: Any = self._call(
            self.client.get_item,
            TableName=self.table,
            Key=self._key(MANIFEST_SEGMENT),
            ConsistentRead=True,
            ProjectionExpression="#e",
            ExpressionAttributeNames={"#e": "execution"},
        )
        value = (response.get("Item") or {}).get("execution")
        return str(value["S"]) if value else None

    def states(self) -> list[SegmentState]:
        """Every segment's latest state (strongly consistent), in segment order."""
        rows: list[Any] = []
        request: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "#r = :r AND #s >= :first",
            "ExpressionAttributeNames": {"#r": "run", "#s": "segment"},
            "ExpressionAttributeValues": {":r": {"S": self.run}, ":first": {"N": "0"}},
            "ConsistentRead": True,
        }
        while True:
            response: Any = self._call(self.client.query, **request)
            rows.extend(response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                break
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return [SegmentState(**_document(row)) for row in rows]

    # -- one segment (the backfill function) -------------------------------------------------------------

    def acquire(self, segment: int, until_ms: int) -> SegmentState:
        """Take segment ``segment``'s lease until ``until_ms`` (epoch ms: this invocation's timeout) and
        return its state. SegmentBusyError while another invocation holds it."""
        now_ms = int(self.clock() * 1000)
        try:
            response: Any = self._call(
                self.client.update_item,
                TableName=self.table,
                Key=self._key(segment),
                UpdateExpression="SET #o = :me, #u = :until",
                ConditionExpression="attribute_exists(#d) AND "
                "(attribute_not_exists(#o) OR #o = :me OR #u < :now)",
                ExpressionAttributeNames={"#o": "owner", "#u": "lease_until", "#d": "document"},
                ExpressionAttributeValues={
                    ":me": {"S": self._owner()},
                    ":until": {"N": str(until_ms)},
                    ":now": {"N": str(now_ms)},
                },
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if _code(error) != "ConditionalCheckFailedException":
                raise
            held: Any = error.response.get("Item")
            if not held:
                raise OpsError(f"{self.table}: run {self.run!r} has no segment {segment}") from None
            until = int(held.get("lease_until", {}).get("N", "0"))
            raise SegmentBusyError(
                f"segment {segment} of run {self.run} is held by invocation {held['owner']['S']} for "
                f"{max(0, until - now_ms) / 1000:.0f} s more (an execution stopped while it ran)"
            ) from None
        self.lease_until_ms = until_ms
        return SegmentState(**_document(response["Attributes"]))

    def save(self, state: SegmentState) -> None:
        """Save the segment's state while this invocation holds its lease (LeaseLostError otherwise)."""
        size = len(json.dumps(asdict(state), separators=(",", ":")))
        if size > MAX_STATE_BYTES:
            raise OpsError(
                f"segment {state.segment} of run {self.run}: its checkpoint would be {size // 1024} KB, over "
                f"what a DynamoDB item holds ({len(state.unresolved)} unresolved and {len(state.refused)} "
                "refused keys): fix what the replica refuses (verify --repair names the keys), then start a "
                "new run; a lower --max-refused stops the next one sooner"
            )
        try:
            self._call(
                self.client.put_item,
                TableName=self.table,
                Item=self._state_row(state, lease=True),
                ConditionExpression="#o = :me",
                ExpressionAttributeNames={"#o": "owner"},
                ExpressionAttributeValues={":me": {"S": self._owner()}},
            )
        except ClientError as error:
            if _code(error) == "ConditionalCheckFailedException":
                raise LeaseLostError(
                    f"segment {state.segment} of run {self.run}: another invocation took the lease"
                ) from None
            raise

    def let_go(self, segment: int) -> None:
        """Give the lease up without saving (after a failure: the last save is a safe checkpoint, with the
        keys of a chunk in progress pending)."""
        self._call(
            self.client.update_item,
            TableName=self.table,
            Key=self._key(segment),
            UpdateExpression="REMOVE #o, #u",
            ConditionExpression="#o = :me",
            ExpressionAttributeNames={"#o": "owner", "#u": "lease_until"},
            ExpressionAttributeValues={":me": {"S": self._owner()}},
        )

    def release(self, state: SegmentState) -> None:
        """Save the state and give the lease up: the next invocation of the segment starts at once."""
        self.save(state)
        self.let_go(state.segment)

    # -- rows ---------------------------------------------------------------------------------------------

    def _owner(self) -> str:
        if self.owner is None:
            raise RuntimeError("TableCheckpoints.owner is needed to work on a segment")
        return self.owner

    def _key(self, segment: int) -> dict[str, Any]:
        return {"run": {"S": self.run}, "segment": {"N": str(segment)}}

    def _row(self, segment: int, document: dict[str, Any]) -> dict[str, Any]:
        return {
            **self._key(segment),
            "document": {"S": json.dumps(document, separators=(",", ":"))},
            "updated": {"N": str(int(self.clock()))},
        }

    def _state_row(self, state: SegmentState, lease: bool = False) -> dict[str, Any]:
        row = self._row(state.segment, asdict(state))
        if lease:  # a put replaces the item: the lease is written again with the state
            row["owner"] = {"S": self._owner()}
            row["lease_until"] = {"N": str(self.lease_until_ms)}
        return row

    def _get(self, segment: int) -> Any:
        response: Any = self._call(
            self.client.get_item, TableName=self.table, Key=self._key(segment), ConsistentRead=True
        )
        return response.get("Item")

    def _call(self, method: Callable[..., Any], **request: Any) -> Any:
        return call_with_retries(lambda: method(**request))


def _document(row: Any) -> dict[str, Any]:
    document = json.loads(row["document"]["S"])
    if not isinstance(document, dict):
        raise ValueError("checkpoint document is not a JSON object")
    return document


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))
