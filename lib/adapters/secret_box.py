"""KMS adapter for endpoint secrets: encrypted under one key, bound to the endpoint they sign for.

The EncryptionContext {owner, endpoint} is part of the ciphertext's authentication: a ciphertext
copied onto another endpoint's item, or another owner's, fails to decrypt. Decrypt names the key
(KeyId), as AWS recommends, so a ciphertext made under any other key is refused too.

Decrypted secrets are cached in the process for at most five minutes, keyed by their ciphertext:
a rotation writes a new ciphertext, so it is picked up at once, and a deleted endpoint's secret
leaves memory within the five minutes.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable
from typing import Any

from lib.adapters.aws_errors import Translation, call_aws
from lib.adapters.clients import client

CACHE_SECONDS = 300


class KmsSecretBox:
    def __init__(
        self,
        key_id: str,  # the key's id, ARN, alias name or alias ARN
        kms: Callable[[], Any] = lambda: client("kms"),
        clock: Callable[[], float] = time.monotonic,
    ):
        self.key_id = key_id
        self._kms = kms
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[str, float]] = {}
        self._translation = Translation(
            lambda code, e: f"the secrets key could not be used: {code or type(e).__name__}",
            dependency="KMS",
        )

    @staticmethod
    def _context(owner: str, endpoint_id: str) -> dict[str, str]:
        return {"owner": owner, "endpoint": endpoint_id}

    def encrypt(self, secret: str, owner: str, endpoint_id: str) -> str:
        answer = call_aws(
            lambda: self._kms().encrypt(
                KeyId=self.key_id,
                Plaintext=secret.encode(),
                EncryptionContext=self._context(owner, endpoint_id),
            ),
            self._translation,
        )
        return base64.b64encode(answer["CiphertextBlob"]).decode()

    def decrypt(self, ciphertext: str, owner: str, endpoint_id: str) -> str:
        now = self._clock()
        with self._lock:
            cached = self._cache.get(ciphertext)
            if cached is not None and now - cached[1] < CACHE_SECONDS:
                return cached[0]
        answer = call_aws(
            lambda: self._kms().decrypt(
                KeyId=self.key_id,
                CiphertextBlob=base64.b64decode(ciphertext),
                EncryptionContext=self._context(owner, endpoint_id),
            ),
            self._translation,
        )
        secret = answer["Plaintext"].decode()
        with self._lock:
            # Expired entries go as new ones come: the cache never holds more than five minutes' worth.
            self._cache = {k: v for k, v in self._cache.items() if now - v[1] < CACHE_SECONDS}
            self._cache[ciphertext] = (secret, now)
        return secret
