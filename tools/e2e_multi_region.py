"""`make e2e EXAMPLE=multi-region`: one stream, replicas in two regions and two accounts, on one LocalStack.

Steps, one line each (details in the e2e log, as for the workshop run):
 1. start LocalStack unless one answers;
 2. ``tflocal apply`` of examples/multi-region: the second account's provider assumes a role in account
    222222222222 (LocalStack derives the account from the credentials STS hands out);
 3. the lab's loader writes the CSV to the source; wait until every target equals the source, item by item,
    read here as the target account's administrator (no role under test);
 4. per target: a slice of its items deleted by hand (items that predate the target), then
    ``ddb-replica backfill --targets-json ... --target NAME`` copies them back, run as an operator role that
    the writer role trusts (``operator_role_arns``), as ``verify`` below;
 5. per target: ``ddb-replica verify`` through the module's output (0 differences), and an item-by-item
    comparison here;
 6. a summary per target in the e2e summary (build/e2e-summary.json): region, account, replica items,
    mismatches, convergence seconds, items the backfill copied;
 7. with ``E2E_POLICIES=<file>``: the trust and permission policies of the stack's roles (the function's, the
    operator's, each writer role), read from IAM in each account, for the least-privilege test to replay the
    calls against;
 8. ``tflocal destroy``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.parse
from dataclasses import asdict, dataclass, field
from typing import Any

import boto3
from e2e import (
    LOG,
    ROOT,
    SUMMARY,
    VENV_BIN,
    E2EError,
    Item,
    differences,
    localstack,
    log,
    run,
    say,
    scan,
    shown,
    step,
    tflocal,
)

sys.path.insert(0, str(ROOT / "lambda_src"))
from replica_targets import ReplicaTarget, parse_targets

EXAMPLE = ROOT / "examples" / "multi-region"
# A role in the second account for Terraform's provider to assume; LocalStack enforces no IAM, so it need not
# exist: the credentials STS returns for it are that account's.
OTHER_ACCOUNT_ROLE = "arn:aws:iam::222222222222:role/OrganizationAccountAccessRole"
# The example's operator role: ddb-replica runs as it, with the replication module's operator policy, and the
# writer role trusts it (operator_role_arns), as an operator's role on AWS.
VARIABLES = ["-var", f"replica_account_role_arn={OTHER_ACCOUNT_ROLE}", "-var", "create_operator_role=true"]
BACKFILL_SLICE = 25  # items deleted by hand from each target, for its backfill to copy back
TARGETS_JSON = ROOT / "build" / "e2e-multi-region-targets.json"
OUTPUTS_JSON = (
    ROOT / "build" / "e2e-multi-region-outputs.json"
)  # terraform output -json, for status and redrive


@dataclass
class TargetSummary:
    region: str
    account: str
    replica_items: int = 0
    mismatches: int = 0
    convergence_seconds: float = 0.0
    backfill_copied: int = 0
    verify_exit: int = -1
    logged_batches: int = 0  # the function's log lines that name the target


@dataclass
class MultiRegionSummary:
    example: str
    csv: str
    source: str = ""
    rows_loaded: int = 0
    source_items: int = 0
    targets: dict[str, TargetSummary] = field(default_factory=dict)
    verified: bool = False
    mismatch_examples: list[str] = field(default_factory=list)
    status_exit: int | None = None  # ddb-replica status --outputs-json, as the operator
    redrive_exit: int | None = None  # ddb-replica redrive --outputs-json (an empty queue), as the operator
    operator_commands: list[str] = field(default_factory=list)  # their output


def run_multi_region(endpoint: str, csv: str, keep: bool, timeout: float, name: str | None = None) -> int:
    summary = MultiRegionSummary(example="multi-region", csv=csv)
    variables = [*VARIABLES]
    if name is not None:
        variables += ["-var", f"source_table_name={name}", "-var", f"replica_table_name={name}_replica"]
    try:
        with localstack(endpoint):
            deployed = False
            try:
                outputs = deploy(variables)
                deployed = True
                operator = operator_session(endpoint, outputs["operator_role_arn"])
                exercise(endpoint, operator, outputs, csv, timeout, summary)
                if os.environ.get("E2E_POLICIES"):
                    save_role_policies(endpoint, outputs, os.environ["E2E_POLICIES"])
            finally:
                if deployed and not keep:
                    with step("tflocal destroy of examples/multi-region"):
                        tflocal(
                            "destroy",
                            "-auto-approve",
                            "-input=false",
                            "-no-color",
                            *variables,
                            example=EXAMPLE,
                        )
    except E2EError as error:
        log(f"e2e: FAILED: {error}")
        print(f"e2e: FAILED: {error}\ne2e: the whole output: {shown(LOG)}", file=sys.stderr)
        return 1
    SUMMARY.parent.mkdir(parents=True, exist_ok=True)
    SUMMARY.write_text(json.dumps(asdict(summary), indent=2) + "\n")
    for name, target in summary.targets.items():
        say(
            f"target {name}: {target.region}, account {target.account}, {target.replica_items} items, "
            f"{target.mismatches} mismatches, converged in {target.convergence_seconds:.2f} s, "
            f"backfill copied {target.backfill_copied}"
        )
    say(f"summary written to {shown(SUMMARY)}")
    if not summary.verified:
        for problem in summary.mismatch_examples:
            print(f"  {problem}", file=sys.stderr)
        print("e2e: FAILED: a target does not match the source", file=sys.stderr)
        return 1
    say("OK: every target verified item by item")
    return 0


def deploy(variables: list[str]) -> dict[str, Any]:
    with step("tflocal init (examples/multi-region)"):
        tflocal("init", "-input=false", "-upgrade", "-no-color", example=EXAMPLE)
    with step("tflocal apply of examples/multi-region") as notes:
        applied = tflocal("apply", "-auto-approve", "-input=false", "-no-color", *variables, example=EXAMPLE)
        notes += [line.strip(". ") for line in applied.splitlines() if line.startswith("Apply complete!")]
    outputs: dict[str, Any] = {
        name: value["value"]
        for name, value in json.loads(tflocal("output", "-json", example=EXAMPLE)).items()
    }
    return outputs


def operator_session(endpoint: str, role_arn: str) -> boto3.session.Session:
    """A session of the operator role, for ddb-replica."""
    sts = boto3.client("sts", endpoint_url=endpoint)
    credentials = sts.assume_role(RoleArn=role_arn, RoleSessionName="e2e-operator")
    return boto3.session.Session(
        aws_access_key_id=credentials["Credentials"]["AccessKeyId"],
        aws_secret_access_key=credentials["Credentials"]["SecretAccessKey"],
        aws_session_token=credentials["Credentials"]["SessionToken"],
    )


def operator_env(operator: boto3.session.Session, endpoint: str) -> dict[str, str]:
    credentials = operator.get_credentials()
    assert credentials is not None and credentials.token is not None
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": credentials.access_key,
        "AWS_SECRET_ACCESS_KEY": credentials.secret_key,
        "AWS_SESSION_TOKEN": credentials.token,
    }


def exercise(
    endpoint: str,
    operator: boto3.session.Session,
    outputs: dict[str, Any],
    csv: str,
    timeout: float,
    summary: MultiRegionSummary,
) -> None:
    summary.source = outputs["source_table_name"]
    TARGETS_JSON.parent.mkdir(parents=True, exist_ok=True)
    TARGETS_JSON.write_text(json.dumps(outputs["replica_targets"], indent=1))
    targets = parse_targets(TARGETS_JSON.read_text(), "replica_targets output")
    session = boto3.session.Session()
    source = session.client("dynamodb", endpoint_url=endpoint)
    # The e2e's own reads and edits of each target, as the target account's administrator: not through a role
    # under test, whose calls (the function's, ddb-replica's) the least-privilege test replays.
    clients = {target.name: administrator_client(target, endpoint) for target in targets}
    for target in targets:
        arn = outputs["replica_targets"][target.name]["table_arn"]
        summary.targets[target.name] = TargetSummary(region=arn.split(":")[3], account=arn.split(":")[4])

    started = time.monotonic()
    with step(f"load {csv} into {summary.source} (loader/load_logfile.py)") as notes:
        output = run(
            [sys.executable, "loader/load_logfile.py", summary.source, csv, "--quiet"],
            env={"AWS_ENDPOINT_URL": endpoint},
        )
        notes.append(output.strip().splitlines()[-1] if output.strip() else "")
    expected = scan(source, summary.source)
    summary.source_items = len(expected)
    with step("wait until every target equals the source, item by item") as notes:
        converged = converge(clients, targets, expected, timeout, started)
        for target in targets:
            summary.targets[target.name].convergence_seconds = converged[target.name]
            notes.append(f"{target.name} after {converged[target.name]:.2f} s")
    with step("the function's log lines, by target") as notes:
        for name, lines in logged_batches(session, endpoint, outputs["lambda_function_name"]).items():
            if name in summary.targets:
                summary.targets[name].logged_batches = lines
            notes.append(f"{name}: {lines}")
    as_operator = operator_env(operator, endpoint)
    for target in targets:
        backfill_target(as_operator, clients[target.name], target, expected, summary)
    problems: list[str] = []
    for target in targets:
        problems += verify_target(as_operator, clients[target.name], target, expected, summary)
    summary.mismatch_examples = problems[:20]
    status_and_redrive(as_operator, outputs, summary)
    summary.verified = not problems and all(
        t.mismatches == 0 and t.replica_items == summary.source_items and t.verify_exit == 0
        for t in summary.targets.values()
    )


def converge(
    clients: dict[str, Any],
    targets: tuple[ReplicaTarget, ...],
    expected: dict[str, Item],
    timeout: float,
    started: float,
) -> dict[str, float]:
    """Poll every target until each equals the source; the seconds from ``started`` at which each did."""
    converged: dict[str, float] = {}
    while len(converged) < len(targets):
        for target in (target for target in targets if target.name not in converged):
            found = scan(clients[target.name], target.table_name)
            if found == expected:
                converged[target.name] = round(time.monotonic() - started, 2)
            elif time.monotonic() - started > timeout:
                raise E2EError(
                    f"target {target.name} has {len(found)} of {len(expected)} items after {timeout:.0f} s; "
                    f"the first differences: {differences(expected, found)[:5]}; function log in {shown(LOG)}"
                )
        time.sleep(0.5)
    return converged


def logged_batches(session: boto3.session.Session, endpoint: str, function: str) -> dict[str, int]:
    """The function's JSON log lines by the target they name (LocalStack stores them just after each
    invocation: read until two reads agree)."""
    logs = session.client("logs", endpoint_url=endpoint)
    counts: dict[str, int] = {}
    for _ in range(10):
        found: dict[str, int] = {}
        pages = logs.get_paginator("filter_log_events").paginate(logGroupName=f"/aws/lambda/{function}")
        for event in (event for page in pages for event in page["events"]):
            if event["message"].startswith("{"):
                name = json.loads(event["message"]).get("target", "?")
                found[name] = found.get(name, 0) + 1
        if found and found == counts:
            break
        counts = found
        time.sleep(1)
    return counts


def backfill_target(
    env: dict[str, str],
    replica: Any,
    target: ReplicaTarget,
    expected: dict[str, Item],
    summary: MultiRegionSummary,
) -> None:
    """Items the target lacks (as if it had been added after they were written): backfill copies them."""
    with step(f"target {target.name}: {BACKFILL_SLICE} items deleted by hand, ddb-replica backfill") as notes:
        for key in sorted(expected)[:BACKFILL_SLICE]:
            replica.delete_item(TableName=target.table_name, Key={"PK": {"S": key}})
        state = ROOT / "build" / f"e2e-backfill-{target.name}"
        args = ["--targets-json", str(TARGETS_JSON), "--target", target.name, "--state-dir", str(state)]
        output = run(
            [str(VENV_BIN / "ddb-replica"), "backfill", "--source", summary.source, *args, "--quiet"], env=env
        )
        line = next((line for line in output.splitlines() if " copied " in line), "")
        copied = int(line.split(" copied ")[1].split(",")[0]) if line else 0
        summary.targets[target.name].backfill_copied = copied
        notes.append(line.split(": ", 1)[-1])
        if copied != BACKFILL_SLICE:
            raise E2EError(
                f"target {target.name}: the backfill copied {copied}, not {BACKFILL_SLICE}: {line}"
            )


def verify_target(
    env: dict[str, str],
    replica: Any,
    target: ReplicaTarget,
    expected: dict[str, Item],
    summary: MultiRegionSummary,
) -> list[str]:
    with step(f"target {target.name}: ddb-replica verify, then item by item here") as notes:
        command = [str(VENV_BIN / "ddb-replica"), "verify", "--source", summary.source]
        command += ["--targets-json", str(TARGETS_JSON), "--target", target.name, "--json"]
        log("$ " + " ".join(command))
        environ = {**os.environ, **env}
        result = subprocess.run(command, cwd=ROOT, env=environ, capture_output=True, text=True, check=False)
        log(result.stdout + result.stderr + f"(exit {result.returncode})")
        found = scan(replica, target.table_name)
        problems = [f"{target.name}: {problem}" for problem in differences(expected, found)]
        result_summary = summary.targets[target.name]
        result_summary.verify_exit = result.returncode
        result_summary.replica_items = len(found)
        result_summary.mismatches = len(problems)
        notes.append(f"verify exit {result.returncode}, {len(found)} items, {len(problems)} mismatches")
    return problems


def status_and_redrive(env: dict[str, str], outputs: dict[str, Any], summary: MultiRegionSummary) -> None:
    """ddb-replica status and redrive from the example's outputs, as the operator: their exit codes."""
    with step("ddb-replica status and redrive (--outputs-json), as the operator") as notes:
        OUTPUTS_JSON.write_text(json.dumps({name: {"value": value} for name, value in outputs.items()}))
        for command in ("status", "redrive"):
            argv = [str(VENV_BIN / "ddb-replica"), command, "--outputs-json", str(OUTPUTS_JSON)]
            log("$ " + " ".join(argv))
            environ = {**os.environ, **env}
            result = subprocess.run(argv, cwd=ROOT, env=environ, capture_output=True, text=True, check=False)
            output = result.stdout + result.stderr
            log(output + f"(exit {result.returncode})")
            summary.operator_commands.append(f"$ ddb-replica {command}\n{output}(exit {result.returncode})")
            setattr(summary, f"{command}_exit", result.returncode)
            notes.append(f"{command} exit {result.returncode}: {output.strip().splitlines()[-1:]}")


def save_role_policies(endpoint: str, outputs: dict[str, Any], path: str) -> None:
    """The applied policies of the function's role and of each writer role, by role ARN: its trust policy and
    its permission policies (inline and attached), as IAM returns them."""
    with step(f"the applied role policies, to {path}") as notes:
        roles = [outputs["lambda_role_arn"], outputs["operator_role_arn"]]
        roles += [t["role_arn"] for t in outputs["replica_targets"].values() if t.get("role_arn")]
        documents = {arn: role_policies(iam_client(endpoint, arn), arn.rsplit("/", 1)[1]) for arn in roles}
        with open(path, "w", encoding="utf-8") as out:
            json.dump(documents, out, indent=1)
        notes.append(
            ", ".join(f"{arn.rsplit('/', 1)[1]}: {len(d['policies'])}" for arn, d in documents.items())
        )


def administrator(endpoint: str, account: str) -> boto3.session.Session:
    """A session of the account's administrator: the caller's own credentials, or the second account's role
    that Terraform's provider assumes too; never a role under test."""
    session = boto3.session.Session()
    if account == session.client("sts", endpoint_url=endpoint).get_caller_identity()["Account"]:
        return session
    if account != OTHER_ACCOUNT_ROLE.split(":")[4]:
        raise E2EError(f"no administrator role known for account {account} (only {OTHER_ACCOUNT_ROLE})")
    sts = session.client("sts", endpoint_url=endpoint)
    credentials = sts.assume_role(RoleArn=OTHER_ACCOUNT_ROLE, RoleSessionName="e2e-administrator")[
        "Credentials"
    ]
    return boto3.session.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def administrator_client(target: ReplicaTarget, endpoint: str) -> Any:
    account = target.role_arn.split(":")[4] if target.role_arn else ""
    session = administrator(endpoint, account) if account else boto3.session.Session()
    return session.client("dynamodb", region_name=target.region, endpoint_url=endpoint)


def iam_client(endpoint: str, role_arn: str) -> Any:
    """IAM of the role's account, as its administrator."""
    return administrator(endpoint, role_arn.split(":")[4]).client("iam", endpoint_url=endpoint)


def role_policies(iam: Any, role: str) -> dict[str, Any]:
    """A role's trust policy, its permission policies by name (IAM may return a document URL-encoded) and its
    permissions boundary's ARN, if any."""
    policies: dict[str, Any] = {}
    for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        policies[name] = document(iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"])
    for attached in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]:
        version = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]["DefaultVersionId"]
        found = iam.get_policy_version(PolicyArn=attached["PolicyArn"], VersionId=version)
        policies[attached["PolicyArn"]] = document(found["PolicyVersion"]["Document"])
    found = iam.get_role(RoleName=role)["Role"]
    boundary = found.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn")
    return {"trust": document(found["AssumeRolePolicyDocument"]), "policies": policies, "boundary": boundary}


def document(value: Any) -> Any:
    if isinstance(value, str):
        return json.loads(urllib.parse.unquote(value))
    return value
