"""What callers of the local runtime hand it and get back: a function's spec, and the ways an invocation fails."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    handler: str  # serverless.yml form: "handlers/upload.handler"
    timeout: float  # seconds
    memory_mb: int = 1024
    environment: Mapping[str, str] = field(default_factory=dict)
    # Events run at once at most, each in a worker process of its own (Lambda's concurrency).
    concurrency: int = 1


class InvocationError(Exception):
    """The invocation failed: the handler raised, the worker died, or the result was not JSON."""

    def __init__(
        self,
        error_type: str,
        error_message: str,
        *,
        function_name: str = "",
        stack_trace: Iterable[str] = (),
    ):
        super().__init__(f"{function_name or '?'}: {error_type}: {error_message}")
        self.error_type = error_type
        self.error_message = error_message
        self.function_name = function_name
        self.stack_trace = list(stack_trace)


class InvocationTimeout(InvocationError):
    """The handler ran past its timeout; its worker was killed."""


class FunctionInitError(RuntimeError):
    """A worker could not import its handler at start-up."""

    def __init__(self, function_name: str, error_type: str, detail: str):
        super().__init__(f"function '{function_name}' failed to initialize: {error_type}: {detail}")
        self.function_name = function_name
        self.error_type = error_type
        self.detail = detail
