"""Settings of the replica Lambda, read from its environment.

REPLICA_TARGETS   the replica tables, as JSON (see replica_targets.py): an object of targets by name, each
                  with table_name and optionally region, role_arn, external_id. Set by the Terraform module
                  when there is more than one target, or one in another account. Every batch is written to
                  every target; a record is reported done only when all of them have it.
REPLICA_TABLE     the one replica table, when REPLICA_TARGETS is unset (default: logfile_replica)
REPLICA_REGION    its region, when not the function's own (default: AWS_REGION)
SOURCE_TABLE_ARN  the table whose stream feeds the function: records from any other stream are failed and
                  never written (set by the Terraform module; unset: records are not checked)

The endpoint is not a setting here: boto3 reads AWS_ENDPOINT_URL (or AWS_ENDPOINT_URL_DYNAMODB) itself,
which is how the function reaches LocalStack.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from replica_targets import ReplicaTarget, TargetError, parse_targets

DEFAULT_REPLICA_TABLE = "logfile_replica"


@dataclass(frozen=True, slots=True)
class Settings:
    """Where the replicas live, and which stream may feed them."""

    targets: tuple[ReplicaTarget, ...]
    source_table_arn: str | None = None


def load(environ: Mapping[str, str] = os.environ) -> Settings:
    """Read the settings; an empty variable counts as unset. A bad REPLICA_TARGETS raises TargetError."""
    return Settings(targets=_targets(environ), source_table_arn=environ.get("SOURCE_TABLE_ARN") or None)


def _targets(environ: Mapping[str, str]) -> tuple[ReplicaTarget, ...]:
    described = environ.get("REPLICA_TARGETS")
    if not described:
        table = environ.get("REPLICA_TABLE") or DEFAULT_REPLICA_TABLE
        return (ReplicaTarget(name=table, table_name=table, region=environ.get("REPLICA_REGION") or None),)
    if environ.get("REPLICA_TABLE") or environ.get("REPLICA_REGION"):
        raise TargetError("REPLICA_TARGETS and REPLICA_TABLE/REPLICA_REGION are both set; set only one")
    return parse_targets(described, "REPLICA_TARGETS")
