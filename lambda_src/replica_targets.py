"""Where a replica lives: its table, region and account, and how to reach it.

One description serves the function (REPLICA_TARGETS, written by the Terraform module) and the
``ddb-replica`` CLI (``--replica-region``, ``--replica-role-arn``, or one target of the module's
``replica_targets`` output), so both reach a target the same way.

A target in another account is written through a writer role there: the caller's credentials assume it
with STS. The assumed credentials are botocore's refreshable credentials (AssumeRoleCredentialFetcher, the
code behind a profile's ``role_arn``): fetched on the first call, refreshed before they expire, cached per
target for the life of the process (a Lambda container).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.credentials import (
    AssumeRoleCredentialFetcher,
    CredentialProvider,
    CredentialResolver,
    Credentials,
    DeferredRefreshableCredentials,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
FIELDS = frozenset({"name", "table_name", "region", "role_arn", "external_id"})
# Also in the Terraform outputs (replica_targets, the replica-target module's target); not needed to reach it.
DESCRIPTIVE_FIELDS = frozenset({"table_arn", "account_id", "kms_key_arn"})
# Role session names allow [\w+=,.@-], 2 to 64 characters; CloudTrail shows them next to every write.
SESSION_NAME_PREFIX = "ddb-replica-"


class TargetError(ValueError):
    """A target description that cannot be used; the message names the target, the field and the fix."""


@dataclass(frozen=True, slots=True)
class ReplicaTarget:
    """One replica table: its name in logs and metrics, the table, and how to reach it.

    region None: the caller's own region. role_arn None: the caller's own credentials (same account).
    """

    name: str
    table_name: str
    region: str | None = None
    role_arn: str | None = None
    external_id: str | None = None

    def describe(self) -> str:
        where = f" in {self.region}" if self.region else ""
        through = f" through {self.role_arn}" if self.role_arn else ""
        return f"target {self.name} (table {self.table_name}{where}{through})"


def parse_targets(text: str, origin: str) -> tuple[ReplicaTarget, ...]:
    """Targets from JSON: an object of targets by name (the module's ``replica_targets`` output), or a
    list of targets that carry their ``name``. ``origin`` names where the text came from, for errors."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise TargetError(f"{origin}: not JSON ({error}); expected the replica_targets output") from None
    if isinstance(document, dict) and set(document) >= {"value", "type"}:
        document = document["value"]  # one entry of `terraform output -json`: {"sensitive", "type", "value"}
    if isinstance(document, dict) and "table_name" in document:
        document = [document]  # one target (the replica-target module's `target` output)
    if isinstance(document, dict):
        entries = [_with_name(name, entry, origin) for name, entry in document.items()]
    elif isinstance(document, list):
        entries = list(document)
    else:
        raise TargetError(f"{origin}: expected an object of targets by name, or a list of targets")
    targets = tuple(target_from(entry, f"{origin}[{index}]") for index, entry in enumerate(entries))
    if not targets:
        raise TargetError(f"{origin}: no targets")
    check_distinct(targets, origin)
    return targets


def _with_name(name: str, entry: object, origin: str) -> object:
    if isinstance(entry, dict) and entry.get("name", name) != name:
        raise TargetError(f"{origin}: target {name!r} has name {entry['name']!r}; use one name")
    return {**entry, "name": name} if isinstance(entry, dict) else entry


def target_from(entry: object, where: str) -> ReplicaTarget:
    """One target from its JSON object; an unknown field or a wrong type is an error that names it."""
    if not isinstance(entry, dict):
        raise TargetError(f"{where}: a target is an object with {', '.join(sorted(FIELDS))}")
    unknown = sorted(set(entry) - FIELDS - DESCRIPTIVE_FIELDS)
    if unknown:
        known = ", ".join(sorted(FIELDS))
        raise TargetError(f"{where}: unknown field(s) {', '.join(unknown)}; known: {known}")
    name, table = _text(entry, "name", where), _text(entry, "table_name", where)
    if name is None or table is None:
        raise TargetError(f"{where}: name and table_name are required")
    role_arn, external_id = _text(entry, "role_arn", where), _text(entry, "external_id", where)
    if role_arn is not None and not ROLE_ARN.match(role_arn):
        raise TargetError(
            f"{where}: role_arn {role_arn!r} is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)"
        )
    if external_id is not None and role_arn is None:
        raise TargetError(f"{where}: external_id is sent when assuming role_arn; give the role too")
    return ReplicaTarget(
        name=name,
        table_name=table,
        region=_text(entry, "region", where),
        role_arn=role_arn,
        external_id=external_id,
    )


def _text(entry: Mapping[str, Any], field: str, where: str) -> str | None:
    value = entry.get(field)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise TargetError(f"{where}: {field} must be a string, not {value!r:.60}")
    return value


def check_distinct(targets: tuple[ReplicaTarget, ...], origin: str) -> None:
    """Each target once: a name twice, or one table (same region, same role) twice, is an error."""
    names = [target.name for target in targets]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise TargetError(f"{origin}: target name(s) used twice: {', '.join(twice)}")
    places = [(target.table_name, target.region, target.role_arn) for target in targets]
    for target, place in zip(targets, places, strict=True):
        if places.count(place) > 1:
            raise TargetError(f"{origin}: {target.describe()} is configured twice; keep one")


# --- clients -------------------------------------------------------------------------------------------


class _AssumedRole(CredentialProvider):
    """A credential chain of one link: the refreshable credentials of an assumed role."""

    METHOD = "assume-role"

    def __init__(self, credentials: Credentials) -> None:
        super().__init__()
        self._credentials = credentials

    def load(self) -> Credentials:
        return self._credentials


def session_for(target: ReplicaTarget, source: boto3.session.Session | None = None) -> boto3.session.Session:
    """A boto3 session for the target: ``source`` itself, or the target's writer role assumed with it.

    Nothing is called here: the role is assumed on the first request (so a Lambda container starts even
    when a target's role is missing), and again before the credentials expire.
    """
    source = source or boto3.session.Session()
    if target.role_arn is None:
        return source
    extra: dict[str, str] = {"RoleSessionName": session_name(target.name)}
    if target.external_id is not None:
        extra["ExternalId"] = target.external_id
    fetcher = AssumeRoleCredentialFetcher(
        # STS in the caller's region (regional endpoint), with the caller's credentials.
        client_creator=functools.partial(source.client, region_name=source.region_name),
        source_credentials=source.get_credentials(),
        role_arn=target.role_arn,
        extra_args=extra,
    )
    credentials = DeferredRefreshableCredentials(
        method="assume-role", refresh_using=fetcher.fetch_credentials
    )
    assumed = botocore.session.Session()
    assumed.register_component("credential_provider", CredentialResolver([_AssumedRole(credentials)]))
    return boto3.session.Session(botocore_session=assumed, region_name=target.region or source.region_name)


def session_name(target_name: str) -> str:
    """The role session name for a target: CloudTrail then shows which target a write was for."""
    return (SESSION_NAME_PREFIX + re.sub(r"[^\w+=,.@-]", "-", target_name))[:64]


def dynamodb_client(
    target: ReplicaTarget,
    config: Config,
    source: boto3.session.Session | None = None,
    endpoint_url: str | None = None,
) -> DynamoDBClient:
    """A low-level DynamoDB client in the target's region, with the target's credentials."""
    session = session_for(target, source)
    return session.client(
        "dynamodb", region_name=target.region or session.region_name, endpoint_url=endpoint_url, config=config
    )
