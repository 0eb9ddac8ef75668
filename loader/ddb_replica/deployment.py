"""Where one replication is: its function, tables, targets and failure destinations, read from the module's
outputs (`terraform output -json`) or given as flags; and clients for the services around it. Shared by
``ddb-replica status`` and ``redrive``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from replica_targets import ReplicaTarget, TargetError, parse_targets

from .tables import Connection, OpsError

S3_ARN_PREFIXES = ("arn:aws:s3:::", "arn:aws-cn:s3:::", "arn:aws-us-gov:s3:::")


@dataclass(frozen=True)
class Deployment:
    """The parts of one replication: from `terraform output -json`, or from flags."""

    function: str
    source_table: str
    targets: tuple[ReplicaTarget, ...]
    mapping_uuid: str | None = None  # None: the function's only mapping
    queue_url: str | None = None  # None: no on-failure queue to check
    log_group: str | None = None  # None: /aws/lambda/<function>
    alarm_names: tuple[str, ...] = ()  # (): the alarms named <function>-...
    failure_bucket: str | None = None  # an S3 on-failure destination (instead of, or besides, the queue)


def deployment_from_outputs(path: Path) -> Deployment:
    """From `terraform output -json` of the module, or of a configuration that passes its outputs on under
    the same names (the examples): lambda_function_name, source_table_name, replica_targets or
    replica_table_name; event_source_mapping_uuid, on_failure_queue_url (or dlq_url),
    on_failure_destination_arn (an S3 bucket's), lambda_cloudwatch_log_group_name and alarm_names when
    present."""
    try:
        document = json.loads(path.read_text())
    except OSError as error:
        raise OpsError(f"--outputs-json: cannot read {path}: {error.strerror}") from None
    except json.JSONDecodeError as error:
        raise OpsError(
            f"--outputs-json {path}: not JSON ({error}); write it with terraform output -json"
        ) from None
    if not isinstance(document, dict):
        raise OpsError(f"--outputs-json {path}: expected the object that terraform output -json prints")
    values = {
        name: entry.get("value") if isinstance(entry, dict) else entry for name, entry in document.items()
    }

    def text(name: str) -> str | None:
        value = values.get(name)
        return value if isinstance(value, str) and value else None

    function, source = text("lambda_function_name"), text("source_table_name")
    missing = [
        name
        for name, value in (("lambda_function_name", function), ("source_table_name", source))
        if not value
    ]
    if function is None or source is None:
        raise OpsError(
            f"--outputs-json {path}: no {' or '.join(missing)}; give the module's outputs, or the flags"
        )
    alarms = values.get("alarm_names")
    return Deployment(
        function=function,
        source_table=source,
        targets=_targets(values, path),
        mapping_uuid=text("event_source_mapping_uuid"),
        queue_url=text("on_failure_queue_url") or text("dlq_url"),
        log_group=text("lambda_cloudwatch_log_group_name"),
        alarm_names=tuple(sorted(alarms.values())) if isinstance(alarms, dict) else (),
        failure_bucket=bucket_of(text("on_failure_destination_arn")),
    )


def _targets(values: Mapping[str, Any], path: Path) -> tuple[ReplicaTarget, ...]:
    if values.get("replica_targets"):
        try:
            return parse_targets(json.dumps(values["replica_targets"]), f"{path}: replica_targets")
        except TargetError as error:
            raise OpsError(str(error)) from None
    replica = values.get("replica_table_name")
    if not isinstance(replica, str) or not replica:
        raise OpsError(f"--outputs-json {path}: no replica_targets or replica_table_name")
    return (ReplicaTarget(replica, replica),)


@dataclass(frozen=True)
class Clients:
    """One client per service, at one endpoint (LocalStack) or AWS, in one region; made on first use and
    kept (status reads CloudWatch three times; a client costs a session and its service model)."""

    connection: Connection
    made: dict[str, Any] = field(default_factory=dict, compare=False)

    def client(self, service: str) -> Any:
        if service not in self.made:
            session: Any = boto3.session.Session(region_name=self.connection.region)  # Any: every service
            config = Config(retries={"mode": "standard"})
            self.made[service] = session.client(
                service, endpoint_url=self.connection.endpoint_url, config=config
            )
        return self.made[service]


def bucket_of(arn: str | None) -> str | None:
    """The bucket of an S3 on-failure destination's ARN; None for a queue's or a topic's, or no ARN."""
    for prefix in S3_ARN_PREFIXES:
        if arn and arn.startswith(prefix):
            return arn.removeprefix(prefix)
    return None


def target_label(target: ReplicaTarget) -> str:
    """A target for people: its table, and its name when that differs (``eu (logfile_replica)``)."""
    return target.table_name if target.name == target.table_name else f"{target.name} ({target.table_name})"
