"""``subprocess`` Lambda runtime executor: each execution environment is a local worker process.

LocalStack's only built-in executor runs functions in Docker. This one starts ``worker.py`` with the
interpreter of a per-runtime venv (``<runtimes dir>/<runtime>/bin/python``, holding boto3 like AWS's
runtime), in its own process group, with the environment AWS gives a function. It enforces the
function timeout (the worker is killed and replaced on the next invoke, as AWS re-initialises a
sandbox after a timeout), returns handler and import errors as error results (LocalStack reports them
as ``FunctionError``), and hands the worker's stdout/stderr back as the invocation's logs, which
LocalStack stores in CloudWatch Logs.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import IO, Any

from localstack import config  # type: ignore[attr-defined]
from localstack.services.lambda_.invocation.lambda_models import FunctionVersion, InvocationResult
from localstack.services.lambda_.invocation.runtime_executor import LambdaRuntimeException, RuntimeExecutor

LOG = logging.getLogger(__name__)
WORKER = Path(__file__).with_name("worker.py")
RUNTIMES_DIR_ENV = "LAMBDA_SUBPROCESS_RUNTIMES_DIR"
STARTUP_TIMEOUT_S = 30.0


def runtimes_dir() -> Path:
    configured = os.environ.get(RUNTIMES_DIR_ENV)
    if configured:
        return Path(configured)
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "ddb-replica" / "lambda-runtimes"


def runtime_python(runtime: str | None) -> Path:
    """The interpreter for a runtime such as ``python3.12``, or an error naming the fix."""
    if not runtime or not runtime.startswith("python"):
        raise LambdaRuntimeException(
            f"runtime {runtime!r} is not supported by the subprocess executor (python3.x runtimes only)"
        )
    python = runtimes_dir() / runtime / "bin" / "python"
    if not python.exists():
        raise LambdaRuntimeException(
            f"no venv for runtime {runtime} at {python.parent.parent}; run `make setup` "
            f"(or set {RUNTIMES_DIR_ENV}) to create it"
        )
    return python


def gateway_host() -> str:
    host = config.GATEWAY_LISTEN[0].host
    return "127.0.0.1" if host in ("0.0.0.0", "", "::") else host


class SubprocessRuntimeExecutor(RuntimeExecutor):
    """One worker process per execution environment."""

    def __init__(self, id: str, function_version: FunctionVersion) -> None:
        super().__init__(id=id, function_version=function_version)
        self._env: dict[str, str] = {}
        self._dir = Path(tempfile.mkdtemp(prefix=f"lambda-{id}-"))
        self._log_path = self._dir / "output.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._requests: IO[str] | None = None
        self._responses: IO[str] | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self, env_vars: dict[str, str]) -> None:
        code_dir = str(self.function_version.config.code.get_unzipped_code_location())
        python = runtime_python(self.function_version.config.runtime)
        self._env = {key: str(value) for key, value in env_vars.items()}
        self._env.update(
            {
                "LAMBDA_TASK_ROOT": code_dir,
                "LAMBDA_RUNTIME_DIR": str(WORKER.parent),
                "PATH": f"{python.parent}:/usr/local/bin:/usr/bin:/bin",
                "HOME": str(self._dir),
                "LANG": "en_US.UTF-8",
                "PYTHONUNBUFFERED": "1",
            }
        )
        self._spawn()

    def _spawn(self) -> None:
        python = runtime_python(self.function_version.config.runtime)
        request_read, request_write = os.pipe()
        response_read, response_write = os.pipe()
        self._env["_WORKER_FDS"] = f"{request_read},{response_write}"
        log = open(self._log_path, "ab")  # noqa: SIM115 - handed to the child, closed right after
        try:
            self._proc = subprocess.Popen(
                [str(python), "-u", str(WORKER)],
                env=self._env,
                cwd=self._env["LAMBDA_TASK_ROOT"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                pass_fds=(request_read, response_write),
                start_new_session=True,
            )
        finally:
            log.close()
            os.close(request_read)
            os.close(response_write)
        self._requests = os.fdopen(request_write, "w", encoding="utf-8")
        self._responses = os.fdopen(response_read, "r", encoding="utf-8")
        ready = self._read_response(STARTUP_TIMEOUT_S)
        if ready is None or not ready.get("ready"):
            output = self.get_logs()
            self._kill()
            raise LambdaRuntimeException(
                f"worker for {self.function_version.qualified_arn} did not start:\n{output}"
            )

    def stop(self) -> None:
        self._kill()
        shutil.rmtree(self._dir, ignore_errors=True)

    def _kill(self) -> None:
        if self._proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._proc.pid, signal.SIGKILL)
            self._proc.wait()
            self._proc = None
        for stream in (self._requests, self._responses):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        self._requests = self._responses = None

    # -- invocation ------------------------------------------------------------------------------
    def invoke(self, payload: dict[str, str]) -> InvocationResult:
        request_id = payload["invoke-id"]
        timeout_s = float(self.function_version.config.timeout)
        if self._proc is None or self._proc.poll() is not None:
            self._kill()
            self._spawn()  # a timed-out or crashed sandbox is re-initialised, as on AWS
        log_offset = self._log_path.stat().st_size
        started = time.monotonic()
        request = {
            "request_id": request_id,
            "invoked_function_arn": payload["invoked-function-arn"],
            "payload": payload["payload"],
            "deadline_ms": int(time.time() * 1000 + timeout_s * 1000),
        }
        assert self._requests is not None
        try:
            self._requests.write(json.dumps(request) + "\n")
            self._requests.flush()
            response = self._read_response(timeout_s)
        except BrokenPipeError:
            response = None
        duration_ms = (time.monotonic() - started) * 1000
        if response is None:
            result_payload, is_error = self._abnormal_end(request_id, timeout_s, duration_ms), True
        else:
            is_error = not response["ok"]
            body = response["payload"]
            result_payload = (json.dumps(body) if is_error else body).encode()
        logs = self._invocation_logs(request_id, log_offset, duration_ms)
        return InvocationResult(request_id=request_id, payload=result_payload, is_error=is_error, logs=logs)

    def _read_response(self, timeout_s: float) -> dict[str, Any] | None:
        """Next JSON line from the worker, or None on timeout or when the worker died."""
        assert self._responses is not None
        readable, _, _ = select.select([self._responses], [], [], timeout_s)
        if not readable:
            return None
        line = self._responses.readline()
        return json.loads(line) if line else None

    def _abnormal_end(self, request_id: str, timeout_s: float, duration_ms: float) -> bytes:
        assert self._proc is not None
        exit_code = self._proc.poll()
        self._kill()
        if exit_code is None:
            message = f"{_timestamp()} {request_id} Task timed out after {timeout_s:.2f} seconds"
            error = {"errorMessage": message, "errorType": "Sandbox.Timedout"}
            with open(self._log_path, "a", encoding="utf-8") as log:
                log.write(f"{message}\n")
        else:
            error = {
                "errorMessage": (
                    f"RequestId: {request_id} Error: Runtime exited with error: exit status {exit_code}"
                ),
                "errorType": "Runtime.ExitError",
            }
        LOG.info("lambda %s: %s", self.function_version.qualified_arn, error["errorMessage"])
        return json.dumps(error).encode()

    def _invocation_logs(self, request_id: str, offset: int, duration_ms: float) -> str:
        with open(self._log_path, encoding="utf-8", errors="replace") as log:
            log.seek(offset)
            output = log.read()
        version = self.function_version.id.qualifier
        memory = self.function_version.config.memory_size
        return (
            f"START RequestId: {request_id} Version: {version}\n{output}"
            f"END RequestId: {request_id}\n"
            f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
            f"Billed Duration: {int(duration_ms) + 1} ms\tMemory Size: {memory} MB\n"
        )

    # -- addresses and versions -------------------------------------------------------------------
    def get_address(self) -> str:
        return "127.0.0.1"

    def get_endpoint_from_executor(self) -> str:
        return gateway_host()

    def get_runtime_endpoint(self) -> str:
        return f"http://{gateway_host()}:{config.GATEWAY_LISTEN[0].port}/_localstack_lambda/{self.id}"

    def get_logs(self) -> str:
        try:
            return self._log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    @classmethod
    def prepare_version(cls, function_version: FunctionVersion) -> None:
        runtime_python(function_version.config.runtime)
        if function_version.config.code:
            function_version.config.code.prepare_for_execution()

    @classmethod
    def cleanup_version(cls, function_version: FunctionVersion) -> None:
        pass

    @classmethod
    def validate_environment(cls) -> bool:
        if not runtimes_dir().is_dir():
            LOG.warning("subprocess executor: no runtime venvs in %s; run `make setup`", runtimes_dir())
            return False
        return True


def _timestamp() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + f".{int(time.time() * 1000) % 1000:03d}Z"
