"""The stack's fake credentials, and the one function that builds a boto3 session with them.

These are the stack's administrator key. The IAM layer (local/aws/iam/) lets it do anything, as
the account's root would, and denies every key it did not issue: only the stack's own provisioning
and the tools and tests that inspect or repair state (trace, redrive, the console's local routes,
test support) use it. Each function calls with its role's key instead (local/aws/iam/roles.py).
Without IAM enforcement (ministack, LocalStack) the emulators accept any key, and the functions are
given these. A process that is given them through its environment reads `FAKE_CREDENTIALS`.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}
ADMIN_ACCESS_KEY = FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"]


def fake_session(region: str, endpoint: str) -> EndpointSession:
    """A boto3 session with the fake credentials whose clients all talk to `endpoint` (an emulator)."""
    session = boto3_session(
        aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=FAKE_CREDENTIALS["AWS_SESSION_TOKEN"],
        region_name=region,
    )
    return EndpointSession(session, endpoint)


def boto3_session(**settings: Any) -> Any:
    """A boto3 session that shares this process's one model loader with every other it made.

    A session parses each service's model, and its endpoint rules, the first time one of its clients
    is built: 20-60 ms a service. The stack builds a dozen sessions as it starts (its own, each role's
    for the pollers), and parsed the same files again for each; with one loader, once.
    """
    import boto3  # about half a second: only callers that talk to an emulator pay it
    import botocore.session

    core = botocore.session.Session()
    loader = _shared_loader()
    core.register_component("data_loader", loader)
    session = boto3.session.Session(botocore_session=core, **settings)
    # boto3 adds its own data folder to the loader's search path for each new session.
    with _LOADER_LOCK:
        loader.search_paths[:] = list(dict.fromkeys(loader.search_paths))
    return session


_LOADER_LOCK = threading.Lock()


@functools.cache
def _shared_loader() -> Any:
    from botocore.loaders import create_loader

    return create_loader()


class EndpointSession:
    """A boto3 session whose clients all talk to one endpoint, unless a call names another."""

    def __init__(self, session: Any, endpoint: str):
        self._session = session
        self.endpoint = endpoint

    @property
    def region_name(self) -> str:
        return self._session.region_name

    def client(self, service: str, **kwargs: Any) -> Any:
        kwargs.setdefault("endpoint_url", self.endpoint)
        return self._session.client(service, **kwargs)

    def resource(self, service: str, **kwargs: Any) -> Any:
        return self._session.resource(service, endpoint_url=self.endpoint, **kwargs)
