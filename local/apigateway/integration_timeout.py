"""API Gateway's integration timeout: the gateway stops waiting for a function after at most 30 s.

The function itself runs on: as on AWS, its own timeout is the runtime's business, not the
gateway's. The call runs on a thread of its own so that the request thread can give up on it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

INTEGRATION_TIMEOUT_SECONDS = 30.0


class IntegrationTimedOut(Exception):
    pass


def call_with_timeout(call: Callable[[], Any], timeout: float | None) -> Any:
    """`call()`'s result or exception; IntegrationTimedOut if it has not returned within `timeout`."""
    if timeout is None:
        return call()
    outcome: dict[str, Any] = {}
    done = threading.Event()

    def run() -> None:
        try:
            outcome["result"] = call()
        except Exception as error:  # handed back to the request thread
            outcome["error"] = error
        finally:
            done.set()

    threading.Thread(target=run, name="gateway-integration", daemon=True).start()
    if not done.wait(timeout):
        raise IntegrationTimedOut()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]
