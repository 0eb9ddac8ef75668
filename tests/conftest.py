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
