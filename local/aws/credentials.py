"""The stack's fake credentials, and the one function that builds a boto3 session with them.

The emulators accept any key; these are the ones every local caller without a role of its own uses
(the IAM layer's per-role keys are in local/aws/iam/roles.py). A process that is given them through
its environment, as the functions and the Rekognition service are, reads `FAKE_CREDENTIALS`.
"""

from __future__ import annotations

from typing import Any

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


def fake_session(region: str, endpoint: str) -> EndpointSession:
    """A boto3 session with the fake credentials whose clients all talk to `endpoint` (an emulator)."""
    import boto3  # about half a second: only callers that talk to an emulator pay it

    session = boto3.session.Session(
        aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=FAKE_CREDENTIALS["AWS_SESSION_TOKEN"],
        region_name=region,
    )
    return EndpointSession(session, endpoint)


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
