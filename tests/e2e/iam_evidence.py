"""Least privilege from the evidence: the AWS calls LocalStack recorded (its call log, written by
tools/localstack_ext/ddb_replica_localstack/call_log.py), replayed against the policies of the applied stack.

LocalStack does not enforce IAM. This module decides, for each recorded call of a role, whether the role's
policies allow it, and for each AssumeRole into a role, whether the role's trust policy allows the caller; and
which statements no call used. The evaluation is written here, small, on purpose: moto's evaluator ignores a
condition operator it does not know (the condition then always holds), and principalmapper's no longer
imports on Python 3.12. It covers the policy grammar our modules render and raises on anything else, so a new
operator or element cannot go unchecked.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

# The IAM prefix of an API's actions, where it differs from the service name in the call log.
IAM_PREFIX = {"dynamodbstreams": "dynamodb"}
# The IAM action of an operation, where it differs from the operation's name.
IAM_ACTION = {
    "lambda:Invoke": "lambda:InvokeFunction",
    # SQS authorises a batch call as its single action
    "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
    "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
}
# Calls that LocalStack makes with a function's role and AWS does not, by (action, error code): LocalStack's
# Lambda tries to create the function's log group before each new log stream, even when the group exists (the
# module creates it, and then grants no logs:CreateLogGroup: AWS's Lambda does not need it).
LOCALSTACK_ONLY = {("logs:CreateLogGroup", "ResourceAlreadyExistsException")}
# Operations that have no resource type in the Service Authorization Reference: IAM matches them against "*".
RESOURCELESS = {
    "cloudwatch:GetMetricStatistics",
    "dynamodb:ListStreams",
    "dynamodb:ListTables",
    "lambda:ListEventSourceMappings",
    "sts:GetCallerIdentity",
}


class UnsupportedPolicy(ValueError):
    """A policy element or condition operator this evaluator does not implement."""


@dataclass(frozen=True)
class Call:
    """One recorded AWS call: who made it, the IAM action, the resources it touched, the condition context."""

    line: int  # in the call log, for messages
    principal: str  # a role ARN, an AWS service principal, or an account's root ARN
    action: str
    resources: tuple[str, ...]
    context: dict[str, str] = field(default_factory=dict, compare=False)

    def __str__(self) -> str:
        return f"call log line {self.line}: {self.principal} {self.action} on {', '.join(self.resources)}"


def role_arn_of_session(session_arn: str) -> str | None:
    """arn:aws:sts::<account>:assumed-role/<name>/<session> -> arn:aws:iam::<account>:role/<name>."""
    parts = session_arn.split(":", 5)
    if len(parts) != 6 or parts[2] != "sts" or not parts[5].startswith("assumed-role/"):
        return None
    name = parts[5].split("/")[1]
    return f"arn:{parts[1]}:iam::{parts[4]}:role/{name}"


def same_role(one: str, other: str) -> bool:
    """Role ARNs name one role when their account and name agree (a path may be absent from one of them)."""
    return one.split(":")[4] == other.split(":")[4] and one.rsplit("/", 1)[-1] == other.rsplit("/", 1)[-1]


def resources_of(entry: dict[str, Any], action: str) -> tuple[str, ...]:
    """The ARNs a call acts on, from the parameters the call log kept."""
    params, region, account = entry["params"], entry["region"], entry["account"]

    def table(name: str) -> str:
        return name if name.startswith("arn:") else f"arn:aws:dynamodb:{region}:{account}:table/{name}"

    if action in RESOURCELESS:
        return ("*",)
    if "TableName" in params:
        return (table(params["TableName"]),)
    for tables in ("RequestItems", "TransactItems"):
        if tables in params:
            return tuple(table(name) for name in params[tables])
    if "StreamArn" in params:
        return (params["StreamArn"],)
    if "ShardIterator" in params:  # <stream ARN>|1|<position>, on AWS as in moto
        return (params["ShardIterator"].split("|", 1)[0],)
    if "RoleArn" in params:
        return (params["RoleArn"],)
    if "logGroupName" in params:
        group = f"arn:aws:logs:{region}:{account}:log-group:{params['logGroupName']}"
        if action == "logs:FilterLogEvents":  # authorised on the group's events, "<group ARN>:*"
            return (f"{group}:*",)
        # CreateLogStream and PutLogEvents are authorised on the stream (what "<group ARN>:*" grants)
        return (f"{group}:log-stream:{params['logStreamName']}",) if "logStreamName" in params else (group,)
    if "FunctionName" in params:  # a name or an ARN (a qualified ARN names a version or alias)
        name = params["FunctionName"]
        return (name if name.startswith("arn:") else f"arn:aws:lambda:{region}:{account}:function:{name}",)
    if "UUID" in params:  # an event source mapping
        return (f"arn:aws:lambda:{region}:{account}:event-source-mapping:{params['UUID']}",)
    if "AlarmNames" in params:
        return tuple(f"arn:aws:cloudwatch:{region}:{account}:alarm:{name}" for name in params["AlarmNames"])
    if "QueueUrl" in params:  # http(s)://<host>/<account>/<name>
        queue_account, name = params["QueueUrl"].rstrip("/").split("/")[-2:]
        return (f"arn:aws:sqs:{region}:{queue_account}:{name}",)
    raise UnsupportedPolicy(
        f"{action}: no resource mapping for its parameters {sorted(params)}; add one to resources_of"
    )


def calls_from_log(lines: Iterable[str], role_arns: Iterable[str], first_line: int = 1) -> Iterator[Call]:
    """The calls of the log that concern the given roles: made with one of their sessions, or assuming one."""
    roles = list(role_arns)
    for number, text in enumerate(lines, start=first_line):
        if not text.strip():
            continue
        entry = json.loads(text)
        if "unrecorded" in entry:
            raise UnsupportedPolicy(f"call log line {number}: a call LocalStack could not record: {entry}")
        action = f"{IAM_PREFIX.get(entry['service'], entry['service'])}:{entry['operation']}"
        action = IAM_ACTION.get(action, action)
        session = entry["principal"]
        principal = role_arn_of_session(session) or entry.get("via") or session
        by_role = principal.startswith("arn:") and any(same_role(principal, role) for role in roles)
        into_role = action == "sts:AssumeRole" and any(
            same_role(entry["params"].get("RoleArn", "::::"), role) for role in roles
        )
        if not (by_role or into_role) or (action, entry.get("error")) in LOCALSTACK_ONLY:
            continue
        context = {"aws:PrincipalArn": principal}
        if entry.get("via"):  # a service acting for a resource of this account (Step Functions, Lambda)
            context["aws:SourceAccount"] = entry["account"]
        if "ExternalId" in entry["params"]:
            context["sts:ExternalId"] = entry["params"]["ExternalId"]
        yield Call(number, principal, action, resources_of(entry, action), context)


def _listify(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _glob(pattern: str, value: str, case_sensitive: bool = True) -> bool:
    """IAM wildcards: * any run of characters, ? one character (fnmatch's [] sets never occur in our ARNs)."""
    if "[" in pattern:
        raise UnsupportedPolicy(f"pattern {pattern!r}: '[' is not an IAM wildcard")
    if not case_sensitive:
        pattern, value = pattern.lower(), value.lower()
    return fnmatch.fnmatchcase(value, pattern)


def _equal(expected: str, actual: str) -> bool:
    return expected == actual


def _arn_like(expected: str, actual: str) -> bool:
    """ArnLike compares the six colon-separated parts one by one: a wildcard never spans a colon."""
    patterns, parts = expected.split(":", 5), actual.split(":", 5)
    return len(patterns) == len(parts) == 6 and all(map(_glob, patterns, parts))


CONDITION_OPERATORS: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": _equal,
    "StringLike": _glob,
    "ArnEquals": _equal,
    "ArnLike": _arn_like,
}


def condition_holds(condition: dict[str, dict[str, Any]], context: dict[str, str]) -> bool:
    """Every operator, every key: the context value matches one of the expected values. A key missing from the
    context fails the condition, as in IAM for operators without IfExists."""
    for operator, keys in condition.items():
        compare = CONDITION_OPERATORS.get(operator)
        if compare is None:
            raise UnsupportedPolicy(f"condition operator {operator} is not implemented here")
        for key, expected in keys.items():
            actual = next((value for name, value in context.items() if name.lower() == key.lower()), None)
            if actual is None or not any(compare(value, actual) for value in _listify(expected)):
                return False
    return True


def _matches(statement: dict[str, Any], element: str, value: str, case_sensitive: bool) -> bool:
    if element in statement:
        return any(_glob(p, value, case_sensitive) for p in _listify(statement[element]))
    negated = f"Not{element}"
    if negated in statement:
        return not any(_glob(p, value, case_sensitive) for p in _listify(statement[negated]))
    raise UnsupportedPolicy(f"statement {statement.get('Sid', '?')} has neither {element} nor {negated}")


def statement_applies(statement: dict[str, Any], action: str, resource: str, context: dict[str, str]) -> bool:
    """Whether a permission statement covers the action on the resource, its condition included."""
    known = {"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition"}
    if set(statement) - known:
        raise UnsupportedPolicy(f"statement {statement.get('Sid', '?')}: elements {set(statement) - known}")
    return (
        _matches(statement, "Action", action, case_sensitive=False)
        and _matches(statement, "Resource", resource, case_sensitive=True)
        and condition_holds(statement.get("Condition", {}), context)
    )


def principal_matches(statement: dict[str, Any], principal: str) -> bool:
    """A trust statement's Principal names the caller: itself, its account (root or ID), a service, or *."""
    if "Principal" not in statement:
        raise UnsupportedPolicy(f"trust statement {statement.get('Sid', '?')} has no Principal")
    named = statement["Principal"]
    if named == "*":
        return True
    if principal.endswith(".amazonaws.com"):
        return principal in _listify(named.get("Service", []))
    account = principal.split(":")[4]
    partition = principal.split(":")[1]
    accepted = {principal, account, f"arn:{partition}:iam::{account}:root", "*"}
    return any(name in accepted for name in _listify(named.get("AWS", [])))


def trust_applies(statement: dict[str, Any], call: Call) -> bool:
    known = {"Sid", "Effect", "Action", "Principal", "Condition"}
    if set(statement) - known:
        raise UnsupportedPolicy(
            f"trust statement {statement.get('Sid', '?')}: elements {set(statement) - known}"
        )
    return (
        _matches(statement, "Action", call.action, case_sensitive=False)
        and principal_matches(statement, call.principal)
        and condition_holds(statement.get("Condition", {}), call.context)
    )


@dataclass
class RolePolicies:
    """A role as applied: its trust policy and its permission policies by name."""

    arn: str
    trust: dict[str, Any]
    policies: dict[str, dict[str, Any]]

    def statements(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """(policy name/Sid, statement) for every permission statement."""
        for name, document in self.policies.items():
            for index, statement in enumerate(_listify(document["Statement"])):
                yield f"{name}/{statement.get('Sid', index)}", statement

    def trust_statements(self) -> Iterator[tuple[str, dict[str, Any]]]:
        for index, statement in enumerate(_listify(self.trust["Statement"])):
            yield f"trust/{statement.get('Sid', index)}", statement


@dataclass
class Verdict:
    denied: list[str] = field(default_factory=list)  # calls no Allow covers, or a Deny covers
    used: set[str] = field(default_factory=set)  # statement names that allowed at least one call
    calls: int = 0


def judge(roles: list[RolePolicies], calls: Iterable[Call]) -> dict[str, Verdict]:
    """Per role: its calls that its policies do not allow, and the statements some call used. AssumeRole calls
    into a role are judged by that role's trust policy (whoever made them)."""
    verdicts = {role.arn: Verdict() for role in roles}
    for call in calls:
        for role in roles:
            if call.principal.startswith("arn:") and same_role(call.principal, role.arn):
                _judge_permissions(role, call, verdicts[role.arn])
            if call.action == "sts:AssumeRole" and any(same_role(r, role.arn) for r in call.resources):
                _judge_trust(role, call, verdicts[role.arn])
    return verdicts


def _judge_permissions(role: RolePolicies, call: Call, verdict: Verdict) -> None:
    verdict.calls += 1
    for resource in call.resources:
        allowing = [
            name
            for name, s in role.statements()
            if s["Effect"] == "Allow" and statement_applies(s, call.action, resource, call.context)
        ]
        denying = [
            name
            for name, s in role.statements()
            if s["Effect"] == "Deny" and statement_applies(s, call.action, resource, call.context)
        ]
        if denying or not allowing:
            verdict.denied.append(
                f"{call} (resource {resource}): "
                + (f"denied by {denying}" if denying else "no statement allows it")
            )
        verdict.used.update(allowing)


def _judge_trust(role: RolePolicies, call: Call, verdict: Verdict) -> None:
    allowing = [
        name for name, s in role.trust_statements() if s["Effect"] == "Allow" and trust_applies(s, call)
    ]
    denying = [
        name for name, s in role.trust_statements() if s["Effect"] == "Deny" and trust_applies(s, call)
    ]
    if denying or not allowing:
        verdict.denied.append(
            f"{call}: the trust policy of {role.arn} "
            + (f"denies it ({denying})" if denying else "does not allow it")
        )
    verdict.used.update(allowing)
