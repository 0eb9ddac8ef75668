"""``ddb-replica redrive`` on moto: the on-failure record of a batch (built from the real stream records of a
moto table, as Lambda writes it) is replayed from the stream through the handler's write and settled, and the
message is deleted only once its keys have landed. Records past the stream's retention are simulated by a
stream client that refuses the sequence numbers before a horizon, as DynamoDB Streams does after 24 hours."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "lambda_src"))
sys.path.insert(0, str(Path(__file__).parent))

from stream_events import (
    REGION,
    REPLICA,
    SourceTable,
    client,
    create_table,
    function_with_mapping,
    get_records,
    lambda_record,
    moto_aws,
    scan,
)

from loader.ddb_replica import cli, deployment
from loader.ddb_replica import redrive as redrive_module
from loader.ddb_replica.settle import settle

QUEUE = "ddbreplica_lambda-dlq"
BUCKET = "ddbreplica-failures"
FUNCTION = "ddbreplica_lambda"


def item(pk: str, n: int, gsi: dict[str, str] | None = None) -> dict[str, Any]:
    return {"PK": {"S": pk}, "n": {"N": str(n)}, **({"GSI_1_PK": gsi} if gsi else {})}


@dataclass
class Failed:
    """A source with a stream, a replica, the on-failure queue, and the stream's records so far."""

    source: SourceTable
    queue_url: str

    def records(self) -> list[dict[str, Any]]:
        return [
            lambda_record(record, self.source.stream_arn) for record in get_records(self.source.stream_arn)
        ]

    def invocation_record(self, batch: Sequence[dict[str, Any]], payload: bool = False) -> str:
        """What Lambda sends the destination when it gives up on ``batch`` (records of the stream)."""
        streams = client("dynamodbstreams")
        shard = streams.describe_stream(StreamArn=self.source.stream_arn)["StreamDescription"]["Shards"][0]
        record: dict[str, Any] = {
            "requestContext": {
                "requestId": "c9b8fa9f-5a7f-4a52-9a2e-4c1d2b7e7a11",
                "functionArn": f"arn:aws:lambda:{REGION}:123456789012:function:ddbreplica_lambda",
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": 2,
            },
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": None},
            "version": "1.0",
            "timestamp": "2026-12-02T10:00:00.000Z",
            "DDBStreamBatchInfo": {
                "shardId": shard["ShardId"],
                "startSequenceNumber": batch[0]["dynamodb"]["SequenceNumber"],
                "endSequenceNumber": batch[-1]["dynamodb"]["SequenceNumber"],
                "approximateArrivalOfFirstRecord": "2026-12-02T09:59:58Z",
                "approximateArrivalOfLastRecord": "2026-12-02T09:59:59Z",
                "batchSize": len(batch),
                "streamArn": self.source.stream_arn,
            },
        }
        if payload:
            record["payload"] = {"Records": list(batch)}
        return json.dumps(record)

    def mapping(self, filters: Sequence[str] = ()) -> str:
        """The function's mapping on the stream (made after the records are read)."""
        return function_with_mapping(self.source.stream_arn, FUNCTION, filters)

    def fail(self, batch: Sequence[dict[str, Any]]) -> None:
        client("sqs").send_message(QueueUrl=self.queue_url, MessageBody=self.invocation_record(batch))

    def messages(self) -> list[dict[str, Any]]:
        """The queue's visible messages (received, then made visible again)."""
        sqs = client("sqs")
        found = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        messages: list[dict[str, Any]] = found.get("Messages", [])
        for message in messages:
            sqs.change_message_visibility(
                QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
        return messages

    def redrive(self, *extra: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
        capsys.readouterr()
        code = cli.main(["redrive", "--source", self.source.name, "--replica", REPLICA, *extra])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    def redrive_queue(self, *extra: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
        return self.redrive("--queue-url", self.queue_url, *extra, capsys=capsys)


@pytest.fixture
def failed() -> Iterator[Failed]:
    with moto_aws():
        source = SourceTable.create(index_key=None)
        create_table(REPLICA, index_key=("GSI_1_PK", "S"))
        queue = client("sqs").create_queue(QueueName=QUEUE)["QueueUrl"]
        yield Failed(source, queue)


def by_pk(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {entry["PK"]["S"]: entry for entry in items}


class Expired:
    """DynamoDB Streams after its 24 hours: the records before ``horizon`` are trimmed (an iterator at one
    of them is refused; TRIM_HORIZON starts at the horizon); ``gone``: the shard itself is gone."""

    def __init__(self, streams: Any, horizon: str | None, gone: bool = False) -> None:
        self.streams, self.horizon, self.gone = streams, horizon, gone

    def get_shard_iterator(self, **request: Any) -> Any:
        if self.gone:
            raise _error("ResourceNotFoundException", "Requested resource not found: Shard does not exist")
        kind = request["ShardIteratorType"]
        if kind == "AT_SEQUENCE_NUMBER" and (
            self.horizon is None or int(request["SequenceNumber"]) < int(self.horizon)
        ):
            raise _error("TrimmedDataAccessException", "the sequence number is beyond the trim horizon")
        if kind == "TRIM_HORIZON":
            if self.horizon is None:  # every record trimmed: an iterator with nothing to read
                request = {**request, "ShardIteratorType": "LATEST"}
            else:
                request = {
                    **request,
                    "ShardIteratorType": "AT_SEQUENCE_NUMBER",
                    "SequenceNumber": self.horizon,
                }
        return self.streams.get_shard_iterator(**request)

    def get_records(self, **request: Any) -> Any:
        return self.streams.get_records(**request)


def _error(code: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "GetShardIterator")


@pytest.fixture
def expire(monkeypatch: pytest.MonkeyPatch) -> Any:
    """expire(horizon, gone=False): the commands' stream client from now on behaves as Expired."""

    def apply(horizon: str | None, gone: bool = False) -> None:
        real = deployment.Clients.client

        def patched(self: deployment.Clients, service: str) -> Any:
            made = real(self, service)
            return Expired(made, horizon, gone) if service == "dynamodbstreams" else made

        monkeypatch.setattr(deployment.Clients, "client", patched)

    return apply


# --- the batch is still in the stream ----------------------------------------------------------------


def test_replays_exactly_the_records_of_the_batch_then_deletes_the_message(
    failed: Failed, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN five changes, and the batch of the middle three in the queue (the function gave up on it)
    failed.source.put(*(item(f"k{i}", i) for i in range(5)))
    records = failed.records()
    failed.fail(records[1:4])
    # WHEN
    code, out, err = failed.redrive_queue(capsys=capsys)
    # THEN exactly the batch's items are in the replica, and the message is gone
    assert code == 0, out + err
    assert sorted(by_pk(scan(REPLICA))) == ["k1", "k2", "k3"]
    assert by_pk(scan(REPLICA)) == {
        pk: v for pk, v in by_pk(scan(failed.source.name)).items() if pk in "k1k2k3"
    }
    assert failed.messages() == []
    assert "3 record(s) from the stream, 3 key(s); logfile_replica: 3 written, 0 corrected" in out
    assert out.splitlines()[1].endswith("; deleted")
    assert out.splitlines()[-1].startswith("redrive: 1 message(s): 1 redriven, 0 kept; 3 record(s), 3 key(s)")


def test_keys_changed_since_the_batch_end_in_their_current_state(
    failed: Failed, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a failed batch that put k1 (n=1) and k2; since then k1 became n=2 and k2 was deleted, and the
    # stream replicated those newer changes
    failed.source.put(item("k1", 1), item("k2", 1))
    batch = failed.records()
    failed.source.put(item("k1", 2))
    failed.source.delete({"PK": {"S": "k2"}})
    client("dynamodb").put_item(TableName=REPLICA, Item=item("k1", 2))
    failed.fail(batch)
    # WHEN the batch is replayed: its older images are written first
    code, out, err = failed.redrive_queue(capsys=capsys)
    # THEN the settle puts the newer state back: k1 n=2, no k2
    assert code == 0, out + err
    assert scan(REPLICA) == [item("k1", 2)]
    assert "2 written, 2 corrected by the settle; deleted" in out
    assert failed.messages() == []


def test_a_record_the_replica_still_refuses_keeps_the_message_until_the_cause_is_fixed(
    failed: Failed, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a batch with a poison item: an empty GSI_1_PK, which the replica's index refuses (the source has
    # no index)
    failed.source.put(item("ok", 1, {"S": "host"}), item("poison", 2, {"S": ""}))
    failed.fail(failed.records())
    # WHEN redriven before the cause is fixed
    code, out, err = failed.redrive_queue(capsys=capsys)
    # THEN the good item lands, the poison is named with the replica's reason, and the message stays
    assert code == 1
    assert by_pk(scan(REPLICA)) == {"ok": item("ok", 1, {"S": "host"})}
    assert "kept: logfile_replica: PK=poison refused by the replica: ValidationException" in err
    assert len(failed.messages()) == 1
    # WHEN the item is fixed at the source (the fix's own record is not delivered yet), and redriven again
    failed.source.put(item("poison", 3, {"S": "fixed"}))
    code, out, err = failed.redrive_queue(capsys=capsys)
    # THEN the replayed image is refused again, the settle writes the fixed item, and the message is gone
    assert code == 0, out + err
    assert by_pk(scan(REPLICA)) == by_pk(scan(failed.source.name))
    assert failed.messages() == []


def test_dry_run_changes_nothing_and_says_what_would_happen(
    failed: Failed, capsys: pytest.CaptureFixture[str]
) -> None:
    failed.source.put(item("k1", 1), item("k2", 2))
    failed.fail(failed.records())
    code, out, err = failed.redrive_queue("--dry-run", capsys=capsys)
    assert (code, err) == (0, "")
    assert "2 record(s) from the stream, 2 key(s); logfile_replica: 2 differ; would be deleted" in out
    assert scan(REPLICA) == [] and len(failed.messages()) == 1


def test_a_message_that_is_not_a_failed_batch_is_kept_and_named(
    failed: Failed, capsys: pytest.CaptureFixture[str]
) -> None:
    client("sqs").send_message(QueueUrl=failed.queue_url, MessageBody="not json")
    code, out, _ = failed.redrive_queue("--json", capsys=capsys)
    document = json.loads(out)
    assert code == 1 and document["kept"] == 1
    assert document["messages"][0]["kept_because"][0].endswith(
        "not JSON (Expecting value: line 1 column 1 (char 0))"
    )
    assert len(failed.messages()) == 1


# --- interrupted -------------------------------------------------------------------------------------


def test_an_interrupted_redrive_keeps_what_it_did_not_finish_and_a_rerun_completes(
    failed: Failed, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN two failed batches
    failed.source.put(*(item(f"k{i}", i) for i in range(4)))
    records = failed.records()
    failed.fail(records[:2])
    failed.fail(records[2:])
    # WHEN Ctrl-C comes during the second batch's settle (its records already written)
    real = settle
    calls: list[int] = []

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(redrive_module, "settle", interrupted)
    code, out, err = failed.redrive_queue(capsys=capsys)
    # THEN exit 130, the first message is deleted and the second is visible again at once
    assert code == 130, out + err
    assert "interrupted" in err
    assert len(failed.messages()) == 1
    # AND a rerun redrives it
    monkeypatch.setattr(redrive_module, "settle", real)
    code, out, err = failed.redrive_queue(capsys=capsys)
    assert code == 0, out + err
    assert failed.messages() == []
    assert by_pk(scan(REPLICA)) == by_pk(scan(failed.source.name))


def test_a_failing_target_stops_the_run_and_keeps_the_message(
    failed: Failed, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a failed batch, and a replica that is deleted after the run has checked it
    failed.source.put(item("k1", 1))
    failed.fail(failed.records())
    real = redrive_module.read_batch

    def then_delete(*args: Any) -> Any:
        client("dynamodb").delete_table(TableName=REPLICA)
        return real(*args)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(redrive_module, "read_batch", then_delete)
        code, out, err = failed.redrive_queue(capsys=capsys)
    assert code == 3, out + err
    assert "error: redrive failed" in err and "ResourceNotFoundException" in err
    assert len(failed.messages()) == 1


# --- the records have expired ------------------------------------------------------------------------


def test_expired_records_that_the_message_cannot_name_keep_it_with_the_verify_command(
    failed: Failed, capsys: pytest.CaptureFixture[str], expire: Any
) -> None:
    # GIVEN a failed batch whose records the stream no longer holds
    failed.source.put(item("k1", 1), item("k2", 2))
    failed.fail(failed.records())
    expire(None)
    # WHEN
    code, out, err = failed.redrive_queue(capsys=capsys)
    # THEN nothing is written, the message is kept, and the command to run is named
    assert code == 1
    assert scan(REPLICA) == []
    assert (
        "kept: its records are older than the stream keeps them (24 hours); the message names no key: run "
        in err
    )
    assert f"ddb-replica verify --source logfile --replica {REPLICA} --repair for the rest" in err
    assert len(failed.messages()) == 1
    # WHEN verify --repair has run, --delete-expired removes the message
    assert cli.main(["verify", "--source", "logfile", "--replica", REPLICA, "--repair", "--quiet"]) == 0
    code, out, err = failed.redrive_queue("--delete-expired", capsys=capsys)
    assert code == 0, out + err
    assert failed.messages() == []


def test_partly_expired_records_settle_the_keys_still_in_the_stream(
    failed: Failed, capsys: pytest.CaptureFixture[str], expire: Any
) -> None:
    # GIVEN a batch of three changes, the first already trimmed from the shard
    failed.source.put(item("k1", 1), item("k2", 2), item("k3", 3))
    records = failed.records()
    failed.fail(records)
    expire(records[1]["dynamodb"]["SequenceNumber"])
    code, _, err = failed.redrive_queue(capsys=capsys)
    # THEN the two keys still named are settled, and the message is kept for the rest
    assert code == 1
    assert sorted(by_pk(scan(REPLICA))) == ["k2", "k3"]
    assert "2 of its records are still in the stream (their keys are settled)" in err
    assert len(failed.messages()) == 1


def test_a_gone_shard_is_said_so(failed: Failed, capsys: pytest.CaptureFixture[str], expire: Any) -> None:
    failed.source.put(item("k1", 1))
    failed.fail(failed.records())
    expire(None, gone=True)
    code, _, err = failed.redrive_queue(capsys=capsys)
    assert code == 1
    assert "its stream or shard no longer exists" in err


def test_an_s3_record_names_its_keys_after_expiry_and_they_are_settled_to_the_current_state(
    failed: Failed, capsys: pytest.CaptureFixture[str], expire: Any
) -> None:
    # GIVEN an S3 on-failure destination holding a failed batch with its records (payload); the source
    # changed k1 since, and the stream no longer holds the batch
    failed.source.put(item("k1", 1), item("k2", 2))
    records = failed.records()
    failed.source.put(item("k1", 5))
    s3 = client("s3")
    s3.create_bucket(Bucket=BUCKET)
    key = "aws/lambda/{mapping}/shardId-1/2026/12/02/2026-12-02T10.00.00-abc"
    mapping = failed.mapping()
    key = key.format(mapping=mapping)
    s3.put_object(Bucket=BUCKET, Key=key, Body=failed.invocation_record(records, payload=True).encode())
    s3.put_object(Bucket=BUCKET, Key="aws/lambda/another-mapping/x", Body=b"{}")
    expire(None)
    # WHEN
    code, out, err = failed.redrive("--failure-bucket", BUCKET, "--mapping-uuid", mapping, capsys=capsys)
    # THEN the payload's keys are settled to the source's current state (its older images are not written)
    assert code == 0, out + err
    assert by_pk(scan(REPLICA)) == {"k1": item("k1", 5), "k2": item("k2", 2)}
    assert (
        "2 record(s) from the payload, 2 key(s); logfile_replica: 2 corrected by the settle; deleted" in out
    )
    # AND only this mapping's object is deleted
    listed = s3.list_objects_v2(Bucket=BUCKET)["Contents"]
    assert [entry["Key"] for entry in listed] == ["aws/lambda/another-mapping/x"]


# --- arguments ---------------------------------------------------------------------------------------


def test_without_a_destination_nothing_is_done(failed: Failed, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = failed.redrive(capsys=capsys)
    assert code == 2
    assert "no on-failure destination: give --queue-url (or --failure-bucket)" in err


def test_a_batch_of_another_tables_stream_is_kept(failed: Failed, capsys: pytest.CaptureFixture[str]) -> None:
    other = SourceTable.create("other")
    other.put(item("x", 1))
    body = Failed(other, failed.queue_url).invocation_record(
        [lambda_record(record, other.stream_arn) for record in get_records(other.stream_arn)]
    )
    client("sqs").send_message(QueueUrl=failed.queue_url, MessageBody=body)
    code, _, err = failed.redrive_queue(capsys=capsys)
    assert code == 1
    assert "not from a stream of arn:aws:dynamodb:us-east-1:123456789012:table/logfile" in err
    assert scan(REPLICA) == []


def test_a_mapping_with_filter_criteria_is_refused(
    failed: Failed, capsys: pytest.CaptureFixture[str]
) -> None:
    failed.source.put(item("k1", 1))
    failed.fail(failed.records())
    mapping = failed.mapping(filters=[json.dumps({"eventName": ["INSERT"]})])
    code, _, err = failed.redrive_queue("--mapping-uuid", mapping, capsys=capsys)
    assert code == 2
    assert f"mapping {mapping} has filter criteria" in err
    assert scan(REPLICA) == [] and len(failed.messages()) == 1


def test_a_keys_only_stream_is_refused_before_anything_is_read(capsys: pytest.CaptureFixture[str]) -> None:
    with moto_aws():
        SourceTable.create(view_type="KEYS_ONLY")
        create_table(REPLICA)
        queue = client("sqs").create_queue(QueueName=QUEUE)["QueueUrl"]
        code = cli.main(["redrive", "--source", "logfile", "--replica", REPLICA, "--queue-url", queue])
    assert code == 2
    assert "stream view type is KEYS_ONLY: redrive replays item images" in capsys.readouterr().err


def test_a_missing_queue_is_nothing_done(failed: Failed, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = failed.redrive("--queue-url", failed.queue_url + "-missing", capsys=capsys)
    assert code == 2
    assert "error: redrive failed" in err and "NonExistentQueue" in err


# --- more shapes of the same ---------------------------------------------------------------------------


def test_records_are_read_page_by_page_across_many_calls(
    failed: Failed, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a batch in the middle of the shard, read one record per GetRecords call
    failed.source.put(*(item(f"k{i}", i) for i in range(8)))
    records = failed.records()
    failed.fail(records[2:6])
    monkeypatch.setattr(redrive_module, "RECORDS_PER_CALL", 1)
    code, out, err = failed.redrive_queue(capsys=capsys)
    assert code == 0, out + err
    assert sorted(by_pk(scan(REPLICA))) == ["k2", "k3", "k4", "k5"]


def test_an_sns_notification_delivered_to_the_queue_is_unwrapped(
    failed: Failed, capsys: pytest.CaptureFixture[str]
) -> None:
    failed.source.put(item("k1", 1))
    body = failed.invocation_record(failed.records())
    notification = {
        "Type": "Notification",
        "MessageId": "m-1",
        "TopicArn": "arn:aws:sns:::t",
        "Message": body,
    }
    client("sqs").send_message(QueueUrl=failed.queue_url, MessageBody=json.dumps(notification))
    code, out, err = failed.redrive_queue(capsys=capsys)
    assert code == 0, out + err
    assert scan(REPLICA) == [item("k1", 1)] and failed.messages() == []


def test_every_target_is_written_and_settled_before_the_message_goes(
    failed: Failed, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # GIVEN two targets (the module's replica_targets output), the second one behind by a newer change
    create_table("logfile_copy")
    targets = tmp_path / "targets.json"
    targets.write_text(
        json.dumps(
            [
                {
                    "name": "main",
                    "table_name": REPLICA,
                    "region": None,
                    "role_arn": None,
                    "external_id": None,
                },
                {
                    "name": "copy",
                    "table_name": "logfile_copy",
                    "region": None,
                    "role_arn": None,
                    "external_id": None,
                },
            ]
        )
    )
    failed.source.put(item("k1", 1), item("k2", 2))
    batch = failed.records()
    failed.source.put(item("k2", 3))
    failed.fail(batch)
    # WHEN
    capsys.readouterr()
    code = cli.main(
        ["redrive", "--source", "logfile", "--targets-json", str(targets), "--queue-url", failed.queue_url]
    )
    out = capsys.readouterr().out
    # THEN both targets equal the source, each named in the report
    assert code == 0, out
    assert by_pk(scan(REPLICA)) == by_pk(scan("logfile_copy")) == by_pk(scan("logfile"))
    assert (
        "main: 2 written, 1 corrected by the settle; copy: 2 written, 1 corrected by the settle; deleted"
        in out
    )


def test_a_replay_stopped_before_its_settle_still_puts_the_newer_change_back(
    failed: Failed, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a failed batch with k1 n=1, where the replica already has the newer n=2
    failed.source.put(item("k1", 1))
    batch = failed.records()
    failed.source.put(item("k1", 2))
    client("dynamodb").put_item(TableName=REPLICA, Item=item("k1", 2))
    failed.fail(batch)
    # WHEN Ctrl-C comes right after the replay wrote n=1, as the settle begins
    calls: list[int] = []

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise KeyboardInterrupt
        return settle(*args, **kwargs)

    monkeypatch.setattr(redrive_module, "settle", interrupted)
    code, _, _ = failed.redrive_queue(capsys=capsys)
    # THEN the run stops, but the replica is not left with the older image; the message stays
    assert code == 130
    assert scan(REPLICA) == [item("k1", 2)]
    assert len(failed.messages()) == 1


def test_without_a_mapping_uuid_every_mapping_on_the_stream_is_checked_for_filters(
    failed: Failed, capsys: pytest.CaptureFixture[str]
) -> None:
    failed.source.put(item("k1", 1))
    failed.fail(failed.records())
    mapping = failed.mapping(filters=[json.dumps({"eventName": ["INSERT"]})])
    code, _, err = failed.redrive_queue(capsys=capsys)
    assert code == 2
    assert f"mapping {mapping} has filter criteria" in err


def test_a_message_that_cannot_be_released_is_named_and_the_exit_code_stands(
    failed: Failed, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a message that will be kept (its records expired long ago cannot be simulated here: unreadable)
    client("sqs").send_message(QueueUrl=failed.queue_url, MessageBody="{}")
    real = deployment.Clients.client

    def patched(self: deployment.Clients, service: str) -> Any:
        made = real(self, service)
        if service == "sqs":

            def refuse(**_: Any) -> Any:
                raise _error("AccessDenied", "not allowed to change the visibility")

            made.change_message_visibility_batch = refuse
        return made

    monkeypatch.setattr(deployment.Clients, "client", patched)
    code, _, err = failed.redrive_queue(capsys=capsys)
    # THEN the run's verdict (1: a message kept) stands, and the message left hidden is named
    assert code == 1
    assert "stays hidden until its visibility timeout ends" in err
