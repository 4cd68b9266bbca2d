"""HTTP adapter that POSTs a signed webhook and reports the receiver's answer, or why there was none."""

from __future__ import annotations

import requests

from lib.ports import Reply

# Connecting is quick or never: the rest of the time limit is left to the receiver.
CONNECT_TIMEOUT_SECONDS = 3


class HttpWebhookSender:
    def __init__(self, session: requests.Session | None = None):
        self._session = session

    @property
    def session(self) -> requests.Session:
        if self._session is None:
            self._session = requests.Session()
            # The webhook URL is configuration; proxies and .netrc from the environment are not.
            self._session.trust_env = False
        return self._session

    def post(self, url: str, body: bytes, headers: dict[str, str], timeout_seconds: int) -> Reply:
        try:
            response = self.session.post(
                url,
                data=body,
                headers=headers,
                timeout=(CONNECT_TIMEOUT_SECONDS, timeout_seconds),
                allow_redirects=False,
            )
        except requests.Timeout:
            return Reply(None, error="the receiver timed out")
        except requests.RequestException as e:
            return Reply(None, error=f"could not reach the receiver: {type(e).__name__}")
        reply = Reply(response.status_code, response.headers.get("Retry-After"))
        response.close()
        return reply
