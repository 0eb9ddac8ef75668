"""Test functions for the subprocess executor: each behaviour a handler can have on AWS."""

import json
import os
import time
from typing import Any


def echo(event: dict[str, Any], context: Any) -> dict[str, Any]:
    print(f"echo {json.dumps(event)}")
    names = ("AWS_LAMBDA_FUNCTION_NAME", "AWS_REGION", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "MY_SETTING")
    return {
        "event": event,
        "env": {name: os.environ.get(name) for name in names},
        "request_id": context.aws_request_id,
        "remaining_ms": context.get_remaining_time_in_millis(),
    }


def sleeper(event: dict[str, Any], context: Any) -> str:
    print("going to sleep")
    time.sleep(float(event.get("seconds", 30)))
    return "woke up"


def boom(event: dict[str, Any], context: Any) -> None:
    raise ValueError("boom: this handler always fails")
