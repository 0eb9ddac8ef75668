"""plux entry point of the ``subprocess`` Lambda runtime executor (imported lazily, like LocalStack's)."""

from __future__ import annotations

from typing import Any

from localstack.services.lambda_.invocation.plugins import RuntimeExecutorPlugin


class SubprocessRuntimeExecutorPlugin(RuntimeExecutorPlugin):
    name = "subprocess"

    def load(self, *args: Any, **kwargs: Any) -> type:
        from ddb_replica_localstack.executor import SubprocessRuntimeExecutor

        return SubprocessRuntimeExecutor
