"""End to end on moto: real stream records in, replica items out, compared with the source byte for byte."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "lambda_src"))
sys.path.insert(0, str(Path(__file__).parent))

import ddbreplica_lambda as replica
import lab_config
from replica_targets import ReplicaTarget
from stream_events import (
    REPLICA,
    FakeContext,
    KeySchema,
    LambdaRecord,
    SourceTable,
    create_table,
    dynamodb,
    failures,
    lambda_event,
    moto_aws,
    scan,
    sequence_numbers,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

EVERY_TYPE = {
    "PK": {"S": "every-type"},
    "s": {"S": "héllo ✓ \t\n 𝄞"},
    "s_empty": {"S": ""},
    "n_int": {"N": "42"},
    "n_negative": {"N": "-17"},
    "n_zero": {"N": "0"},
    "n_38_digits": {"N": "1.2345678901234567890123456789012345678"},
    "n_38_digit_int": {"N": "12345678901234567890123456789012345678"},
    "n_exponent": {"N": "1.5E+10"},
    "n_huge": {"N": "9.9999999999999999999999999999999999999E+125"},
    "n_huge_negative": {"N": "-9.9999999999999999999999999999999999999E+125"},
    "n_tiny": {"N": "1E-130"},
    "n_tiny_negative": {"N": "-1E-130"},
    "n_fraction": {"N": "0.1"},
    "b": {"B": bytes(range(256))},
    "b_empty": {"B": b""},
    "b_not_utf8": {"B": b"\xff\xfe\x00"},
    "ss": {"SS": ["a", "b", "ü"]},
    "ns": {"NS": ["1", "-2.5", "1E+100", "12345678901234567890123456789012345678"]},
    "bs": {"BS": [b"\x00", b"\xff\xfe", b"plain"]},
    "m": {
        "M": {
            "nested": {"M": {"b": {"B": b"\x01\x02"}, "bs": {"BS": [b"\x03"]}, "n": {"N": "1E-130"}}},
            "l": {"L": [{"B": b"\x04"}, {"NULL": True}, {"M": {"deep": {"B": b""}}}]},
        }
    },
    "l": {"L": [{"S": "x"}, {"N": "3.14"}, {"BOOL": False}, {"L": [{"BS": [b"\x05"]}]}, {"SS": ["y"]}]},
    "m_empty": {"M": {}},
    "l_empty": {"L": []},
    "null": {"NULL": True},
    "bool_true": {"BOOL": True},
    "bool_false": {"BOOL": False},
}


@pytest.fixture
def aws() -> Iterator[None]:
    with moto_aws():
        create_table(REPLICA)
        yield


def run(records: list[LambdaRecord], context: FakeContext | None = None) -> replica.BatchResponse:
    """One invocation of the handler core on these records, writing to REPLICA through a plain client."""
    context = context or FakeContext()
    target = replica.Target(dynamodb(), REPLICA, context, sleep=context.sleep)
    return replica.replicate(lambda_event(records), target)


def item(number: int, /, **attributes: dict[str, Any]) -> dict[str, Any]:
    return {"PK": {"S": f"request#{number}"}, **attributes}


def count_write_calls(client: DynamoDBClient) -> list[tuple[str, int]]:
    """(operation, number of writes) per call on this client, recorded from botocore's events."""
    calls: list[tuple[str, int]] = []

    def record(event_name: str, params: dict[str, Any], **_: Any) -> None:
        writes = [w for table in params.get("RequestItems", {}).values() for w in table]
        calls.append((event_name.rsplit(".", 1)[1], len(writes) or 1))

    client.meta.events.register("provide-client-params.dynamodb", record)
    return calls


# --- type fidelity -----------------------------------------------------------------------------------


@pytest.mark.usefixtures("aws")
def test_every_type_lands_byte_identical() -> None:
    # GIVEN an item with every DynamoDB type, edge values included, inserted then modified
    source = SourceTable.create()
    source.put(EVERY_TYPE, EVERY_TYPE | {"modified": {"BOOL": True}}, EVERY_TYPE)
    # WHEN
    response = run(source.records())
    # THEN
    assert response == failures()
    assert scan(REPLICA) == source.items() == [EVERY_TYPE]


def test_binary_and_number_keys_land_and_delete() -> None:
    with moto_aws():
        # GIVEN tables keyed by a binary hash key and a number range key
        keys: KeySchema = (("id", "B"), ("at", "N"))
        source = SourceTable.create(keys=keys)
        create_table(REPLICA, keys=keys)
        first = {"id": {"B": b"\x00\x01"}, "at": {"N": "1E-130"}, "v": {"B": b"\xff"}}
        second = {"id": {"B": b"\xfe"}, "at": {"N": "12345678901234567890123456789012345678"}}
        third = {"id": {"B": b"\x00\x01"}, "at": {"N": "2"}}
        source.put(first, second, third)
        source.delete({"id": first["id"], "at": first["at"]})
        # WHEN
        response = run(source.records())
        # THEN
        assert response == failures()
        assert scan(REPLICA) == source.items()
        assert len(scan(REPLICA)) == 2


@pytest.mark.usefixtures("aws")
def test_items_of_400_kb_land_whole() -> None:
    # GIVEN three items just under DynamoDB's 400 KB limit, text and binary
    source = SourceTable.create()
    big = [item(n, text={"S": "x" * 200_000}, blob={"B": bytes([n]) * 190_000}) for n in range(3)]
    source.put(*big)
    # WHEN
    response = run(source.records())
    # THEN
    assert response == failures()
    assert scan(REPLICA) == source.items() == sorted(big, key=lambda i: str(i["PK"]))


# --- order, replay, batching -------------------------------------------------------------------------


@pytest.mark.usefixtures("aws")
def test_changes_within_a_batch_apply_in_stream_order() -> None:
    # GIVEN a: put, modify, delete, put again; b: put then delete; c: delete then put
    source = SourceTable.create()
    a, b, c = item(1), item(2), item(3)
    source.put(a | {"v": {"N": "1"}}, a | {"v": {"N": "2"}}, b, c)
    source.delete(a)
    source.delete(b)
    source.delete(c)
    source.put(a | {"v": {"N": "3"}}, c | {"v": {"S": "back"}})
    # WHEN
    response = run(source.records())
    # THEN
    assert response == failures()
    assert scan(REPLICA) == source.items() == [a | {"v": {"N": "3"}}, c | {"v": {"S": "back"}}]


@pytest.mark.usefixtures("aws")
def test_replaying_the_batch_or_any_suffix_leaves_the_replica_unchanged() -> None:
    # GIVEN a batch already replicated
    source = SourceTable.create()
    source.put(item(1), item(2, v={"B": b"\x00"}), item(1, v={"N": "1.0"}))
    source.delete(item(2))
    source.put(item(3, v={"NS": ["1", "2"]}))
    records = source.records()
    assert run(records) == failures()
    replicated = scan(REPLICA)
    # WHEN every suffix is delivered again, the whole batch last
    for start in reversed(range(len(records))):
        assert run(records[start:]) == failures()
        # THEN
        assert scan(REPLICA) == replicated == source.items()


@pytest.mark.usefixtures("aws")
def test_a_batch_of_100_distinct_keys_takes_4_write_calls() -> None:
    # GIVEN 100 inserts of 100 keys
    source = SourceTable.create()
    source.put(*(item(n, n={"N": str(n)}) for n in range(100)))
    records = source.records()
    client = dynamodb()
    calls = count_write_calls(client)
    # WHEN
    target = replica.Target(client, REPLICA, FakeContext())
    response = replica.replicate(lambda_event(records), target)
    # THEN
    assert response == failures()
    assert calls == [("BatchWriteItem", 25)] * 4
    assert scan(REPLICA) == source.items()


@pytest.mark.usefixtures("aws")
def test_many_records_of_few_keys_take_one_request_with_each_key_once() -> None:
    # GIVEN 60 records over 6 keys
    source = SourceTable.create()
    for round_ in range(10):
        source.put(*(item(n, round={"N": str(round_)}) for n in range(6)))
    client = dynamodb()
    calls = count_write_calls(client)
    # WHEN
    target = replica.Target(client, REPLICA, FakeContext())
    response = replica.replicate(lambda_event(source.records()), target)
    # THEN
    assert response == failures()
    assert calls == [("BatchWriteItem", 6)]
    assert scan(REPLICA) == source.items()


# --- records that cannot be replicated ---------------------------------------------------------------


@pytest.mark.usefixtures("aws")
def test_a_malformed_record_is_reported_while_the_others_land() -> None:
    # GIVEN a real insert, and the only hand-typed record of these tests: malformed on purpose
    source = SourceTable.create()
    source.put(item(1, v={"B": b"\x00"}))
    malformed: LambdaRecord = {"eventName": "INSERT", "dynamodb": {"SequenceNumber": "7", "Keys": "PK=a"}}
    # WHEN
    response = run([malformed, *source.records()])
    # THEN
    assert response == failures("7")
    assert scan(REPLICA) == source.items()


@pytest.mark.parametrize("view_type", ["KEYS_ONLY", "OLD_IMAGE"])
def test_a_stream_without_new_images_fails_the_invocation_and_writes_nothing(
    view_type: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with moto_aws():
        # GIVEN a source stream of the wrong view type
        create_table(REPLICA)
        source = SourceTable.create(view_type=view_type)
        source.put(item(1), item(2))
        source.delete(item(1))
        # WHEN / THEN
        with pytest.raises(replica.StreamViewTypeError, match="NEW_IMAGE or NEW_AND_OLD_IMAGES"):
            replica.lambda_handler(lambda_event(source.records()), FakeContext())
        assert scan(REPLICA) == []
    replica.replica_client.cache_clear()
    line = json.loads(capsys.readouterr().out)
    (error,) = line["errors"]
    assert error["error"].startswith("StreamViewTypeError: INSERT record ")
    assert f"stream view type is '{view_type}'" in error["error"]
    # nothing written, and every record of the batch counted failed (Lambda retries them all)
    assert (line["records"], line["failures"], line["write_calls"]) == (3, 3, 0)


# --- lambda_handler, settings, log line --------------------------------------------------------------


def test_lambda_handler_writes_to_the_configured_table_with_one_client(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with moto_aws():
        # GIVEN a replica table named by the environment, and a fresh container
        os.environ["REPLICA_TABLE"] = "custom_replica"
        create_table("custom_replica")
        source = SourceTable.create()
        source.put(item(1), item(2))
        source.delete(item(1))
        records = source.records()
        replica.replica_client.cache_clear()
        # WHEN two invocations
        first = replica.lambda_handler(lambda_event(records[:2]), FakeContext())
        second = replica.lambda_handler(lambda_event(records[2:]), FakeContext())
        # THEN
        assert first == second == failures()
        assert scan("custom_replica") == source.items() == [item(2)]
        assert replica.replica_client.cache_info().misses == 1
    replica.replica_client.cache_clear()
    # AND one JSON line per invocation
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line.pop("duration_ms") >= 0 for line in lines] == [True, True]
    assert [set(embedded_metrics(line.pop("_aws"), line)) for line in lines] == [{*COUNTS, "latency_ms"}] * 2
    assert [line.pop("latency_ms") >= 0 for line in lines] == [True, True]
    assert lines[0] == {
        "message": "replicate",
        "function": "local",
        "target": "custom_replica",
        "table": "custom_replica",
        "records": 2,
        "malformed": 0,
        "foreign": 0,
        "puts": 2,
        "deletes": 0,
        "write_calls": 1,
        "retries": 0,
        "failures": 0,
        "out_of_time": False,
        "target_error": None,
        "errors": [],
    }
    assert lines[1] == lines[0] | {"records": 1, "puts": 0, "deletes": 1}


def test_lambda_handler_writes_to_the_configured_region() -> None:
    with moto_aws():
        os.environ["REPLICA_REGION"] = "eu-west-1"
        create_table(REPLICA, region="eu-west-1")
        source = SourceTable.create()
        source.put(item(1))
        replica.replica_client.cache_clear()
        assert replica.lambda_handler(lambda_event(source.records()), FakeContext()) == failures()
        assert scan(REPLICA, region="eu-west-1") == [item(1)]
    replica.replica_client.cache_clear()


def test_records_from_another_tables_stream_are_failed_named_and_never_written(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with moto_aws():
        # GIVEN the function's source table, and a second table whose stream also reaches the function
        # (a second event source mapping: each batch comes from one of them)
        create_table(REPLICA)
        source, other = SourceTable.create(), SourceTable.create("other_table")
        source.put(item(1), item(3))
        other.put(item(2), item(4))
        source_arn = dynamodb().describe_table(TableName=source.name)["Table"]["TableArn"]
        os.environ.update(SOURCE_TABLE_ARN=source_arn, REPLICA_TABLE=REPLICA)
        replica.replica_client.cache_clear()
        # WHEN a batch of each stream is delivered
        from_source = replica.lambda_handler(lambda_event(source.records()), FakeContext())
        foreign = sequence_numbers(other.records())
        from_other = replica.lambda_handler(lambda_event(other.records()), FakeContext())
        # THEN the other table's records are all failed, and only the source's items reach the replica
        assert from_source == failures()
        assert from_other == failures(*foreign)
        assert scan(REPLICA) == source.items() == [item(1), item(3)]
    replica.replica_client.cache_clear()
    # AND the log line counts them and names both streams
    first, second = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert (first["foreign"], first["puts"], first["failures"]) == (0, 2, 0)
    assert (second["foreign"], second["malformed"], second["puts"], second["write_calls"]) == (2, 0, 0, 0)
    assert [error["sequence"] for error in second["errors"]] == foreign
    assert other.stream_arn in second["errors"][0]["error"] and source_arn in second["errors"][0]["error"]


def test_the_log_line_counts_what_failed_and_why(capsys: pytest.CaptureFixture[str]) -> None:
    with moto_aws():
        # GIVEN a replica whose index refuses an empty string, and a record damaged in transit
        create_table(REPLICA, index_key=("host", "S"))
        source = SourceTable.create()
        source.put(item(1, host={"S": "h"}), item(2, host={"S": ""}))
        good, poison = source.records()
        good["dynamodb"]["NewImage"]["PK"] = {"B": "not base64!"}
        # WHEN
        response = run([good, poison])
    # THEN
    assert response == failures(*sequence_numbers([good, poison]))
    line = json.loads(capsys.readouterr().out)
    assert line["errors"][0] == {
        "sequence": good["dynamodb"]["SequenceNumber"],
        "error": "binary value is not base64 text: 'not base64!'",
    }
    assert line["errors"][1]["sequence"] == poison["dynamodb"]["SequenceNumber"]
    assert "ValidationException" in line["errors"][1]["error"]
    del line["errors"], line["duration_ms"]
    assert embedded_metrics(line.pop("_aws"), line) == {name: line[name] for name in COUNTS}  # nothing landed
    assert line == {
        "message": "replicate",
        "function": "local",
        "target": REPLICA,
        "table": REPLICA,
        "records": 2,
        "malformed": 1,
        "foreign": 0,
        "puts": 1,
        "deletes": 0,
        "write_calls": 2,
        "retries": 0,
        "failures": 2,
        "latency_ms": None,
        "out_of_time": False,
        "target_error": None,
    }


COUNTS = ("records", "puts", "deletes", "failures", "retries")


def embedded_metrics(directive: Any, line: dict[str, Any]) -> dict[str, float]:
    """The metrics CloudWatch would extract from a log line with this ``_aws`` directive, checked against the
    Embedded Metric Format's rules: a millisecond timestamp; per directive a namespace, dimension sets that
    name string members of the line (at most 30 each), and metrics (at most 100) that name numeric members."""
    assert isinstance(directive["Timestamp"], int) and directive["Timestamp"] > 1_600_000_000_000
    found: dict[str, float] = {}
    for declared in directive["CloudWatchMetrics"]:
        assert isinstance(declared["Namespace"], str) and 0 < len(declared["Namespace"]) <= 255
        for dimensions in declared["Dimensions"]:
            assert 0 < len(dimensions) <= 30
            assert all(isinstance(line[name], str) and line[name] for name in dimensions), dimensions
        assert len(declared["Metrics"]) <= 100
        for metric in declared["Metrics"]:
            value = line[metric["Name"]]
            assert isinstance(value, int | float) and not isinstance(value, bool), metric
            assert metric["Unit"] in ("Count", "Milliseconds")
            found[metric["Name"]] = value
    return found


def test_the_log_line_carries_metrics_per_function_and_target_with_the_replication_latency(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "ddbreplica_lambda")
    monkeypatch.setenv("METRICS_NAMESPACE", "Lab/Replication")
    with moto_aws():
        # GIVEN a put and a delete of one key, and a put of another, from the stream
        create_table(REPLICA)
        source = SourceTable.create()
        source.put(item(1), item(2))
        source.delete(item(1))
        records = source.records()
        # every record's key lands (item 1's put through its delete): the oldest record sets the latency
        oldest = min(record["dynamodb"]["ApproximateCreationDateTime"] for record in records)
        context = FakeContext()
        written = replica.Target(
            dynamodb(), REPLICA, context, sleep=context.sleep, clock=lambda: oldest + 2.5
        )
        missing = replica.Target(dynamodb(), "no_such_table", context, sleep=context.sleep)
        # WHEN they reach a replica, and a target whose table does not exist
        response = replica.replicate(lambda_event(records), written, missing)
    # THEN every record fails (the second target has none), and each target has its line
    assert response == failures(*sequence_numbers(records))
    first, second = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert first["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Lab/Replication"
    assert first["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["function", "target"]]
    assert first["_aws"]["Timestamp"] == int((oldest + 2.5) * 1000)
    assert (first["function"], first["target"], second["target"]) == (
        "ddbreplica_lambda",
        REPLICA,
        "no_such_table",
    )
    # the written target: 3 records, 1 put, 1 delete, 2500 ms from the oldest landed record to the write
    assert embedded_metrics(first["_aws"], first) == {
        "records": 3,
        "puts": 1,
        "deletes": 1,
        "failures": 0,
        "retries": 0,
        "latency_ms": 2500.0,
    }
    # the missing one: its records failed, nothing landed, so no latency at all (not a zero)
    assert second["latency_ms"] is None
    assert embedded_metrics(second["_aws"], second) == {
        "records": 3,
        "puts": 1,
        "deletes": 1,
        "failures": 3,
        "retries": 0,
    }


def test_latency_counts_only_landed_records_that_carry_a_creation_time() -> None:
    def change(key: str, created: float | None) -> replica.Change:
        return replica.Change("1", "INSERT", {"PK": {"S": key}}, key, {"PK": {"S": key}}, created)

    changes = [change("a", 100.0), change("b", 90.0), change("c", None)]
    assert replica.latency_ms(changes, frozenset({"a", "b", "c"}), now=100.25) == 10250.0
    assert replica.latency_ms(changes, frozenset({"a", "c"}), now=100.25) == 250.0
    assert replica.latency_ms(changes, frozenset({"c"}), now=100.25) is None
    assert replica.latency_ms(changes, frozenset({"a"}), now=99.0) == 0.0  # clocks apart: never negative
    # a key changed twice: its first record counts, though the plan keeps only the second
    replaced = [change("a", 40.0), change("a", 99.0)]
    assert replica.latency_ms(replaced, frozenset({"a"}), now=100.0) == 60000.0
    assert replica.latency_ms([replica.Unparsed("2", "damaged"), *replaced], frozenset(), now=100.0) is None


def test_metrics_off_leaves_the_line_without_them_and_a_failed_batch_counts_every_record(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("METRICS_NAMESPACE", "")  # the module's metrics_namespace = null
    with moto_aws():
        create_table(REPLICA)
        source = SourceTable.create(view_type="KEYS_ONLY")  # no images: the whole batch fails
        source.put(item(1), item(2))
        with pytest.raises(replica.StreamViewTypeError):
            run(source.records())
    line = json.loads(capsys.readouterr().out)
    assert "_aws" not in line
    assert (line["records"], line["failures"]) == (2, 2)


SOURCE_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/logfile"
LAB_TARGET = ReplicaTarget("logfile_replica", "logfile_replica")


@pytest.mark.parametrize(
    "environ, settings",
    [
        ({}, lab_config.Settings((LAB_TARGET,))),
        ({"REPLICA_TABLE": "", "REPLICA_REGION": ""}, lab_config.Settings((LAB_TARGET,))),
        (
            {"REPLICA_TABLE": "t", "REPLICA_REGION": "eu-west-1"},
            lab_config.Settings((ReplicaTarget("t", "t", "eu-west-1"),)),
        ),
        ({"SOURCE_TABLE_ARN": SOURCE_ARN}, lab_config.Settings((LAB_TARGET,), SOURCE_ARN)),
        (
            {
                "REPLICA_TARGETS": '{"eu": {"table_name": "t", "region": "eu-west-1"}, '
                '"au": {"table_name": "t", "region": "ap-southeast-2", '
                '"role_arn": "arn:aws:iam::222222222222:role/writer", "external_id": "x"}}'
            },
            lab_config.Settings(
                (
                    ReplicaTarget("eu", "t", "eu-west-1"),
                    ReplicaTarget("au", "t", "ap-southeast-2", "arn:aws:iam::222222222222:role/writer", "x"),
                )
            ),
        ),
    ],
)
def test_settings_come_from_the_environment(environ: dict[str, str], settings: lab_config.Settings) -> None:
    assert lab_config.load(environ) == settings
