"""``ddb-replica verify`` (and ``--repair``), the error messages of both commands, and the pure parts
(item comparison, key codec, write units, the rate limiter) on moto."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from botocore.exceptions import ClientError, NoCredentialsError, ReadTimeoutError

sys.path.insert(0, str(Path(__file__).parent))

from replica_ops_fixtures import Lab, key, make_lab, replica_equals_source, replica_item, seed, seeded_item
from stream_events import REPLICA, SOURCE, create_table, dynamodb, moto_aws

from loader.ddb_replica import items
from loader.ddb_replica.tables import Connection
from loader.ddb_replica.writes import RateLimiter, call_with_retries


@pytest.fixture
def lab(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Lab]:
    with moto_aws():
        yield make_lab(tmp_path / "state", capsys)


@pytest.fixture
def synced(lab: Lab) -> Lab:
    """150 items in both tables."""
    seed(SOURCE, 150)
    seed(REPLICA, 150)
    return lab


def test_identical_tables_verify_with_exit_0(synced: Lab) -> None:
    code, out, err = synced.verify()
    assert (code, err) == (0, "")
    assert "source 150 items, replica 150 items" in out
    assert "missing in replica: 0" in out and "extra in replica: 0" in out and "different: 0" in out
    assert out.rstrip().endswith("identical: yes")


def test_one_item_changed_by_hand_is_named_and_repaired(synced: Lab) -> None:
    edited = seeded_item(42) | {"text": {"S": "edited by hand"}}
    dynamodb().put_item(TableName=REPLICA, Item=edited)

    code, out, _ = synced.verify()
    assert code == 1
    assert "different: 1\n  PK=item#000042\n" in out and "identical: no" in out

    code, out, _ = synced.verify("--repair")
    assert code == 0 and "repaired: 1 put(s), 0 delete(s), unresolved 0" in out
    assert replica_item(42) == seeded_item(42)
    assert synced.verify()[0] == 0


def test_missing_extra_and_different_are_counted_and_listed_up_to_show(synced: Lab) -> None:
    client = dynamodb()
    for number in (3, 5, 8):
        client.delete_item(TableName=REPLICA, Key=key(number))
    client.put_item(TableName=REPLICA, Item=seeded_item(500))
    client.put_item(TableName=REPLICA, Item=seeded_item(9) | {"n": {"N": "-9"}})

    code, out, _ = synced.verify("--show", "2")
    assert code == 1
    assert "missing in replica: 3\n  PK=item#000003\n  PK=item#000005\n  ... and 1 more" in out
    assert "extra in replica: 1\n  PK=item#000500" in out
    assert "different: 1\n  PK=item#000009" in out

    code, out, _ = synced.verify("--json")
    document = json.loads(out)
    assert code == 1 and document["identical"] is False and document["differences"] == 5
    assert document["missing"]["count"] == 3
    assert document["extra"]["keys"] == [{"PK": {"S": "item#000500"}}]
    assert document["different"]["keys"] == [{"PK": {"S": "item#000009"}}]
    assert document["repaired"] is None

    code, out, _ = synced.verify("--repair", "--json")
    document = json.loads(out)
    assert code == 0 and document["identical"] is True
    assert document["repaired"] == {
        "puts": 4,
        "deletes": 1,
        "unresolved": {"count": 0, "keys": []},
        "refused": {"count": 0, "keys": []},  # keys the replica would not take, with its reasons
    }
    assert replica_equals_source()


def test_numbers_by_value_and_sets_in_any_order_are_equal(lab: Lab) -> None:
    dynamodb().put_item(
        TableName=SOURCE, Item={"PK": {"S": "a"}, "n": {"N": "1.50"}, "ss": {"SS": ["x", "y"]}}
    )
    dynamodb().put_item(
        TableName=REPLICA, Item={"PK": {"S": "a"}, "n": {"N": "1.5"}, "ss": {"SS": ["y", "x"]}}
    )
    assert lab.verify()[0] == 0


def test_binary_keys_are_compared_reported_and_repaired(lab: Lab) -> None:
    # One segment: moto 5.2.1 cannot split a table with a binary partition key into Scan segments.
    for table in ("bin_source", "bin_replica"):
        create_table(table, keys=(("id", "B"), ("n", "N")))
    dynamodb().put_item(TableName="bin_source", Item={"id": {"B": b"\xff\x00"}, "n": {"N": "1"}})
    code, out, _ = lab.run("verify", "--source", "bin_source", "--replica", "bin_replica")
    assert code == 1 and "missing in replica: 1\n  id=b64:/wA=, n=1\n" in out
    code, out, _ = lab.run(
        "verify", "--source", "bin_source", "--replica", "bin_replica", "--repair", "--json"
    )
    assert code == 0 and json.loads(out)["missing"]["keys"] == [{"id": {"B64": "/wA="}, "n": {"N": "1"}}]


# --- errors ------------------------------------------------------------------------------------------


def test_missing_table_is_one_line_naming_table_region_and_endpoint(lab: Lab) -> None:
    for command, extra in (("verify", ()), ("backfill", ("--state-dir", "unused"))):
        code, out, err = lab.run(command, "--source", SOURCE, "--replica", "nope", *extra)
        assert code == 2 and out == ""
        assert err == (
            "error: table nope not found in region us-east-1 at endpoint https://dynamodb.us-east-1.amazonaws.com\n"
        )


def test_key_schemas_must_match(lab: Lab) -> None:
    create_table("other_key", keys=(("PK", "S"), ("SK", "N")))
    code, _, err = lab.run("verify", "--source", SOURCE, "--replica", "other_key")
    assert code == 2
    assert "key schemas differ: source logfile has PK (S), replica other_key has PK (S), SK (N)" in err
    code, _, err = lab.run("verify", "--source", SOURCE, "--replica", SOURCE)
    assert code == 2 and "same table (logfile: arn:aws:dynamodb:us-east-1:123456789012:table/logfile)" in err


def test_missing_permission_names_the_action(lab: Lab) -> None:
    original = Connection.client

    def denying_client(self: Connection, threads: int, target: Any = None) -> Any:
        client = original(self, threads, target)

        def deny(**kwargs: Any) -> None:
            message = "User: arn:aws:iam::123456789012:user/ops is not authorized to perform: dynamodb:Scan"
            raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": message}}, "Scan")

        client.meta.events.register("before-call.dynamodb.Scan", deny)
        return client

    with mock.patch.object(Connection, "client", denying_client):
        code, _, err = lab.verify()
    assert code == 2
    assert err.startswith("error: missing permission dynamodb:Scan (AccessDeniedException: User: ")


def test_no_credentials_is_one_line(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    code, _, err = lab.verify()
    assert code == 2 and err.startswith("error: no usable AWS credentials")


# --- pure parts --------------------------------------------------------------------------------------


def test_key_codec_round_trips_every_key_type() -> None:
    key_item: dict[str, Any] = {"s": {"S": "ü"}, "n": {"N": "-1.5"}, "b": {"B": b"\x00\xff"}}
    encoded = items.encode_key(key_item)
    assert json.loads(json.dumps(encoded)) == encoded
    assert items.decode_key(encoded) == key_item
    assert items.key_text(key_item, ("b", "s")) == "b=b64:AP8=, s=ü"


def test_write_units_follow_item_size() -> None:
    assert items.write_units(seeded_item(1)) == 1
    assert items.write_units({"PK": {"S": "a"}, "blob": {"B": b"x" * 1010}}) == 1  # 1,017 bytes
    assert items.write_units({"PK": {"S": "a"}, "blob": {"B": b"x" * 1030}}) == 2
    assert items.write_units({"PK": {"S": "a"}, "l": {"L": [{"S": "x" * 1000}] * 3}}) == 3


def test_rate_limiter_spreads_units_over_time() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(10, clock=lambda: now[0], sleep=sleep)
    for _ in range(30):
        limiter.acquire(1)
    assert now[0] == pytest.approx(2.0)  # a 10-unit burst, then 20 units at 10 per second
    limiter.acquire(25)  # a large item waits for its share, not forever
    assert now[0] == pytest.approx(4.5)


def test_replica_calls_retry_timeouts_and_503_but_not_missing_credentials() -> None:
    outcomes: list[Exception | str] = [
        ReadTimeoutError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com/"),
        ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "503"}}, "PutItem"),
        "done",
    ]
    sleeps: list[float] = []

    def call() -> str:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    assert call_with_retries(call, sleeps.append) == "done"
    assert len(sleeps) == 2

    def no_credentials() -> str:
        raise NoCredentialsError()

    with pytest.raises(NoCredentialsError):
        call_with_retries(no_credentials, sleeps.append)
    assert len(sleeps) == 2
