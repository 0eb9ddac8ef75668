"""A log of every AWS call LocalStack serves, with the principal that made it: evidence for least privilege.

LocalStack does not enforce IAM, so a policy that misses an action still "works" there. With this log, a test
can replay each call a role made against the role's policy, as read from the applied stack. One JSON line per
call, appended to the file named by ``DDB_REPLICA_CALL_LOG`` (no log when it is unset):

    {"time": ..., "account": "000000000000", "region": "eu-west-1", "service": "dynamodb",
     "operation": "BatchWriteItem", "status": 200,
     "principal": "arn:aws:sts::...:assumed-role/<role>/<session>", "params": {"RequestItems": ["<table>"]}}

plus ``error``, the error code, when the call failed.

``principal`` is the ARN STS gave the temporary credentials (an assumed role), or the account's root for any
other key: LocalStack maps a plain access key to an account only. ``via`` names the service principal when
LocalStack itself made the call for a service (Lambda assuming a function's role, its stream poller).
``params`` keeps the names that locate the resources (tables, streams, roles, queues, mappings, alarms, the
external ID of an AssumeRole), never items or keys.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from typing import Any

from localstack.aws.api import RequestContext
from localstack.aws.chain import HandlerChain
from localstack.http import Response
from localstack.runtime import hooks

LOG = logging.getLogger(__name__)
CALL_LOG_ENV = "DDB_REPLICA_CALL_LOG"
# The request parameters that name a resource (for AssumeRole also the values its trust policy checks).
NAMING_PARAMETERS = (
    "TableName",
    "StreamArn",
    "ShardIterator",
    "RoleArn",
    "RoleSessionName",
    "ExternalId",
    "QueueUrl",
    "FunctionName",
    "KeyId",
    "logGroupName",
    "logStreamName",
    "UUID",  # an event source mapping
    "AlarmNames",
)
# Batch operations name their tables as the keys of RequestItems; transactions inside each item.
TABLE_MAPS = ("RequestItems",)
_lock = threading.Lock()


def principal_of(context: RequestContext) -> str:
    """The ARN of the caller: the assumed role's session ARN for STS credentials, else the account root."""
    from localstack.services.sts.models import sts_stores
    from localstack.utils.aws.request_context import extract_access_key_id_from_auth_header

    key = extract_access_key_id_from_auth_header(dict(context.request.headers)) or ""
    # LocalStack's STS keeps every temporary credential in the issuing account's us-east-1 store.
    credentials = sts_stores[context.account_id]["us-east-1"].credentials.get(key)
    if credentials is not None:
        return str(credentials.arn)
    return f"arn:{context.partition}:iam::{context.account_id}:root"


def naming_parameters(request: dict[str, Any]) -> dict[str, Any]:
    params: dict[str, Any] = {name: request[name] for name in NAMING_PARAMETERS if name in request}
    for name in TABLE_MAPS:
        if isinstance(request.get(name), dict):
            params[name] = sorted(request[name])
    if isinstance(request.get("TransactItems"), list):
        params["TransactItems"] = sorted(
            {
                action["TableName"]
                for item in request["TransactItems"]
                for action in item.values()
                if isinstance(action, dict) and "TableName" in action
            }
        )
    return params


def record(context: RequestContext, response: Response, path: str) -> None:
    if context.service is None or context.operation is None:
        return  # not an AWS API call (health checks, LocalStack's own endpoints)
    entry = {
        "time": time.time(),
        "account": context.account_id,
        "region": context.region,
        "service": context.service.service_name,
        "operation": context.operation.name,
        "status": response.status_code,
        "principal": principal_of(context),
        "params": naming_parameters(dict(context.service_request or {})),
    }
    if context.service_exception is not None:
        entry["error"] = context.service_exception.code
    # LocalStack's own calls on behalf of a service (Lambda assuming a function's role, its stream poller)
    service_principal = (context.internal_request_params or {}).get("service_principal")
    if service_principal:
        entry["via"] = service_principal if "." in service_principal else f"{service_principal}.amazonaws.com"
    line = json.dumps(entry, default=str) + "\n"
    with _lock, open(path, "a", encoding="utf-8") as log:
        log.write(line)


def call_log_handler(path: str) -> Any:
    def handle(chain: HandlerChain, context: RequestContext, response: Response) -> None:
        try:
            record(context, response, path)
        except Exception as error:  # the log is evidence for tests; it must never fail a call
            LOG.exception("call log: could not record %s", context.operation)
            # ... nor lose one silently: a reader of the log fails on this line
            unrecorded = json.dumps(
                {"time": time.time(), "unrecorded": str(context.operation), "error": str(error)}
            )
            with _lock, open(path, "a", encoding="utf-8") as log:
                log.write(unrecorded + "\n")

    return handle


@hooks.on_infra_start()
def register_call_log() -> None:
    path = os.environ.get(CALL_LOG_ENV)
    if not path:
        return
    from localstack.aws.handlers import run_custom_response_handlers

    run_custom_response_handlers.append(call_log_handler(path))
    LOG.info("call log: every AWS call is recorded in %s", path)
