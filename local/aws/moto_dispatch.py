"""One request at a time inside moto: its in-memory backends are not thread-safe.

moto's server gives each request a thread, and its backends are plain dicts and lists shared by
all of them. Under the stack's concurrent callers (pollers, workers, gateway) a DynamoDB Query or
UpdateItem that iterated over a table while another request added an item failed with
`dictionary changed size during iteration` (tests/integration/test_moto_threads.py reproduces it).

So requests enter moto's app one at a time, under one lock for the whole process: the backends are
process-wide, and one service's request reaches into another's backend (S3 notifies SNS, which
delivers to SQS, inside the request). Little is lost: moto is pure Python, which the interpreter
runs one thread at a time anyway. The one place moto waits, an SQS long poll, releases the lock
while it waits, so that the message it waits for can be sent.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any


class DispatchLock:
    """A lock that knows its holder, so that the holder alone can let go of it while it waits."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holder: int | None = None

    def __enter__(self) -> DispatchLock:
        self._lock.acquire()
        self._holder = threading.get_ident()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._holder = None
        self._lock.release()

    @contextlib.contextmanager
    def released(self) -> Iterator[None]:
        """Lets go of the lock for the block if this thread holds it; otherwise does nothing."""
        if self._holder != threading.get_ident():
            yield
            return
        self.__exit__()
        try:
            yield
        finally:
            self.__enter__()


DISPATCH_LOCK = DispatchLock()


class SerializedApp:
    """A WSGI app that runs `app` under DISPATCH_LOCK."""

    def __init__(self, app: Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]):
        self.app = app
        _release_while_sqs_waits()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        with DISPATCH_LOCK:
            # moto's answers are built in full by the call: nothing reads a backend after it returns.
            return self.app(environ, start_response)


def _release_while_sqs_waits() -> None:
    from moto.sqs.models import Queue

    waiting = Queue.wait_for_messages
    if getattr(waiting, "releases_dispatch_lock", False):
        return

    def wait_for_messages(queue: Any, timeout: int) -> None:
        with DISPATCH_LOCK.released():
            waiting(queue, timeout)

    wait_for_messages.releases_dispatch_lock = True  # type: ignore[attr-defined]
    Queue.wait_for_messages = wait_for_messages  # type: ignore[method-assign]
