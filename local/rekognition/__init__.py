"""A local Amazon Rekognition: Rekognition's JSON 1.1 protocol over HTTP, answered by real models
that ship inside PyPI wheels and run offline on CPU.

Importing this package is cheap: the models and their runtimes are imported only when the service
warms up. `RekognitionService` runs the server in a background thread; `cli.main` runs it as a
process.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .service import RekognitionService

__all__ = ["RekognitionService"]


def __getattr__(name: str) -> Any:
    if name == "RekognitionService":
        from .service import RekognitionService

        return RekognitionService
    raise AttributeError(name)
