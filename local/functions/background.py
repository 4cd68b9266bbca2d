"""Work started on a thread of its own, whose errors come back to whoever joins it: the stack starts the
runtime and warms Rekognition this way while it creates the resources."""

from __future__ import annotations

import threading
from typing import Any

from local.functions.runtime import LambdaRuntime
from local.functions.spec import FunctionSpec


class Background:
    """A function run on a thread of its own; `join` waits for it and raises what it raised."""

    def __init__(self, function: Any, name: str):
        self._function = function
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._function()
        except BaseException as error:  # re-raised on the caller's thread by join
            self._error = error

    def join(self) -> None:
        self._thread.join()
        if self._error is not None:
            raise self._error


class StartingRuntime(LambdaRuntime):
    """A runtime started on a background thread; `wait_started` joins it and raises what start raised."""

    def __init__(self, specs: list[FunctionSpec], **kwargs: Any):
        super().__init__(specs, **kwargs)
        self.specs = specs
        self._starting: Background | None = None

    def start_in_background(self) -> None:
        self._starting = Background(self.start, "runtime-start")

    def wait_started(self) -> None:
        assert self._starting is not None, "start_in_background() first"
        self._starting.join()
