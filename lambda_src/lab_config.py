"""Settings of the replica Lambda, read from its environment.

REPLICA_TABLE     table the changes are written to (default: logfile_replica)
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

DEFAULT_REPLICA_TABLE = "logfile_replica"


@dataclass(frozen=True, slots=True)
class Settings:
    """Where the replica lives."""

    replica_table: str
    replica_region: str | None
    source_table_arn: str | None = None


def load(environ: Mapping[str, str] = os.environ) -> Settings:
    """Read the settings; an empty variable counts as unset."""
    return Settings(
        replica_table=environ.get("REPLICA_TABLE") or DEFAULT_REPLICA_TABLE,
        replica_region=environ.get("REPLICA_REGION") or None,
        source_table_arn=environ.get("SOURCE_TABLE_ARN") or None,
    )
