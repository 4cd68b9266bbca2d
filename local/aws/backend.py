"""What the local system needs of an AWS emulator, whichever runs: moto embedded (local/aws/emulator.py),
LocalStack in Docker (local/aws/localstack.py) or ministack as a child process (local/aws/ministack.py)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class EmulatorBackend(Protocol):
    # Shown in the start-up progress lines.
    name: str
    # The account its ARNs carry; the resources' planned ids are built with it.
    account_id: str
    # Where it listens once started, "" before.
    endpoint: str

    @property
    def planned_endpoint(self) -> str | None:
        """Where it will listen, known before start() so the workers can start on it meanwhile; None
        for a backend whose port is only known once it runs (LocalStack's is mapped at start)."""
        ...

    def start(self) -> str:
        """Starts it and waits until it answers; returns its endpoint."""
        ...

    def stop(self) -> None:
        """Stops it, dropping its resources; a no-op when it never started."""
        ...
