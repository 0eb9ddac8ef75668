"""Shared test settings: fake credentials and a fixed region, so no test can reach a real AWS account;
and the session's LocalStack for the tests that need one."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
from e2e import localstack as running_localstack  # noqa: E402

# moto 5 with botocore >= 1.44: streams calls made by ARN go to an account-specific host that
# in-process moto does not match; "disabled" keeps the regional endpoint.
os.environ.setdefault("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_SESSION_TOKEN", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_REGION", "us-east-1")

# Not exported: unit tests rely on moto intercepting the default AWS endpoints.
LOCALSTACK_ENDPOINT = os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")


@pytest.fixture(scope="session")
def localstack() -> Iterator[str]:
    """The LocalStack endpoint: a running one is reused and left alone; otherwise one is started
    with tools/localstack.sh for the session and stopped afterwards."""
    with running_localstack(LOCALSTACK_ENDPOINT):
        yield LOCALSTACK_ENDPOINT
