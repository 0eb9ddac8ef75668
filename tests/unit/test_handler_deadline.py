"""The handler returns before Lambda's deadline whatever the replica does, and reports every record it did
not write.

One fake clock carries everything that takes time: the replica's answers (from a few milliseconds to an
answer that trickles in for minutes, which urllib3's per-operation timeouts never stop), the client's
connect and read timeouts, botocore's own retry sleeps (its real client and retry code, with the handler's
configuration) and the handler's backoff. The handler's alarm rings on that clock wherever the handler is,
as SIGALRM does in Lambda. Each seed draws the invocation's time, the replica's behaviour (endless
throttling, HTTP 5xx, timeouts, unprocessed items, an item it refuses) and a batch of real stream records.
The last test runs the real alarm against a real socket that never finishes its answer.
"""

from __future__ import annotations

import contextlib
import json
import random
import socket
import sys
import threading
import time
import types
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import botocore.endpoint
import pytest
from botocore.awsrequest import AWSRequest, AWSResponse
from botocore.compat import HTTPHeaders
from botocore.exceptions import ConnectTimeoutError, ReadTimeoutError
from moto.core.botocore_stubber import MockRawResponse

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "lambda_src"))
sys.path.insert(0, str(Path(__file__).parent))

import ddbreplica_lambda as replica
from replica_targets import ReplicaTarget
from stream_events import REGION, REPLICA, FakeContext, LambdaRecord, SourceTable, lambda_event, moto_aws

SEEDS = range(200)
# An invocation's time: Lambda's default 3 s and other short timeouts, the lab's 60 s, and the 900 s maximum.
START_MS = ((2_600, 10_000), (10_000, 70_000), (890_000, 900_000))
# How often an attempt goes wrong: never (everything must land), sometimes, always (throttling never ends).
FAULT_RATES = (0.0, 0.3, 0.8, 1.0)
FAULTS = (
    "throttle",
    "internal",
    "unavailable",
    "gateway",
    "unprocessed",
    "slow",
    "read-timeout",
    "connect",
    "trickle",
)
JSON_HEADERS = {"Content-Type": "application/x-amz-json-1.0"}


@dataclass
class Replica:
    """DynamoDB's HTTP side of the replica table, answering each attempt on the clock."""

    clock: FakeContext
    rng: random.Random
    fault_rate: float
    connect_timeout: float
    read_timeout: float
    poison: str | None  # the PK of an item this replica refuses (ValidationException)
    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    attempts: int = 0

    def __call__(self, request: AWSRequest, **_: Any) -> Any:  # an AWSResponse, or it raises
        self.attempts += 1
        fault = self.rng.choice(FAULTS) if self.rng.random() < self.fault_rate else None
        if fault == "connect":
            self.clock.sleep(self.connect_timeout)
            raise ConnectTimeoutError(endpoint_url=request.url or "")
        batch, writes = self._writes(request)
        if fault == "read-timeout":  # sent, maybe applied, and no answer within the read timeout
            self.clock.sleep(self.rng.uniform(0, self.connect_timeout) + self.read_timeout)
            if self.rng.random() < 0.5:
                self._apply(writes)
            raise ReadTimeoutError(endpoint_url=request.url or "")
        if fault == "trickle":  # a byte now and then: no socket operation waits past the read timeout
            self.clock.sleep(self.rng.uniform(5, 300))
        # An answer comes within the timeouts: a slow one takes up to all of them
        longest = self.connect_timeout + self.read_timeout if fault == "slow" else 0.05
        self.clock.sleep(self.rng.uniform(0.001, longest))
        return self._answer(request, fault, batch, writes)

    def _writes(self, request: AWSRequest) -> tuple[bool, list[dict[str, Any]]]:
        """Whether the request is a BatchWriteItem, and its writes as BatchWriteItem requests."""
        body = json.loads(request.body or b"{}")
        if "RequestItems" in body:
            return True, [write for requests in body["RequestItems"].values() for write in requests]
        if "Key" in body:
            return False, [{"DeleteRequest": {"Key": body["Key"]}}]
        return False, [{"PutRequest": {"Item": body["Item"]}}]

    def _answer(
        self, request: AWSRequest, fault: str | None, batch: bool, writes: list[dict[str, Any]]
    ) -> AWSResponse:
        if fault == "throttle":
            return _error(request, 400, "ProvisionedThroughputExceededException")
        if fault == "internal":
            return _error(request, 500, "InternalServerError")
        if fault == "unavailable":
            return _response(request, 503, "")  # no body: botocore names the error after the status
        if fault == "gateway":
            return _response(request, 504, "<html>Gateway Timeout</html>")
        if self.poison is not None and any(_pk(write) == self.poison for write in writes):
            return _error(request, 400, "ValidationException")
        held = [write for write in writes if batch and fault == "unprocessed" and self.rng.random() < 0.5]
        self._apply([write for write in writes if write not in held])
        return _response(request, 200, json.dumps({"UnprocessedItems": {REPLICA: held} if held else {}}))

    def _apply(self, writes: list[dict[str, Any]]) -> None:
        for write in writes:
            if "PutRequest" in write:
                self.items[_pk(write)] = write["PutRequest"]["Item"]
            else:
                self.items.pop(_pk(write), None)


def _pk(write: dict[str, Any]) -> str:
    attributes = write["PutRequest"]["Item"] if "PutRequest" in write else write["DeleteRequest"]["Key"]
    return str(attributes["PK"]["S"])


def _error(request: AWSRequest, status: int, code: str) -> AWSResponse:
    body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": "injected"})
    return _response(request, status, body)


def _response(request: AWSRequest, status: int, body: str) -> AWSResponse:
    headers = HTTPHeaders.from_dict(JSON_HEADERS)
    return AWSResponse(request.url or "", status, headers, MockRawResponse(body))


@pytest.fixture(scope="module")
def histories() -> list[list[LambdaRecord]]:
    """Batches of real stream records: a few keys, and more keys than two BatchWriteItem requests hold."""
    rng = random.Random(0)
    batches = []
    with moto_aws():
        for number, (keys, changes) in enumerate([(3, 6), (20, 40), (60, 100)]):
            source = SourceTable.create(f"logfile_{number}")
            for change in range(changes):
                key = {"PK": {"S": f"key#{rng.randrange(keys)}"}}
                if rng.random() < 0.2:
                    source.delete(key)
                else:
                    source.put(key | {"change": {"N": str(change)}})
            batches.append(source.records())
    return batches


@pytest.fixture
def handler_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Credentials to sign with and no endpoint from the shell; the handler's clients made afresh."""
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    replica.replica_client.cache_clear()
    yield
    replica.replica_client.cache_clear()


@pytest.mark.usefixtures("handler_env")
@pytest.mark.parametrize("seed", SEEDS)
def test_the_handler_returns_before_its_deadline_and_reports_what_it_did_not_write(
    seed: int, histories: list[list[LambdaRecord]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN an invocation's time, a batch, and a replica that misbehaves as the seed says
    rng = random.Random(seed)
    random.seed(seed)  # the handler's and botocore's jitter
    low, high = rng.choice(START_MS)
    clock = FakeContext(rng.uniform(low, high))
    records = rng.choice(histories)
    poison = rng.choice([None, None, records[-1]["dynamodb"]["Keys"]["PK"]["S"]])
    fault_rate = rng.choice(FAULT_RATES)
    # the handler's own client and configuration
    client = replica.replica_client(ReplicaTarget(REPLICA, REPLICA, REGION))
    config: Any = client.meta.config  # the stubs do not declare the timeouts
    server = Replica(clock, rng, fault_rate, config.connect_timeout, config.read_timeout, poison)
    client.meta.events.register_first("before-send.dynamodb", server)
    monkeypatch.setattr(botocore.endpoint, "time", types.SimpleNamespace(sleep=clock.sleep))
    target = replica.Target(client, REPLICA, clock, sleep=clock.sleep, alarm=clock.alarm)
    # WHEN
    response = replica.replicate(lambda_event(records), target)
    # THEN it returned with the safety margin left for the report and its log line
    assert clock.remaining_ms >= replica.SAFETY_MARGIN_MS, f"{server.attempts} attempts"
    # AND every key none of whose records is reported failed is in the replica as its last change left it
    failed = {failure["itemIdentifier"] for failure in response["batchItemFailures"]}
    for pk, sequences in sequences_by_key(records).items():
        if not failed & sequences:
            assert server.items.get(pk) == last_image(records, pk), pk
    # AND with a replica that answers at once, all of it landed but the key the replica refuses
    if fault_rate == 0:
        assert failed == sequences_by_key(records).get(poison, set())


def sequences_by_key(records: list[LambdaRecord]) -> dict[str, set[str]]:
    by_key: dict[str, set[str]] = {}
    for record in records:
        by_key.setdefault(record["dynamodb"]["Keys"]["PK"]["S"], set()).add(
            record["dynamodb"]["SequenceNumber"]
        )
    return by_key


def last_image(records: list[LambdaRecord], pk: str) -> dict[str, Any] | None:
    """The item as the key's last record in the batch leaves it; None when that record is a REMOVE."""
    last = [record for record in records if record["dynamodb"]["Keys"]["PK"]["S"] == pk][-1]
    return None if last["eventName"] == "REMOVE" else dict(last["dynamodb"]["NewImage"])


# --- the real alarm ---------------------------------------------------------------------------------


@dataclass
class WallClock:
    """Lambda's context on the real clock."""

    deadline: float  # time.monotonic() at the timeout

    def get_remaining_time_in_millis(self) -> int:
        return int((self.deadline - time.monotonic()) * 1000)


@contextmanager
def trickling_endpoint() -> Iterator[str]:
    """An HTTP endpoint that starts its answer and then sends one byte every 0.2 s, for 8 s (a handler
    without an alarm then fails this test rather than hang it): no socket operation waits as long as the
    read timeout, so no timeout of the client ends the call."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    stop = threading.Event()

    def trickle(connection: socket.socket) -> None:
        with connection, contextlib.suppress(OSError):
            connection.sendall(b"HTTP/1.1 200 OK\r\nx-trickle: ")
            for _ in range(40):
                if stop.wait(0.2):
                    return
                connection.sendall(b"a")

    def serve() -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                connection, _ = listener.accept()
                threading.Thread(target=trickle, args=(connection,), daemon=True).start()

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        server.join()
        listener.close()


def test_the_alarm_ends_a_call_whose_answer_never_ends(
    histories: list[list[LambdaRecord]], capsys: pytest.CaptureFixture[str]
) -> None:
    # SIGALRM reaches the main thread only, where Lambda (and pytest, and its xdist workers) run the handler
    assert threading.current_thread() is threading.main_thread()
    records = histories[0]
    with trickling_endpoint() as url:
        client = boto3.client(
            "dynamodb",
            endpoint_url=url,
            region_name=REGION,
            config=replica.CLIENT_CONFIG,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        context = WallClock(time.monotonic() + 3.0)
        # WHEN the handler writes with its real alarm and sleep
        response = replica.replicate(lambda_event(records), replica.Target(client, REPLICA, context))
    # THEN it stopped at the safety margin (with room for a loaded machine) and failed every record
    assert context.get_remaining_time_in_millis() > replica.SAFETY_MARGIN_MS - 500
    assert {failure["itemIdentifier"] for failure in response["batchItemFailures"]} == {
        record["dynamodb"]["SequenceNumber"] for record in records
    }
    line = json.loads(capsys.readouterr().out)
    assert line["out_of_time"] is True and line["write_calls"] == 1
