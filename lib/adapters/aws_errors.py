"""The one place where botocore's errors become domain errors (lib/domain/errors.py).

Each adapter describes its own translation (which error codes mean something to it, whether a
throttle is worth backing off, how to word a failure) and runs its calls through `call_aws`.
Handlers then see only domain errors, and map their types, never message text, to decisions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from lib.domain.errors import DomainError, TransientError
from lib.throttling import Throttled, is_throttle

T = TypeVar("T")


@dataclass(frozen=True)
class Translation:
    """How one adapter's calls report botocore's errors.

    `failed(code, error)` words the TransientError of any other failure; `code` is None when the
    service was never reached (a BotoCoreError). `codes` maps the service's error codes that are
    not transient to the domain error they raise. `throttled(code)`, when given, words the
    Throttled error of a throttle code, which the caller's Backoff then retries; without it a
    throttle is an ordinary transient failure.
    """

    failed: Callable[[str | None, Exception], str]
    dependency: str = ""  # names the throttled dependency in the throttle metric
    codes: Mapping[str, Callable[[str, Any], DomainError]] = field(default_factory=dict)
    throttled: Callable[[str], str] | None = None


def call_aws(call: Callable[[], T], translation: Translation) -> T:
    """`call()`, with its botocore errors raised again as domain errors (`raise ... from`)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return call()
    except ClientError as e:
        code = e.response["Error"]["Code"]
        if code in translation.codes:
            raise translation.codes[code](code, e) from e
        if translation.throttled is not None and is_throttle(code):
            raise Throttled(translation.dependency, translation.throttled(code)) from e
        raise TransientError(translation.failed(code, e)) from e
    except BotoCoreError as e:
        raise TransientError(translation.failed(None, e)) from e
