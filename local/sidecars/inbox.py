"""A webhook receiver for local runs: verifies Standard Webhooks signatures and records deliveries.

`POST` any path: the delivery is verified and recorded; a bad signature gets 401. `GET /` lists the
deliveries as JSON, newest last. Under `/r/{name}` it also serves named receivers for subscribed
endpoints, whose behavior the URL's query string sets (local/sidecars/receivers.py). Tests can
script the next answers (for example three 500s) to exercise the sender's retries. With `faults`
(local.sidecars.webhook_faults), a share of the verified deliveries fails at random instead: a
500, a 429 with Retry-After, no answer in time, or a connection reset.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

from lib.domain import webhooks
from local.http_serving import BackgroundHttpServer
from local.sidecars import webhook_faults
from local.sidecars.receivers import NamedReceivers
from local.sidecars.webhook_faults import WebhookFaults

MAX_BODY_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Delivery:
    webhook_id: str
    webhook_timestamp: str
    event_type: str
    verified: bool
    status: int
    received_at: float
    body: Any
    fault: str = ""  # the injected fault this delivery met, if any: it was not delivered then


@dataclass(frozen=True)
class ScriptedAnswer:
    status: int
    headers: dict[str, str]
    image_name: str | None  # only deliveries about an image of this name get this answer


class WebhookInbox:
    def __init__(
        self,
        secret: str,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: WebhookFaults | None = None,
        on_delivery: Callable[[Delivery], None] | None = None,
    ):
        # Called with each delivery as it is recorded, so a watcher need not poll the list.
        self.on_delivery = on_delivery
        self.secret = secret
        self.faults = faults
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._deliveries: list[Delivery] = []
        self._script: deque[ScriptedAnswer] = deque()
        self.receivers = NamedReceivers()
        self._served = BackgroundHttpServer.bind((host, port), self._handler_class(), "webhook-inbox")

    @property
    def url(self) -> str:
        return f"{self._served.url}/"

    @property
    def address(self) -> str:
        """host:port, as an allow-list entry names it."""
        return f"{self._served.host}:{self._served.port}"

    def start(self) -> str:
        self._served.start()
        return self.url

    def stop(self) -> None:
        self._stopping.set()
        self._served.stop()

    def deliveries(self) -> list[Delivery]:
        with self._lock:
            return list(self._deliveries)

    def clear(self) -> None:
        with self._lock:
            self._deliveries.clear()
            self._script.clear()
        self.receivers.clear()

    def answer_next(
        self, status: int, times: int = 1, headers: dict[str, str] | None = None, image_name: str | None = None
    ) -> None:
        """The next `times` deliveries (about `image_name`, if given) get `status` instead of 204."""
        with self._lock:
            self._script.extend(ScriptedAnswer(status, headers or {}, image_name) for _ in range(times))

    def _scripted(self, payload: Any) -> ScriptedAnswer | None:
        data = payload.get("data") if isinstance(payload, dict) else None
        name = data.get("name") if isinstance(data, dict) else None
        for answer in self._script:
            if answer.image_name is None or answer.image_name == name:
                self._script.remove(answer)
                return answer
        return None

    def _record(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], str]:
        try:
            webhooks.verify(self.secret, headers, body)
            verified = True
        except webhooks.WebhookVerificationError:
            verified = False
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        with self._lock:
            answer = self._scripted(payload) if verified else None
            fault = (self.faults.next() or "") if verified and answer is None and self.faults else ""
            status = 401 if not verified else (answer.status if answer else _FAULT_STATUS.get(fault, 204))
            delivery = Delivery(
                webhook_id=headers.get("webhook-id", ""),
                webhook_timestamp=headers.get("webhook-timestamp", ""),
                event_type=payload.get("type", "") if isinstance(payload, dict) else "",
                verified=verified,
                status=status,
                received_at=time.time(),
                body=payload,
                fault=fault,
            )
            self._deliveries.append(delivery)
        if self.on_delivery is not None:
            self.on_delivery(delivery)
        if fault == webhook_faults.TOO_MANY_REQUESTS and self.faults:
            return status, {"retry-after": str(self.faults.retry_after_seconds)}, fault
        return status, (answer.headers if answer else {}), fault

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        inbox = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                if length > MAX_BODY_BYTES:
                    self._reply(413, b"")
                    return
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                path, _, query = self.path.partition("?")
                named = NamedReceivers.name_of(path)
                if named is not None:
                    answer = inbox.receivers.receive(named[0], query, headers, body)
                    if answer.delay_seconds:
                        inbox._stopping.wait(answer.delay_seconds)
                    gone = _peer_closed(self.connection)
                    try:
                        self._reply(answer.status, b"", answer.headers)
                    finally:  # the sender may have given up and gone: the answer was still given
                        inbox.receivers.answered(answer, sender_gone=gone)
                    return
                status, extra, fault = inbox._record(headers, body)
                if fault == webhook_faults.TIMEOUT and inbox.faults:
                    # Say nothing until the sender has given up, then drop the connection.
                    inbox._stopping.wait(inbox.faults.hold_seconds)
                    self.close_connection = True
                    return
                if fault == webhook_faults.RESET:
                    _reset(self.connection)
                    self.close_connection = True
                    return
                self._reply(status, b"", extra)

            def do_GET(self) -> None:
                named = NamedReceivers.name_of(self.path.partition("?")[0])
                if named is not None and named[1] == "/deliveries":
                    listed = json.dumps({"deliveries": inbox.receivers.deliveries(named[0])}).encode()
                    self._reply(200, listed, {"content-type": "application/json"})
                    return
                payload = json.dumps({"deliveries": [asdict(d) for d in inbox.deliveries()]}).encode()
                self._reply(200, payload, {"content-type": "application/json"})

            def _reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


# What each fault answers; 0 is recorded for those that answer nothing at all.
_FAULT_STATUS = {
    webhook_faults.SERVER_ERROR: 500,
    webhook_faults.TOO_MANY_REQUESTS: 429,
    webhook_faults.TIMEOUT: 0,
    webhook_faults.RESET: 0,
}


def _reset(connection: socket.socket) -> None:
    """Close with an RST instead of a FIN: a zero linger time discards the connection at once."""
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    connection.close()


def _peer_closed(connection: socket.socket) -> bool:
    """Whether the sender has hung up (or reset) while its request was being answered.

    A peek that reads end-of-stream without waiting means it closed its side, as an HTTP client
    does when its read timeout fires; data or nothing-yet means it is still there.
    """
    try:
        return connection.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True
