"""HTTP front end speaking Rekognition's JSON 1.1 protocol: `POST /` with
`X-Amz-Target: RekognitionService.<Operation>`, errors as HTTP 400 with a JSON body naming the
error in `__type` and an `x-amzn-ErrorType` header, so boto3 raises ClientError with that code.
Signatures are not checked: any credentials are accepted. `GET /health` reports readiness.
"""

from __future__ import annotations

import json
import random
import socket
import sys
import threading
import time
import traceback
import uuid
from http.server import BaseHTTPRequestHandler

from local.http_serving import NoDelayHTTPServer

from . import callers
from .errors import RekognitionError, internal_error
from .models import ModelSet
from .operations import OPERATIONS
from .quota import QUOTA_PATH, QuotaLedger
from .s3_source import as_caller

TARGET_PREFIX = "RekognitionService."
CONTENT_TYPE = "application/x-amz-json-1.1"
# A 5 MB image is about 6.7 MB of base64: larger bodies are read (to answer properly) up to this.
MAX_BODY_BYTES = 16 * 1024 * 1024
FAULT_CODES = ("ThrottlingException", "ProvisionedThroughputExceededException")


class FaultInjector:
    """With probability `rate`, the throttling error a busy Rekognition would send."""

    def __init__(self, rate: float = 0.0, seed: int | None = None) -> None:
        self.rate = rate
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def next_fault(self) -> RekognitionError | None:
        if self.rate <= 0:
            return None
        with self._lock:
            if self._random.random() >= self.rate:
                return None
            code = self._random.choice(FAULT_CODES)
        return RekognitionError(code, "Rate exceeded (injected by --fail-rate)")


class RekognitionHTTPServer(NoDelayHTTPServer):
    request_queue_size = 64

    def __init__(
        self,
        address: tuple[str, int],
        models: ModelSet,
        fail_rate: float = 0.0,
        quota: QuotaLedger | None = None,
        listening: socket.socket | None = None,
    ):
        super().__init__(address, RekognitionRequestHandler, listening)
        self.models = models
        self.faults = FaultInjector(fail_rate)
        self.quota = quota or QuotaLedger()

    @property
    def fail_rate(self) -> float:
        return self.faults.rate

    @fail_rate.setter
    def fail_rate(self, value: float) -> None:
        self.faults.rate = value


class RekognitionRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "LocalRekognition/1.0"
    server: RekognitionHTTPServer

    def log_message(self, format: str, *args) -> None:
        pass  # one line per request would drown the stack's logs

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] in ("/health", "/health/"):
            models = self.server.models
            body = {"ready": models.ready}
            if models.errors:
                body["errors"] = models.errors
            self._send_json(200, body, {})
            return
        if self.path.split("?", 1)[0] == QUOTA_PATH:
            self._send_json(200, self.server.quota.snapshot(), {})
            return
        self._send_error(RekognitionError("UnknownOperationException", f"GET {self.path} is not an operation", 404))

    def do_POST(self) -> None:
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self.close_connection = True
            self._send_error(RekognitionError("SerializationException", "Content-Length is required"))
            return
        if length > MAX_BODY_BYTES:
            self.close_connection = True  # the unread body makes the connection unusable
            self._send_error(RekognitionError("ImageTooLargeException", "Request body is too large"))
            return
        body = self.rfile.read(length) if length > 0 else b""
        try:
            # Identified before anything else, as AWS authenticates a request before reading it.
            caller = callers.identify(self.headers.get("Authorization"))
            with as_caller(caller):
                response = self._dispatch(self.headers.get("X-Amz-Target", ""), body, caller)
        except RekognitionError as error:
            self._send_error(error)
            return
        except Exception:  # never let a bug become a traceback page
            traceback.print_exc(file=sys.stderr)
            self._send_error(internal_error("Internal server error"))
            return
        self._send_json(200, response, {})

    def _dispatch(self, target: str, body: bytes, caller: callers.Caller | None = None) -> dict:
        operation_name = target[len(TARGET_PREFIX) :] if target.startswith(TARGET_PREFIX) else ""
        operation = OPERATIONS.get(operation_name)
        if operation is None:
            shown = target or "(missing X-Amz-Target)"
            raise RekognitionError(
                "UnknownOperationException", f"Operation {shown} is not emulated by the local Rekognition"
            )
        callers.authorize(caller, operation_name)
        try:
            request = json.loads(body or b"{}")
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise RekognitionError("SerializationException", "Request body is not valid JSON") from None
        if not isinstance(request, dict):
            raise RekognitionError("SerializationException", "Request body must be a JSON object")
        self.server.quota.admit(operation_name)
        fault = self.server.faults.next_fault()
        if fault is not None:
            raise fault
        started = time.monotonic()
        response = operation(request, self.server.models)
        self.server.quota.succeeded(operation_name, time.monotonic() - started)
        return response

    def _send_error(self, error: RekognitionError) -> None:
        body = {"__type": error.code, "message": error.message}
        self._send_json(error.status, body, {"x-amzn-ErrorType": error.code})

    def _send_json(self, status: int, body: dict, headers: dict[str, str]) -> None:
        payload = json.dumps(body, separators=(",", ":")).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", CONTENT_TYPE)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        for name, value in headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(payload)
