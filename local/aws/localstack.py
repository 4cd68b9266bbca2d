"""LocalStack in Docker, through testcontainers, as the AWS emulator (`EMULATOR=localstack`).

It stands in for moto behind the same interface, local/aws/backend.py's EmulatorBackend. LocalStack
has no Rekognition in any edition, so the local Rekognition service serves this backend too, as it
serves moto's.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from local.errors import StackError

# The last 4.x image published before LocalStack's images began to require an auth token
# (2026-03-23); later ones exit at start without LOCALSTACK_AUTH_TOKEN.
DEFAULT_IMAGE = "localstack/localstack:4.14.0"
# What the stack provisions and the functions call; a shorter list starts faster.
SERVICES = ("s3", "sns", "sqs", "dynamodb", "ssm", "sts")
START_TIMEOUT_SECONDS = 120
NO_DOCKER = (
    "EMULATOR=localstack needs a running Docker daemon, and none answered ({reason}). "
    "Start Docker, or use the embedded emulator, which needs nothing else: EMULATOR=moto (the default)."
)


def docker_problem() -> str | None:
    """Why Docker cannot be used, or None when its daemon answers. Takes milliseconds either way."""
    try:
        import docker

        docker.from_env(timeout=3).ping()
    except Exception as error:  # docker raises several types; any of them means no daemon to use
        return str(error).splitlines()[0][:200] or type(error).__name__
    return None


def _container_class() -> Any:
    from testcontainers.community.localstack import LocalStackContainer

    return LocalStackContainer


class LocalStackEmulator:
    name = "localstack"
    # LocalStack's default account, which its ARNs carry.
    account_id = "000000000000"
    # Docker maps its port when the container starts: the stack starts it before the workers.
    planned_endpoint: str | None = None

    def __init__(
        self,
        region: str = "us-east-1",
        env: Mapping[str, str] = os.environ,
        container_class: Callable[..., Any] | None = None,
        docker_check: Callable[[], str | None] = docker_problem,
    ):
        self.region = region
        self.image = env.get("LOCALSTACK_IMAGE") or DEFAULT_IMAGE
        self.auth_token = env.get("LOCALSTACK_AUTH_TOKEN") or None
        self.endpoint = ""
        self._container_class = container_class
        self._docker_check = docker_check
        self._container: Any = None

    def start(self) -> str:
        # Checked first: without a daemon, testcontainers would fail later and less clearly.
        reason = self._docker_check()
        if reason is not None:
            raise StackError(NO_DOCKER.format(reason=reason))
        container_class = self._container_class or _container_class()
        container = container_class(image=self.image, region_name=self.region)
        container.with_services(*SERVICES)
        if self.auth_token:
            container.with_env("LOCALSTACK_AUTH_TOKEN", self.auth_token)
        try:
            container.start(timeout=START_TIMEOUT_SECONDS)
        except Exception as error:
            _stop_quietly(container)
            raise StackError(
                f"LocalStack ({self.image}) did not start: {error}. An image newer than {DEFAULT_IMAGE} "
                "needs LOCALSTACK_AUTH_TOKEN; EMULATOR=moto needs neither Docker nor a token."
            ) from error
        self._container = container
        self.endpoint = _numeric_loopback(container.get_url())
        return self.endpoint

    def stop(self) -> None:
        container, self._container = self._container, None
        if container is not None:
            _stop_quietly(container)


def _numeric_loopback(url: str) -> str:
    # boto3 addresses S3 buckets as `<bucket>.<host>` unless the host is an IP address, and
    # `<bucket>.localhost` does not resolve everywhere.
    parts = urlsplit(url)
    if parts.hostname == "localhost":
        return urlunsplit(parts._replace(netloc=f"127.0.0.1:{parts.port}"))
    return url


def _stop_quietly(container: Any) -> None:
    try:
        container.stop()
    except Exception:  # the container may never have been created; nothing is left to stop then
        pass
