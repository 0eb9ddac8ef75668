"""One AWS provider process for every Terraform command of a test, instead of one per command.

Why: Terraform starts the provider plugin afresh for each walk of a command (plan, apply, validate, each
``run`` block of a terraform test: with TF_LOG=debug, 15 starts for the 5 runs of modules/dynamodb-table's
tests), and each start of the 900 MB AWS provider, with its schema, costs seconds of CPU. On 2 cores that CPU
is the suite's time: modules/dynamodb-table's `terraform test` took 10.5 s of CPU (Terraform and providers)
and 4.6 s with one shared process (/usr/bin/time, both under the same load).

How: TF_REATTACH_PROVIDERS, the mechanism the provider's own acceptance tests use (terraform-plugin-testing):
the provider runs in debug mode (``-debug``), prints where it listens, and Terraform and OpenTofu attach to it
instead of starting it. The binary is the one ``init`` installed in the data directory, so the version under
test does not change; only its process lives longer.

Only for configurations with a single configuration of the provider (mock providers, or one ``provider``
block): a provider process holds one configuration, and Terraform would configure a shared process once per
alias, each overwriting the last.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest

PROVIDER = "hashicorp/aws"
REATTACH = "TF_REATTACH_PROVIDERS"
START_TIMEOUT_SECONDS = 120.0  # a cold start of the provider under make test's load took up to about 20 s


def installed_provider(data_dir: Path) -> tuple[str, Path]:
    """The provider's source address (``registry.terraform.io/hashicorp/aws``, or OpenTofu's registry) and
    the binary that ``init`` installed for it in ``data_dir``."""
    found = sorted(data_dir.glob(f"providers/*/{PROVIDER}/*/*/terraform-provider-aws*"))
    if len(found) != 1:
        pytest.fail(f"expected one {PROVIDER} installed by init in {data_dir}/providers, found {found}")
    host = found[0].relative_to(data_dir / "providers").parts[0]
    return f"{host}/{PROVIDER}", found[0]


def reattach_config(log: Path, pid: int) -> dict[str, object] | None:
    """The provider's reattach configuration from its output, once it has printed it."""
    for line in log.read_text(errors="replace").splitlines():
        _, found, value = line.partition(f"{REATTACH}='")
        if found:
            (config,) = json.loads(value.rstrip("'")).values()
            assert config["Pid"] == pid, f"{log}: the reattach line names another process: {line}"
            return dict(config)
    return None


@contextmanager
def shared_provider(
    data_dir: Path, log: Path, cwd: Path, env: Mapping[str, str] | None = None
) -> Iterator[dict[str, str]]:
    """Start the provider installed in ``data_dir`` in debug mode (its output in ``log``), and yield the
    environment that makes Terraform and OpenTofu use it; stop it afterwards. ``cwd``: the configuration's
    directory, where Terraform would start it (the provider reads relative paths from there: a Lambda zip);
    ``env``: the environment the commands run with, which Terraform would pass on to it (endpoints)."""
    address, binary = installed_provider(data_dir)
    with open(log, "w") as output:
        process = subprocess.Popen(
            [str(binary), "-debug"],
            cwd=cwd,
            env=None if env is None else dict(env),
            stdout=output,
            stderr=subprocess.STDOUT,
            # the caller's process group (no new session): whatever stops the test run's group (Ctrl-C, a CI
            # runner) stops it too; a pytest worker killed on its own leaves it running (no finally then)
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while (config := reattach_config(log, process.pid)) is None:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"{binary} -debug printed no {REATTACH} line (exit {process.poll()}): see {log}")
            time.sleep(0.2)
        yield {REATTACH: json.dumps({address: config})}
    finally:
        process.send_signal(
            signal.SIGINT
        )  # in debug mode it stops cleanly (and removes its socket) on SIGINT
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
