"""Throttling, UnprocessedItems, time running out, a record the replica refuses: what lands, what fails."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.awsrequest import AWSRequest, AWSResponse
from botocore.compat import HTTPHeaders
from botocore.exceptions import ClientError, ParamValidationError
from moto.core.botocore_stubber import MockRawResponse

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "lambda_src"))
sys.path.insert(0, str(Path(__file__).parent))

import ddbreplica_lambda as replica
from stream_events import (
    REGION,
    REPLICA,
    FakeContext,
    FaultyClient,
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

SHORT_ON_TIME_MS = replica.SAFETY_MARGIN_MS + 300  # enough for a few backoffs, not for ever


@pytest.fixture
def aws() -> Iterator[None]:
    with moto_aws():
        yield


def item(number: int, /, **attributes: dict[str, Any]) -> dict[str, Any]:
    return {"PK": {"S": f"request#{number}"}, **attributes}


def source_with(count: int) -> tuple[SourceTable, list[LambdaRecord]]:
    """A source table with `count` inserted keys, and their records; an empty replica table."""
    create_table(REPLICA)
    source = SourceTable.create()
    source.put(*(item(n) for n in range(count)))
    return source, source.records()


def run(
    records: list[LambdaRecord], client: DynamoDBClient | FaultyClient, context: FakeContext
) -> replica.BatchResponse:
    low_level = client.as_client() if isinstance(client, FaultyClient) else client
    target = replica.Target(low_level, REPLICA, context, sleep=context.sleep, alarm=context.alarm)
    return replica.replicate(lambda_event(records), target)


# --- retries that succeed ----------------------------------------------------------------------------


@pytest.mark.usefixtures("aws")
def test_a_throttled_batch_is_retried_with_backoff_until_it_lands() -> None:
    # GIVEN a replica that throttles twice
    source, records = source_with(3)
    faulty = FaultyClient(dynamodb(), ["throttle", "throttle"])
    context = FakeContext()
    # WHEN
    response = run(records, faulty, context)
    # THEN
    assert response == failures()
    assert faulty.calls == ["BatchWriteItem"] * 3
    assert scan(REPLICA) == source.items()
    # AND full jitter: each sleep between 0 and the doubling cap
    assert len(context.sleeps) == 2
    assert 0 <= context.sleeps[0] <= replica.BASE_DELAY_S
    assert 0 <= context.sleeps[1] <= 2 * replica.BASE_DELAY_S


@pytest.mark.usefixtures("aws")
def test_unprocessed_items_are_sent_again_until_they_land() -> None:
    # GIVEN a replica that twice leaves half of a request unprocessed
    source, records = source_with(4)
    faulty = FaultyClient(dynamodb(), ["unprocessed", "unprocessed"])
    # WHEN
    response = run(records, faulty, FakeContext())
    # THEN 4 requests, then the 2 held back, then the 1 held back again
    assert response == failures()
    assert faulty.calls == ["BatchWriteItem"] * 3
    assert scan(REPLICA) == source.items()


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize("fault", ["unavailable", "gateway", "conflict", "read-timeout", "connect-timeout"])
def test_transient_errors_are_retried_with_backoff_until_the_batch_lands(fault: str) -> None:
    # GIVEN a replica that answers HTTP 503 or an untyped 504, a transaction conflict, or does not answer in
    # time, twice
    source, records = source_with(3)
    faulty = FaultyClient(dynamodb(), [fault, fault])
    context = FakeContext()
    # WHEN
    response = run(records, faulty, context)
    # THEN
    assert response == failures()
    assert faulty.calls == ["BatchWriteItem"] * 3
    assert len(context.sleeps) == 2
    assert scan(REPLICA) == source.items()


@pytest.mark.usefixtures("aws")
def test_a_transient_error_that_never_ends_fails_the_records_within_the_deadline() -> None:
    _, records = source_with(3)
    faulty = FaultyClient(dynamodb(), then="read-timeout")
    context = FakeContext(SHORT_ON_TIME_MS)
    response = run(records, faulty, context)
    assert response == failures(*sequence_numbers(records))
    assert context.remaining_ms >= replica.SAFETY_MARGIN_MS


@pytest.mark.usefixtures("aws")
def test_an_answer_without_unprocessed_items_counts_nothing_as_written() -> None:
    # GIVEN a replica that answers the first request with an empty HTTP 200 and writes nothing
    source, records = source_with(3)
    faulty = FaultyClient(dynamodb(), ["empty-answer"])
    # WHEN
    response = run(records, faulty, FakeContext())
    # THEN the request is sent again, and lands
    assert response == failures()
    assert faulty.calls == ["BatchWriteItem"] * 2
    assert scan(REPLICA) == source.items()


@pytest.mark.usefixtures("aws")
def test_a_full_item_collection_fails_only_the_records_of_its_key() -> None:
    # GIVEN 3 keys; the request holding them is refused for a full item collection, as is key 0 alone
    source, records = source_with(3)
    faulty = FaultyClient(dynamodb(), ["collection-full", "collection-full"])
    # WHEN
    response = run(records, faulty, FakeContext())
    # THEN key 0 fails, keys 1 and 2 land one by one
    assert response == failures(records[0]["dynamodb"]["SequenceNumber"])
    assert faulty.calls == ["BatchWriteItem", "PutItem", "PutItem", "PutItem"]
    assert scan(REPLICA) == source.items()[1:]


@pytest.mark.usefixtures("aws")
def test_unprocessed_items_listed_under_the_table_arn_are_not_taken_as_written() -> None:
    # GIVEN a replica that leaves half of a request unprocessed and lists it under the table's ARN
    source, records = source_with(4)
    arn = dynamodb().describe_table(TableName=REPLICA)["Table"]["TableArn"]
    faulty = FaultyClient(dynamodb(), ["unprocessed"], unprocessed_under=arn)
    # WHEN
    response = run(records, faulty, FakeContext())
    # THEN the held-back half is sent again, and lands
    assert response == failures()
    assert faulty.calls == ["BatchWriteItem"] * 2
    assert scan(REPLICA) == source.items()


@pytest.mark.usefixtures("aws")
def test_the_handlers_client_makes_one_attempt_per_call_and_the_handler_retries_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # GIVEN the handler's own client configuration, and two throttling HTTP responses
    source, records = source_with(2)
    client = boto3.client("dynamodb", region_name=REGION, config=replica.CLIENT_CONFIG)
    attempts = throttle_http(client, times=2)
    context = FakeContext()
    # WHEN
    response = run(records, client, context)
    # THEN three calls of one HTTP attempt each, with the handler's backoff (on its clock) between them:
    # botocore's own retries would sleep inside one call, where the handler cannot see the deadline
    assert response == failures()
    assert attempts == [400, 400, 200]
    assert len(context.sleeps) == 2
    assert scan(REPLICA) == source.items()
    line = json.loads(capsys.readouterr().out)
    assert (line["write_calls"], line["retries"]) == (3, 2)


def throttle_http(client: DynamoDBClient, times: int) -> list[int]:
    """Answer the first `times` BatchWriteItem HTTP requests with a throttling error; moto the others."""
    statuses: list[int] = []
    body = json.dumps(
        {
            "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
            "message": "injected",
        }
    )

    def respond(request: AWSRequest, **_: Any) -> Any:
        if len(statuses) >= times:
            statuses.append(200)
            return None
        statuses.append(400)
        headers = HTTPHeaders.from_dict({"Content-Type": "application/x-amz-json-1.0"})
        return AWSResponse(request.url or "", 400, headers, MockRawResponse(body))

    client.meta.events.register_first("before-send.dynamodb.BatchWriteItem", respond)
    return statuses


# --- the clock runs out ------------------------------------------------------------------------------


@pytest.mark.usefixtures("aws")
def test_when_time_runs_out_the_records_that_did_not_land_are_failed() -> None:
    # GIVEN 30 keys, a replica that takes the first request and then throttles for ever
    _, records = source_with(30)
    faulty = FaultyClient(dynamodb(), ["ok"], then="throttle")
    context = FakeContext(SHORT_ON_TIME_MS)
    # WHEN
    response = run(records, faulty, context)
    # THEN the last 5 are failed, the first 25 landed, and the margin was kept
    assert response == failures(*sequence_numbers(records[25:]))
    assert scan(REPLICA) == [item(n) for n in sorted(range(25), key=lambda n: f"request#{n}")]
    assert context.remaining_ms > replica.SAFETY_MARGIN_MS
    assert len(context.sleeps) >= 1


@pytest.mark.usefixtures("aws")
def test_a_key_that_did_not_land_is_failed_with_all_its_records() -> None:
    # GIVEN key 0 changed first and last, 25 other keys in between; the second request never lands
    create_table(REPLICA)
    source = SourceTable.create()
    source.put(item(0, v={"N": "1"}), *(item(n) for n in range(1, 26)), item(0, v={"N": "2"}))
    records = source.records()
    faulty = FaultyClient(dynamodb(), ["ok"], then="throttle")
    # WHEN
    response = run(records, faulty, FakeContext(SHORT_ON_TIME_MS))
    # THEN Lambda restarts from key 0's first record, although the 25 keys after it landed
    assert response == failures(*sequence_numbers([records[0], records[-1]]))
    assert len(scan(REPLICA)) == 25


@pytest.mark.usefixtures("aws")
def test_the_unprocessed_part_of_a_request_is_failed_when_time_runs_out() -> None:
    # GIVEN 4 keys; the replica processes requests 1 and 3, then throttles for ever
    _, records = source_with(4)
    faulty = FaultyClient(dynamodb(), ["unprocessed"], then="throttle")
    # WHEN
    response = run(records, faulty, FakeContext(SHORT_ON_TIME_MS))
    # THEN
    assert response == failures(*sequence_numbers([records[0], records[2]]))
    assert scan(REPLICA) == [item(1), item(3)]


@pytest.mark.usefixtures("aws")
def test_with_no_time_left_nothing_is_written_and_everything_is_failed() -> None:
    _, records = source_with(3)
    faulty = FaultyClient(dynamodb())
    response = run(records, faulty, FakeContext(replica.SAFETY_MARGIN_MS))
    assert response == failures(*sequence_numbers(records))
    assert faulty.calls == []


# --- a record the replica refuses --------------------------------------------------------------------


@pytest.mark.usefixtures("aws")
def test_a_record_the_replica_refuses_is_failed_and_the_other_keys_land() -> None:
    # GIVEN a replica whose GSI refuses an empty host, which the source (no GSI) accepts
    create_table(REPLICA, index_key=("host", "S"))
    source = SourceTable.create()
    a, b, c = item(1, host={"S": "h"}), item(2, host={"S": "h"}), item(3, host={"S": "h"})
    poison = item(2, host={"S": ""})
    source.put(a, b, c, poison)
    source.delete({"PK": c["PK"]})
    records = source.records()
    with pytest.raises(ClientError, match="ValidationException"):  # moto really refuses it
        dynamodb().put_item(TableName=REPLICA, Item=poison)
    faulty = FaultyClient(dynamodb())
    # WHEN
    response = run(records, faulty, FakeContext())
    # THEN both records of key 2 are failed; a landed, c is deleted; the request was split one by one
    assert response == failures(*sequence_numbers([records[1], records[3]]))
    assert scan(REPLICA) == [a]
    assert faulty.calls == ["BatchWriteItem", "PutItem", "PutItem", "DeleteItem"]


@pytest.mark.usefixtures("aws")
def test_single_writes_after_a_rejected_request_are_retried_when_throttled() -> None:
    # GIVEN a request refused as a whole, then a throttled PutItem
    source, records = source_with(2)
    faulty = FaultyClient(dynamodb(), ["invalid", "throttle"])
    # WHEN
    response = run(records, faulty, FakeContext())
    # THEN
    assert response == failures()
    assert faulty.calls == ["BatchWriteItem", "PutItem", "PutItem", "PutItem"]
    assert scan(REPLICA) == source.items()


@pytest.mark.usefixtures("aws")
def test_an_error_that_retrying_cannot_fix_fails_the_invocation(capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN no replica table (the only target)
    source = SourceTable.create()
    source.put(item(1))
    # WHEN / THEN the error propagates (Lambda retries the batch), and the log line says why and where
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        run(source.records(), dynamodb(), FakeContext())
    line = json.loads(capsys.readouterr().out)
    assert line["errors"] == [
        {
            "error": "ResourceNotFoundException: An error occurred (ResourceNotFoundException) when calling "
            "the BatchWriteItem operation: Requested resource not found"
        }
    ]
    assert line["target_error"].startswith(f"target {REPLICA} (table {REPLICA}): ResourceNotFoundException")
    assert (line["records"], line["write_calls"], line["failures"]) == (1, 1, 1)


@pytest.mark.usefixtures("aws")
def test_a_defect_of_the_request_fails_the_invocation_even_with_other_targets() -> None:
    # GIVEN a replica client that cannot even build the request (a defect, not a state of the target)
    create_table(REPLICA)
    source = SourceTable.create()
    source.put(item(1))

    class Broken(FaultyClient):
        def batch_write_item(self, **request: Any) -> Any:
            raise ParamValidationError(report="Invalid type for parameter RequestItems")

    targets = [
        replica.Target(dynamodb(), REPLICA, FakeContext(), name="here"),
        replica.Target(Broken(dynamodb()).as_client(), REPLICA, FakeContext(), name="broken"),
    ]
    # WHEN / THEN it raises: never a quiet report of failed records
    with pytest.raises(ParamValidationError):
        replica.replicate(lambda_event(source.records()), *targets)
