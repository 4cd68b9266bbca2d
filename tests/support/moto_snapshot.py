"""moto's in-memory state, copied whole and put back: each test starts from the provisioned system
without provisioning it again.

Provisioning the stack's resources through boto3 takes about 0.15 s of CPU (some thirty calls, each
serialized by botocore and parsed by moto); a deep copy of the backends it filled takes about 2 ms.
A test gets its own copy, so what it writes is gone for the next one, as with a fresh provisioning.

moto keeps every service's state in `BackendDict`s (account, then region, then the backend), and a
`mock_aws()` start or stop empties them all. What they hold is plain Python objects, apart from
the locks and conditions of a few resources (an SQS queue's condition, for one): a copy gets new
ones, unheld, as a fresh resource would.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

from moto.core.base_backend import BackendDict

# copy.deepcopy refuses locks; a copied resource gets fresh ones. Registered for this process only,
# which is a test process.
copy._deepcopy_dispatch[type(threading.Lock())] = lambda lock, memo: threading.Lock()  # type: ignore[attr-defined]
copy._deepcopy_dispatch[type(threading.RLock())] = lambda lock, memo: threading.RLock()  # type: ignore[attr-defined]
copy._deepcopy_dispatch[threading.Condition] = lambda condition, memo: threading.Condition()  # type: ignore[attr-defined]


class MotoSnapshot:
    """The state of every moto backend in use when taken, inside a running `mock_aws()`."""

    def __init__(self) -> None:
        self._backends: list[tuple[BackendDict[Any], dict[str, Any]]] = [
            (backend, copy.deepcopy(dict(backend))) for backend in BackendDict._instances
        ]

    def restore(self) -> None:
        """Puts a copy of the state back, inside a `mock_aws()` that has just started (and so emptied
        every backend); its stop empties them again."""
        for backend, accounts in self._backends:
            backend.clear()
            backend.update(copy.deepcopy(accounts))
            if backend not in BackendDict._instances:
                BackendDict._instances.append(backend)
