"""Shared test settings: fake credentials and a fixed region, so no test can reach a real AWS account."""

from __future__ import annotations

import os

# moto 5 with botocore >= 1.44: streams calls made by ARN go to an account-specific host that
# in-process moto does not match; "disabled" keeps the regional endpoint.
os.environ.setdefault("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_SESSION_TOKEN", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_REGION", "us-east-1")


# ---- LocalStack ------------------------------------------------------------------------------------
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LOCALSTACK_ENDPOINT = os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")


def _localstack_answers(endpoint: str) -> bool:
    try:
        with urllib.request.urlopen(f"{endpoint}/_localstack/health", timeout=2) as response:
            return b'"services"' in response.read()
    except OSError:
        return False


@pytest.fixture(scope="session")
def localstack() -> Iterator[str]:
    """The LocalStack endpoint: a running one is reused and left alone; otherwise one is started
    with tools/localstack.sh for the session and stopped afterwards."""
    if _localstack_answers(LOCALSTACK_ENDPOINT):
        yield LOCALSTACK_ENDPOINT
        return
    env = {**os.environ, "AWS_ENDPOINT_URL": LOCALSTACK_ENDPOINT}
    subprocess.run([str(ROOT / "tools" / "localstack.sh"), "up"], check=True, env=env)
    try:
        yield LOCALSTACK_ENDPOINT
    finally:
        subprocess.run([str(ROOT / "tools" / "localstack.sh"), "down"], check=False, env=env)
