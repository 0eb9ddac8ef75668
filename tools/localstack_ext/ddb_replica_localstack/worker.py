"""Lambda Python runtime worker: imports the handler once, then serves invocations.

Runs inside a runtime venv (python3.12, python3.13 with boto3, like AWS's runtime) and uses only the
standard library. Requests arrive as JSON lines on one inherited pipe, responses leave on another
(their fd numbers are in ``_WORKER_FDS``);
stdout and stderr belong to the function (the executor ships them to CloudWatch Logs).
Error payloads follow AWS's Python runtime: errorMessage, errorType, requestId, stackTrace.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import json
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

PR_SET_PDEATHSIG = 1


class LambdaContext:
    """The subset of AWS's context object that handlers use."""

    def __init__(self, request: dict[str, Any]) -> None:
        self.aws_request_id: str = request["request_id"]
        self.invoked_function_arn: str = request["invoked_function_arn"]
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None
        self._deadline_ms: int = request["deadline_ms"]

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


def error_payload(error_type: str, message: str, request_id: str, stack: list[str]) -> dict[str, Any]:
    return {"errorMessage": message, "errorType": error_type, "requestId": request_id, "stackTrace": stack}


def load_handler(spec: str) -> Callable[[Any, LambdaContext], Any] | dict[str, Any]:
    """Import ``module.function``; on failure return the error payload AWS would return."""
    module_name, _, function_name = spec.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # AWS reports any import-time failure as Runtime.ImportModuleError
        message = f"Unable to import module '{module_name}': {exc}"
        print(f"[ERROR] Runtime.ImportModuleError: {message}", file=sys.stderr)
        traceback.print_exc()
        return error_payload("Runtime.ImportModuleError", message, "", [])
    handler = getattr(module, function_name, None)
    if not callable(handler):
        message = f"Handler '{function_name}' missing on module '{module_name}'"
        print(f"[ERROR] Runtime.HandlerNotFound: {message}", file=sys.stderr)
        return error_payload("Runtime.HandlerNotFound", message, "", [])
    return handler  # type: ignore[no-any-return]


def run_handler(handler: Callable[[Any, LambdaContext], Any], request: dict[str, Any]) -> dict[str, Any]:
    request_id = request["request_id"]
    try:
        event = json.loads(request["payload"]) if request["payload"] else {}
        result = handler(event, LambdaContext(request))
    except Exception as exc:
        stack = traceback.format_list(traceback.extract_tb(exc.__traceback__)[1:])
        error_type = type(exc).__name__
        print(f"[ERROR] {error_type}: {exc}", file=sys.stderr)
        traceback.print_exc()
        return {"ok": False, "payload": error_payload(error_type, str(exc), request_id, stack)}
    try:
        return {"ok": True, "payload": json.dumps(result)}
    except (TypeError, ValueError) as exc:
        message = f"Unable to marshal response: {exc}"
        print(f"[ERROR] Runtime.MarshalError: {message}", file=sys.stderr)
        return {"ok": False, "payload": error_payload("Runtime.MarshalError", message, request_id, [])}


def die_with_parent() -> None:
    """Ask Linux to SIGKILL this worker when the executor process dies, so nothing is left behind."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def main() -> None:
    die_with_parent()
    task_root = os.environ["LAMBDA_TASK_ROOT"]
    sys.path.insert(0, task_root)
    os.chdir(task_root)
    handler = load_handler(os.environ["_HANDLER"])
    request_fd, response_fd = (int(fd) for fd in os.environ.pop("_WORKER_FDS").split(","))
    requests = os.fdopen(request_fd, "r", encoding="utf-8")
    responses = os.fdopen(response_fd, "w", encoding="utf-8")
    responses.write(json.dumps({"ready": True}) + "\n")
    responses.flush()
    for line in requests:
        request = json.loads(line)
        if isinstance(handler, dict):
            response = {"ok": False, "payload": {**handler, "requestId": request["request_id"]}}
        else:
            response = run_handler(handler, request)
        sys.stdout.flush()
        sys.stderr.flush()
        responses.write(json.dumps(response) + "\n")
        responses.flush()


if __name__ == "__main__":
    main()
