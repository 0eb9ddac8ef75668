"""parliament over the IAM policies the modules render: `make lint` lints every permission policy that the
modules' rendering tests plan (no argument); the multi-region e2e test lints those of the applied stack.

    python tools/policy_lint.py             # render with `terraform test` (mock providers), then lint
    python tools/policy_lint.py FILE.json   # lint policy documents: one document, or {name: document}

A finding fails, unless EXPLAINED explains it for its statement (the same reason stands in a comment next to
the statement in the module). Permission policies only: parliament reads identity policies; the trust policies
are checked by the multi-region e2e test, against the calls that assumed each role.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Modules, and the test file whose runs render their policies (every combination the module can render).
RENDERING_TESTS = {
    "modules/dynamodb-stream-replica": "tests/policies.tftest.hcl",
    "modules/replica-target": "tests/writer_role.tftest.hcl",
    "modules/serverless-backfill": "tests/backfill.tftest.hcl",
}
STREAM_ARN = re.compile(r"^arn:[^:]+:dynamodb:[^:]+:\d{12}:table/[^/]+/stream/.+$")
STREAM_FORMAT = "arn:*:dynamodb:*:*:table/*/stream/*"


def _stream_label_colons(statement: dict[str, Any], detail: Any) -> bool:
    """parliament splits an ARN at every colon, and a stream's label is a timestamp with colons
    (table/<name>/stream/2026-01-01T00:00:00.000): a mismatch it reports for stream actions on stream ARNs is
    its own. Only then: every resource a stream ARN, and every format it asked for the stream's."""
    resources = statement.get("Resource", [])
    resources = resources if isinstance(resources, list) else [resources]
    formats = [entry.get("required_format") for entry in detail] if isinstance(detail, list) else [None]
    return all(STREAM_ARN.match(r) for r in resources) and all(f == STREAM_FORMAT for f in formats)


def _other_step_functions_resource(kind: str) -> Callable[[dict[str, Any], Any], bool]:
    """parliament asks a Step Functions action for each resource type the action takes, and reports the one
    a statement does not name: ListExecutions also takes a Distributed Map run (mapRun), DescribeExecution an
    Express execution. The backfill's state machine is STANDARD with an inline Map, so it has neither: only
    when every format asked for is that ``kind``."""
    required = f"arn:*:states:*:*:{kind}:"

    def explained(statement: dict[str, Any], detail: Any) -> bool:
        formats = [entry.get("required_format") for entry in detail] if isinstance(detail, list) else [None]
        return all(str(f).startswith(required) for f in formats)

    return explained


# (parliament issue, statement Sid) -> when the finding stands explained (the reason is in the function's
# docstring and in a comment next to the statement in the module).
EXPLAINED: dict[tuple[str, str], Callable[[dict[str, Any], Any], bool]] = {
    ("RESOURCE_MISMATCH", "ReadSourceStream"): _stream_label_colons,
    ("RESOURCE_MISMATCH", "RunServerlessBackfill"): _other_step_functions_resource("mapRun"),
    ("RESOURCE_MISMATCH", "FollowServerlessBackfill"): _other_step_functions_resource("express"),
}
# The attributes of planned resources that hold a policy document, by resource type.
POLICY_ATTRIBUTES = {"aws_iam_role_policy": "policy", "aws_iam_policy": "policy"}


def policy_findings(document: dict[str, Any]) -> list[str]:
    """parliament's findings on one permission policy, except the EXPLAINED ones, as readable lines."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # parliament imports pkg_resources, deprecated in setuptools
        from parliament import analyze_policy_string

    # One statement per line: parliament locates a finding by line, which then names its statement.
    statements = _statements(document)
    text = (
        '{"Version": "2012-10-17", "Statement": [\n' + ",\n".join(json.dumps(s) for s in statements) + "\n]}"
    )
    policy = analyze_policy_string(text)
    found = []
    for finding in policy.findings:
        line = finding.location.get("line", 0) if isinstance(finding.location, dict) else 0
        sid = str(statements[line - 2].get("Sid", line - 2)) if 2 <= line < len(statements) + 2 else "?"
        statement = statements[line - 2] if 2 <= line < len(statements) + 2 else {}
        explained = EXPLAINED.get((finding.issue, sid))
        if explained is None or not explained(statement, finding.detail):
            found.append(f"{finding.issue} in statement {sid}: {finding.detail}")
    return found


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    statements = document.get("Statement", [])
    return statements if isinstance(statements, list) else [statements]


def rendered_policies(cli: str, env: dict[str, str] | None = None) -> list[tuple[str, dict[str, Any]]]:
    """(module / test run / address, document) for every policy the rendering tests apply, rendered by
    `terraform test -json -verbose` with the modules' mock providers (no AWS, no LocalStack); one module per
    thread (each is a process of its own)."""
    with ThreadPoolExecutor(max_workers=len(RENDERING_TESTS)) as pool:
        rendered = pool.map(lambda item: _render(cli, item[0], item[1], env=env), RENDERING_TESTS.items())
    return [document for documents in rendered for document in documents]


def _render(
    cli: str, module: str, test_file: str, env: dict[str, str] | None = None
) -> list[tuple[str, dict[str, Any]]]:
    with tempfile.TemporaryDirectory() as work:
        copy = Path(work) / "modules"
        shutil.copytree(ROOT / "modules", copy, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"))
        directory = copy / Path(module).name
        init = [cli, "init", "-backend=false", "-input=false"]
        subprocess.run(init, cwd=directory, env=env, check=True, capture_output=True)
        result = subprocess.run(
            [cli, "test", "-json", "-verbose", f"-filter={test_file}"],
            cwd=directory,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
    if result.returncode != 0:
        raise SystemExit(
            f"error: `{cli} test -filter={test_file}` in {module} failed:\n"
            + result.stdout[-3000:]
            + result.stderr[-3000:]
        )
    documents = documents_of_test_output(result.stdout, module, test_file)
    if not documents:  # a CLI that prints no test_state, or runs that plan only: nothing would be linted
        raise SystemExit(
            f"error: `{cli} test -json -verbose -filter={test_file}` in {module} rendered no policy"
        )
    return documents


def documents_of_test_output(stdout: str, module: str, test_file: str) -> list[tuple[str, dict[str, Any]]]:
    """(module / test run / address, document) for every policy that the runs of ``test_file`` planned or
    applied, read from the output of `terraform test -json -verbose` (of that file or of every file)."""
    documents: list[tuple[str, dict[str, Any]]] = []
    for line in stdout.splitlines():
        message = json.loads(line)
        if message.get("@testfile") != test_file:
            continue
        for key in ("test_plan", "test_state"):
            if key in message:
                run = message.get("@testrun", "")
                documents += [(f"{module} run {run}: {a}", d) for a, d in _documents(message[key])]
    return documents


def _documents(shown: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """The policy documents among a plan's or a state's resources, in every module."""
    # a plan's planned_values, a state's values, or (terraform test's test_state) the values themselves
    values = shown.get("planned_values") or shown.get("values") or shown
    for name, output in values.get("outputs", {}).items():  # policies a module hands to its caller
        if name.endswith("policy_json") and isinstance(output.get("value"), str):
            yield f"output.{name}", json.loads(output["value"])
    root = values.get("root_module", {})
    modules = [root]
    while modules:
        module = modules.pop()
        modules += module.get("child_modules", [])
        for resource in module.get("resources", []):
            attribute = POLICY_ATTRIBUTES.get(resource.get("type", ""))
            value = resource.get("values", {}).get(attribute) if attribute else None
            if isinstance(value, str) and value:
                yield resource["address"], json.loads(value)


def main(argv: list[str]) -> int:
    if argv:
        documents: list[tuple[str, dict[str, Any]]] = []
        for path in argv:
            loaded = json.loads(Path(path).read_text())
            documents += (
                [(path, loaded)]
                if "Statement" in loaded
                else [(f"{path}: {k}", v) for k, v in loaded.items()]
            )
    else:
        cli = os.environ.get("TF") or "terraform"
        documents = rendered_policies(cli)
    problems = [f"{name}: {finding}" for name, document in documents for finding in policy_findings(document)]
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"policy lint (parliament): {len(documents)} policies, {len(problems)} findings")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
