"""``ddb-replica status``: what an operator checks first about a replication, on one screen.

Each check reads one service and says, in a line, what it found; a check that finds something to act on
gives a reason as well. The command exits 1 when any check has a reason, 0 otherwise:

- the event source mapping: its state and last processing result (Lambda);
- the lag: the function's IteratorAge maximum over the last minutes (CloudWatch), where it has data;
- the on-failure queue: messages waiting, and the oldest one's age (SQS, CloudWatch);
- the alarms the module created, any in ALARM (CloudWatch);
- recent failures from the function's log line (CloudWatch Logs): shown, not judged, since they are the
  past (the queue and the alarms say whether they still matter);
- each table's item count, DynamoDB's estimate (labelled as such, never judged).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from .deployment import Clients, Deployment, target_label
from .tables import Connection

DEFAULT_MAX_LAG_SECONDS = 600  # the module's lag alarm's default threshold
DEFAULT_SINCE_MINUTES = 60
MAX_SHOWN_FAILURES = 3
MAX_LOG_PAGES = 20  # at most this many pages of log events are read (the newest failures are shown)
MAPPING_PROBLEM = "PROBLEM"  # Lambda's LastProcessingResult for a batch it could not process


@dataclass
class Check:
    """One line of the report, and why it needs attention (None when it does not)."""

    name: str
    summary: str
    attention: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


# --- the checks --------------------------------------------------------------------------------------


def status(
    deployment: Deployment,
    clients: Clients,
    max_lag_seconds: float = DEFAULT_MAX_LAG_SECONDS,
    since_minutes: int = DEFAULT_SINCE_MINUTES,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> list[Check]:
    """Every check, in the order of the report."""
    moment = now()
    queue = queue_check(clients.client("sqs"), clients.client("cloudwatch"), deployment.queue_url, moment)
    return [
        mapping_check(clients.client("lambda"), deployment),
        lag_check(clients.client("cloudwatch"), deployment.function, max_lag_seconds, moment),
        queue,
        alarms_check(clients.client("cloudwatch"), deployment, emptied_queue=queue.details.get("emptied")),
        failures_check(clients.client("logs"), deployment, since_minutes, moment),
        tables_check(clients.connection, deployment),
    ]


def mapping_check(lambda_: Any, deployment: Deployment) -> Check:
    if deployment.mapping_uuid is not None:
        mapping = lambda_.get_event_source_mapping(UUID=deployment.mapping_uuid)
    else:
        found = lambda_.list_event_source_mappings(FunctionName=deployment.function)["EventSourceMappings"]
        if len(found) != 1:
            reason = f"{len(found)} event source mappings invoke {deployment.function}; expected one"
            return Check("mapping", reason, reason + " (give --mapping-uuid)")
        mapping = found[0]
    state = mapping.get("State", "?")
    result = mapping.get("LastProcessingResult") or "none yet"
    summary = f"{state}, last processing result: {result} (mapping {mapping['UUID']})"
    details = {"uuid": mapping["UUID"], "state": state, "last_processing_result": result}
    if state != "Enabled":
        return Check(
            "mapping", summary, f"the mapping is {state}, not Enabled: nothing is replicated", details
        )
    if result.startswith(MAPPING_PROBLEM):
        return Check("mapping", summary, f"the mapping's last batch: {result}", details)
    return Check("mapping", summary, None, details)


def lag_check(cloudwatch: Any, function: str, max_lag_seconds: float, moment: datetime) -> Check:
    latest = _latest_datapoint(
        cloudwatch, "AWS/Lambda", "IteratorAge", [{"Name": "FunctionName", "Value": function}], moment
    )
    if latest is None:
        return Check(
            "lag", "no IteratorAge data in the last 15 minutes (no records read, or no metrics here)"
        )
    lag = latest / 1000
    summary = f"{lag:,.0f} s behind (IteratorAge maximum, last minute with data)"
    details = {"iterator_age_seconds": lag}
    if lag > max_lag_seconds:
        return Check(
            "lag", summary, f"the replica is {lag:,.0f} s behind, over {max_lag_seconds:,.0f} s", details
        )
    return Check("lag", summary, None, details)


def queue_check(sqs: Any, cloudwatch: Any, queue_url: str | None, moment: datetime) -> Check:
    if queue_url is None:
        return Check("queue", "no on-failure queue given (--queue-url, or the on_failure_queue_url output)")
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=[
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ],
    )["Attributes"]
    waiting = int(attributes.get("ApproximateNumberOfMessages", 0))
    waiting += int(attributes.get("ApproximateNumberOfMessagesDelayed", 0))
    in_flight = int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0))
    name = queue_url.rstrip("/").rsplit("/", 1)[-1]
    details: dict[str, Any] = {"queue_url": queue_url, "messages": waiting, "in_flight": in_flight}
    if waiting + in_flight == 0:
        return Check("queue", f"{name}: empty", None, details | {"emptied": name})
    age = _latest_datapoint(
        cloudwatch, "AWS/SQS", "ApproximateAgeOfOldestMessage", [{"Name": "QueueName", "Value": name}], moment
    )
    details["oldest_age_seconds"] = age
    oldest = "oldest: no metric yet" if age is None else f"oldest {age:,.0f} s old"
    summary = f"{name}: {waiting} failed batches waiting, {in_flight} in flight ({oldest})"
    reason = f"{waiting + in_flight} failed batches in {name}: fix the cause, then ddb-replica redrive"
    return Check("queue", summary, reason, details)


def alarms_check(cloudwatch: Any, deployment: Deployment, emptied_queue: str | None = None) -> Check:
    """The module's alarms in ALARM. The on-failure queue's alarm, when the queue is empty now (after a
    redrive), is named but needs no attention: SQS metrics come minutes late, and the alarm clears after."""
    if deployment.alarm_names:
        alarms = _alarms(cloudwatch, {"AlarmNames": list(deployment.alarm_names)})
    else:
        alarms = _alarms(cloudwatch, {"AlarmNamePrefix": f"{deployment.function}-"})
    if not alarms:
        return Check("alarms", "none found (the module's alarms are named <function>-<kind>)")
    firing = sorted(alarm["AlarmName"] for alarm in alarms if alarm["StateValue"] == "ALARM")
    clearing = sorted(alarm["AlarmName"] for alarm in alarms if _watches_depth_of(alarm, emptied_queue))
    clearing = [name for name in clearing if name in firing]
    states = {alarm["AlarmName"]: alarm["StateValue"] for alarm in alarms}
    summary = f"{len(alarms)} alarms, {len(firing)} in ALARM" + (f": {', '.join(firing)}" if firing else "")
    if clearing:
        summary += f" ({', '.join(clearing)}: the queue is empty now, the alarm clears with its next metrics)"
    attention = [name for name in firing if name not in clearing]
    reason = f"in ALARM: {', '.join(attention)}" if attention else None
    return Check("alarms", summary, reason, {"states": states, "clearing": clearing})


def _watches_depth_of(alarm: Mapping[str, Any], queue: str | None) -> bool:
    """The alarm is on the visible messages of ``queue`` (and on nothing else)."""
    return (
        queue is not None
        and (alarm.get("Namespace"), alarm.get("MetricName"))
        == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
        and alarm.get("Dimensions") == [{"Name": "QueueName", "Value": queue}]
    )


def _alarms(cloudwatch: Any, selector: dict[str, Any]) -> list[dict[str, Any]]:
    alarms: list[dict[str, Any]] = []
    for page in cloudwatch.get_paginator("describe_alarms").paginate(AlarmTypes=["MetricAlarm"], **selector):
        alarms.extend(page.get("MetricAlarms", []))
    return alarms


def failures_check(logs: Any, deployment: Deployment, since_minutes: int, moment: datetime) -> Check:
    group = deployment.log_group or f"/aws/lambda/{deployment.function}"
    start = int((moment - timedelta(minutes=since_minutes)).timestamp() * 1000)
    try:
        lines = list(_failed_lines(logs, group, start))
    except logs.exceptions.ResourceNotFoundException:
        return Check("failures", f"no log group {group} yet (the function has not run)")
    failed = sum(int(line.get("failures", 0)) for _, line in lines)
    details: dict[str, Any] = {
        "log_group": group,
        "failed_records": failed,
        "lines": len(lines),
        "recent": [],
    }
    if not lines:
        return Check(
            "failures", f"no failed records in the last {since_minutes} min ({group})", None, details
        )
    for stamp, line in lines[-MAX_SHOWN_FAILURES:]:
        first = (line.get("errors") or [{}])[0].get("error") or line.get("target_error") or "?"
        when = datetime.fromtimestamp(stamp / 1000, UTC).strftime("%H:%M:%S")
        details["recent"].append(
            {
                "time": when,
                "target": line.get("target"),
                "failures": line.get("failures"),
                "error": first[:200],
            }
        )
    summary = (
        f"{failed} failed records in {len(lines)} invocations in the last {since_minutes} min; newest: "
        + "; ".join(
            f"{entry['time']} {entry['target']} {entry['failures']} failed: {entry['error']}"
            for entry in details["recent"][-1:]
        )
    )
    return Check("failures", summary, None, details)


def _failed_lines(logs: Any, group: str, start: int) -> Iterator[tuple[int, dict[str, Any]]]:
    """The function's log lines (message "replicate") with a failed record or an unwritable target."""
    kwargs: dict[str, Any] = {"logGroupName": group, "startTime": start, "filterPattern": '"replicate"'}
    for _ in range(MAX_LOG_PAGES):
        page = logs.filter_log_events(**kwargs)
        for event in page.get("events", []):
            try:
                line = json.loads(event["message"])
            except (json.JSONDecodeError, TypeError):
                continue
            if _failed(line):
                yield int(event["timestamp"]), line
        if not page.get("nextToken"):
            return
        kwargs["nextToken"] = page["nextToken"]


def _failed(line: object) -> bool:
    if not isinstance(line, dict) or line.get("message") != "replicate":
        return False
    return int(line.get("failures") or 0) > 0 or bool(line.get("target_error"))


def tables_check(connection: Connection, deployment: Deployment) -> Check:
    counts = {deployment.source_table: _item_count(connection.client(threads=1), deployment.source_table)}
    for target in deployment.targets:
        counts[target_label(target)] = _item_count(
            connection.client(threads=1, target=target), target.table_name
        )
    summary = ", ".join(f"{name} {count:,}" for name, count in counts.items())
    return Check(
        "items",
        f"{summary} (approximate: DynamoDB updates item counts about every 6 hours)",
        None,
        {"approximate_item_counts": counts},
    )


def _item_count(dynamodb: Any, table: str) -> int:
    return int(dynamodb.describe_table(TableName=table)["Table"].get("ItemCount", 0))


def _latest_datapoint(
    cloudwatch: Any, namespace: str, metric: str, dimensions: Sequence[Mapping[str, str]], moment: datetime
) -> float | None:
    """The maximum of the newest one-minute period with data in the last 15 minutes, or None."""
    points = cloudwatch.get_metric_statistics(
        Namespace=namespace,
        MetricName=metric,
        Dimensions=list(dimensions),
        StartTime=moment - timedelta(minutes=15),
        EndTime=moment + timedelta(minutes=1),  # the current minute's datapoint, which begins before it
        Period=60,
        Statistics=["Maximum"],
    )["Datapoints"]
    if not points:
        return None
    return float(max(points, key=lambda point: point["Timestamp"])["Maximum"])


def needs_attention(checks: Sequence[Check]) -> list[str]:
    return [check.attention for check in checks if check.attention is not None]


def document(checks: Sequence[Check]) -> dict[str, Any]:
    """The --json form: every check, and the verdict."""
    reasons = needs_attention(checks)
    return {
        "healthy": not reasons,
        "reasons": reasons,
        "checks": {
            check.name: {"summary": check.summary, "attention": check.attention, **check.details}
            for check in checks
        },
        "checked_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
