"""``backfill --serverless``: a run of the module's state machine (backfill_mode = "serverless"), from here.

The CLI writes the run's manifest and its segments' first states to the checkpoint table, starts an
execution over the segments not done, and follows it: the bar counts the items the segments have scanned
(their checkpoints), the execution's end says which segments failed. Ctrl-C stops the execution;
``--resume`` starts a new one over the same run, whose invocations settle what a stopped one left pending
before they scan on.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from .backfill import SegmentState
from .segment_store import MANIFEST_SEGMENT, TableCheckpoints
from .tables import OpsError
from .writes import call_with_retries

POLL_SECONDS = 2.0
# An inline Map state keeps every event in the execution's history, which holds 25,000: about 4 per segment
# and 7 per invocation, with room for each segment's loops and retries.
MAX_SEGMENTS = 1_000
FINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")


class BackendError(Exception):
    """The state machine cannot run the backfill (missing, or not reachable): the run stops with exit 3."""


@dataclass(frozen=True)
class Backend:
    """The module's serverless backfill: where a run is started and where it keeps its checkpoints."""

    state_machine_arn: str
    checkpoint_table: str

    @property
    def region(self) -> str:
        return self.state_machine_arn.split(":")[
            3
        ]  # arn:<partition>:states:<region>:<account>:stateMachine:<n>


def backend_from(
    backfill_json: Path | None, state_machine_arn: str | None, checkpoint_table: str | None
) -> Backend:
    """From the module's ``backfill`` output (a file), or from the two flags."""
    if backfill_json is not None:
        if state_machine_arn or checkpoint_table:
            raise OpsError(
                "--backfill-json names the state machine and table; drop --state-machine-arn and "
                "--checkpoint-table"
            )
        try:
            document = json.loads(backfill_json.read_text())
        except OSError as error:
            raise OpsError(f"--backfill-json: cannot read {backfill_json}: {error.strerror}") from None
        except json.JSONDecodeError as error:
            raise OpsError(f"--backfill-json: {backfill_json} is not JSON ({error})") from None
        if isinstance(document, dict) and set(document) >= {"value", "type"}:
            document = document["value"]  # `terraform output -json backfill` wraps the value
        if not isinstance(document, dict) or not {"state_machine_arn", "checkpoint_table_name"} <= set(
            document
        ):
            raise OpsError(
                f"--backfill-json: {backfill_json} is not the module's backfill output (terraform output "
                '-json backfill; null unless backfill_mode = "serverless")'
            )
        state_machine_arn, checkpoint_table = document["state_machine_arn"], document["checkpoint_table_name"]
    if not state_machine_arn or not checkpoint_table:
        raise OpsError(
            "--serverless needs the module's state machine and checkpoint table: --backfill-json FILE "
            "(terraform output -json backfill > FILE), or --state-machine-arn and --checkpoint-table"
        )
    if not str(state_machine_arn).startswith("arn:") or ":stateMachine:" not in str(state_machine_arn):
        raise OpsError(
            f"{state_machine_arn!r} is not a state machine ARN "
            "(arn:aws:states:<region>:<account>:stateMachine:<name>)"
        )
    return Backend(str(state_machine_arn), str(checkpoint_table))


def new_run_id() -> str:
    return time.strftime("bf-%Y%m%dT%H%M%SZ-", time.gmtime()) + secrets.token_hex(3)


@dataclass
class Remote:
    """The state machine and the checkpoint table of one backend."""

    backend: Backend
    endpoint_url: str | None
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        session = boto3.session.Session(region_name=self.backend.region)
        config = Config(retries={"mode": "standard"})
        self.states = session.client("stepfunctions", endpoint_url=self.endpoint_url, config=config)
        self.ddb = session.client("dynamodb", endpoint_url=self.endpoint_url, config=config)

    def store(self, run: str) -> TableCheckpoints:
        return TableCheckpoints(self.ddb, self.backend.checkpoint_table, run)

    def check(self) -> None:
        """The state machine exists, and runs no execution (one run at a time per state machine)."""
        arn = self.backend.state_machine_arn
        try:
            call_with_retries(lambda: self.states.describe_state_machine(stateMachineArn=arn))
        except ClientError as error:
            if _code(error) in ("StateMachineDoesNotExist", "ResourceNotFoundException"):
                raise BackendError(
                    f'state machine {arn} does not exist: apply the module with backfill_mode = "serverless" '
                    "(or pass the backfill output of the stack you applied)"
                ) from None
            raise
        running = call_with_retries(
            lambda: self.states.list_executions(stateMachineArn=arn, statusFilter="RUNNING", maxResults=1)
        )["executions"]
        if running:
            raise OpsError(
                f"execution {running[0]['executionArn']} is running: wait for it, or stop it "
                "(aws stepfunctions stop-execution --execution-arn ...) and rerun with --resume"
            )

    def latest_run(self, source: str, target: str) -> str:
        """The newest run of this source and target (a Scan of the manifests: the table is small)."""
        manifests: list[dict[str, Any]] = []
        request: dict[str, Any] = {
            "TableName": self.backend.checkpoint_table,
            "FilterExpression": "#s = :m",
            "ExpressionAttributeNames": {"#s": "segment"},
            "ExpressionAttributeValues": {":m": {"N": str(MANIFEST_SEGMENT)}},
            "ConsistentRead": True,
        }
        while True:
            page: Any = call_with_retries(lambda: self.ddb.scan(**request))
            manifests.extend(
                {"run": row["run"]["S"], **json.loads(row["document"]["S"])} for row in page["Items"]
            )
            if "LastEvaluatedKey" not in page:
                break
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        ours = [m for m in manifests if (m.get("source"), m.get("target")) == (source, target)]
        if not ours:
            raise OpsError(
                f"nothing to resume: {self.backend.checkpoint_table} has no run of {source} -> {target} "
                "(run without --resume)"
            )
        return str(max(ours, key=lambda manifest: str(manifest.get("started", "")))["run"])

    def start(self, store: TableCheckpoints, segments: Sequence[int]) -> str:
        """Start an execution over ``segments`` of the store's run; it owns the run from now on (invocations
        of an earlier execution stop at their next chunk)."""
        name = f"{store.run}-{int(time.time())}-{secrets.token_hex(2)}"
        store.hand_over(name)
        document = json.dumps({"run": store.run, "segments": list(segments)})
        arn = self.backend.state_machine_arn
        response = call_with_retries(
            lambda: self.states.start_execution(stateMachineArn=arn, name=name, input=document)
        )
        return str(response["executionArn"])

    def watch(
        self, execution: str, store: TableCheckpoints, on_states: Callable[[list[SegmentState]], object]
    ) -> Any:
        """Follow the execution to its end, showing the segments' checkpoints; its last description."""
        while True:
            description: Any = call_with_retries(
                lambda: self.states.describe_execution(executionArn=execution)
            )
            on_states(store.states())
            if description["status"] in FINAL:
                return description
            self.sleep(POLL_SECONDS)

    def stop(self, execution: str | None, store: TableCheckpoints) -> None:
        """Stop the execution (if it was started); its invocations give their segments up at their next
        chunk."""
        store.hand_over(None)
        if execution is None:
            return
        call_with_retries(
            lambda: self.states.stop_execution(
                executionArn=execution, error="Interrupted", cause="ddb-replica backfill --serverless: Ctrl-C"
            )
        )


def segment_failures(description: Any) -> dict[int, str]:
    """The segments the execution reported failed (its output: one result per segment), with their errors."""
    try:
        results = json.loads(description.get("output") or "[]")
    except json.JSONDecodeError:
        return {}
    failed: dict[int, str] = {}
    for result in results if isinstance(results, list) else []:
        if isinstance(result, dict) and isinstance(result.get("error"), dict):
            error = result["error"]
            failed[int(result["segment"])] = f"{error.get('Error', 'error')}: {_cause(error.get('Cause'))}"
    return failed


def _cause(cause: object) -> str:
    """A Lambda error's Cause is its JSON payload: its message is enough."""
    try:
        payload = json.loads(str(cause))
    except json.JSONDecodeError:
        return str(cause)
    if isinstance(payload, dict) and "errorMessage" in payload:
        return str(payload["errorMessage"])
    return str(cause)


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))
