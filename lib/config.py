"""Configuration read from the environment, once, into frozen dataclasses.

Each function reads only the settings it uses, so a missing variable is reported by the function
that needs it, by name. Endpoints are never configured here: boto3 reads the standard
`AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>` variables itself.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from lib.domain.content import MODEL_VERSION
from lib.domain.endpoint_health import DEFAULT_DISABLE_AFTER_SECONDS

# Rekognition's limit for an image stored in S3.
DEFAULT_MAX_IMAGE_BYTES = 15 * 1024 * 1024
RECOGNITION_FEATURES = frozenset({"labels", "properties", "faces", "text", "moderation"})
# Part of the key a result is reused by (lib/domain/content.py): raise it (RECOGNITION_MODEL_VERSION)
# when the model behind Rekognition's answers changes, and earlier results are no longer reused.
DEFAULT_RECOGNITION_MODEL_VERSION = "1"
# How long an identical image waits for the first one to be recognized before it is recognized itself.
DEFAULT_DEDUPE_WAIT_SECONDS = 120


class ConfigurationError(RuntimeError):
    """A required setting is missing or malformed. Raised at cold start, never per request."""


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigurationError(f"environment variable {name} is required and is empty or unset")
    return value


def _integer(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"environment variable {name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigurationError(f"environment variable {name} must be at least {minimum}, got {value}")
    return value


def parse_features(raw: str) -> frozenset[str]:
    """RECOGNITION_FEATURES as the recognize function reads it: comma-separated, `labels` when empty."""
    features = frozenset(part.strip() for part in raw.split(",") if part.strip()) or frozenset({"labels"})
    unknown = features - RECOGNITION_FEATURES
    if unknown:
        raise ConfigurationError(
            f"RECOGNITION_FEATURES has unknown entries {sorted(unknown)}; known: {sorted(RECOGNITION_FEATURES)}"
        )
    return features


def _switch(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw not in ("on", "off"):
        raise ConfigurationError(f"environment variable {name} must be on or off, got {raw!r}")
    return raw == "on"


def _model_version(env: Mapping[str, str]) -> str:
    value = env.get("RECOGNITION_MODEL_VERSION", "").strip() or DEFAULT_RECOGNITION_MODEL_VERSION
    if not MODEL_VERSION.fullmatch(value):
        raise ConfigurationError(f"RECOGNITION_MODEL_VERSION must be 1 to 64 of A-Z a-z 0-9 . _ : -, got {value!r}")
    return value


def _csv(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in env.get(name, "").split(",") if item.strip())


@dataclass(frozen=True)
class UploadConfig:
    images_table: str
    images_bucket: str
    fetch_allowlist: tuple[str, ...]
    max_image_bytes: int

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> UploadConfig:
        return cls(
            images_table=_required(env, "IMAGES_TABLE"),
            images_bucket=_required(env, "IMAGES_BUCKET"),
            fetch_allowlist=_csv(env, "FETCH_ALLOWLIST"),
            max_image_bytes=_integer(env, "MAX_IMAGE_BYTES", DEFAULT_MAX_IMAGE_BYTES, minimum=1),
        )


@dataclass(frozen=True)
class DirectUploadConfig:
    images_table: str
    images_bucket: str
    max_image_bytes: int

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> DirectUploadConfig:
        return cls(
            images_table=_required(env, "IMAGES_TABLE"),
            images_bucket=_required(env, "IMAGES_BUCKET"),
            max_image_bytes=_integer(env, "MAX_IMAGE_BYTES", DEFAULT_MAX_IMAGE_BYTES, minimum=1),
        )


@dataclass(frozen=True)
class RecognizeConfig:
    images_table: str
    results_topic_arn: str
    features: frozenset[str]
    max_labels: int
    min_confidence: int
    # Where a record still throttled after its in-invocation backoff is re-sent (lib/throttling.py).
    uploads_queue_url: str
    throttle_budget_seconds: int
    # Directly uploaded objects are checked on arrival against the same limit as the API's uploads.
    max_image_bytes: int = DEFAULT_MAX_IMAGE_BYTES
    # Identical bytes of one owner recognized once (lib/usecases/reuse.py): DEDUPE=off turns it off.
    dedupe: bool = True
    dedupe_wait_seconds: int = DEFAULT_DEDUPE_WAIT_SECONDS
    model_version: str = DEFAULT_RECOGNITION_MODEL_VERSION

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> RecognizeConfig:
        features = parse_features(env.get("RECOGNITION_FEATURES", ""))
        return cls(
            images_table=_required(env, "IMAGES_TABLE"),
            results_topic_arn=_required(env, "RESULTS_TOPIC_ARN"),
            features=features | {"labels"},
            max_labels=_integer(env, "MAX_LABELS", 20, minimum=1),
            min_confidence=_integer(env, "MIN_CONFIDENCE", 55, minimum=0),
            uploads_queue_url=_required(env, "UPLOADS_QUEUE_URL"),
            throttle_budget_seconds=_integer(env, "THROTTLE_BUDGET_SECONDS", 8),
            max_image_bytes=_integer(env, "MAX_IMAGE_BYTES", DEFAULT_MAX_IMAGE_BYTES, minimum=1),
            dedupe=_switch(env, "DEDUPE", True),
            dedupe_wait_seconds=_integer(env, "DEDUPE_WAIT_SECONDS", DEFAULT_DEDUPE_WAIT_SECONDS),
            model_version=_model_version(env),
        )


@dataclass(frozen=True)
class DeleteConfig:
    images_table: str
    images_bucket: str
    results_topic_arn: str  # where `image.deleted` is published

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> DeleteConfig:
        return cls(
            images_table=_required(env, "IMAGES_TABLE"),
            images_bucket=_required(env, "IMAGES_BUCKET"),
            results_topic_arn=_required(env, "RESULTS_TOPIC_ARN"),
        )


@dataclass(frozen=True)
class ImagesConfig:
    images_table: str
    images_bucket: str  # the content route presigns GETs of its objects

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> ImagesConfig:
        return cls(images_table=_required(env, "IMAGES_TABLE"), images_bucket=_required(env, "IMAGES_BUCKET"))


@dataclass(frozen=True)
class DeliverConfig:
    images_table: str
    webhook_url: str  # empty: delivery is switched off and events are acknowledged unsent
    webhook_secret_parameter: str
    integration_queue_url: str
    integration_dlq_url: str
    retry_base_seconds: int
    retry_max_seconds: int
    request_timeout_seconds: int
    max_attempts: int  # the integration queue's maxReceiveCount
    # Subscriptions: off (no fan-out) when the table is not configured.
    webhooks_table: str = ""
    webhook_key_id: str = ""
    endpoint_queue_url: str = ""
    endpoint_dlq_url: str = ""
    webhook_allowlist: tuple[str, ...] = ()
    # An endpoint failing this long with no success is disabled (the stage's webhookDisableAfterSeconds).
    disable_after_seconds: int = DEFAULT_DISABLE_AFTER_SECONDS

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> DeliverConfig:
        webhook_url = env.get("WEBHOOK_URL", "").strip()
        subscriptions = bool(env.get("WEBHOOKS_TABLE", "").strip())
        return cls(
            webhooks_table=_required(env, "WEBHOOKS_TABLE") if subscriptions else "",
            webhook_key_id=_required(env, "WEBHOOK_KEY_ID") if subscriptions else "",
            endpoint_queue_url=_required(env, "ENDPOINT_QUEUE_URL") if subscriptions else "",
            endpoint_dlq_url=_required(env, "ENDPOINT_DLQ_URL") if subscriptions else "",
            webhook_allowlist=_csv(env, "WEBHOOK_ALLOWLIST"),
            disable_after_seconds=_integer(
                env, "WEBHOOK_DISABLE_AFTER_SECONDS", DEFAULT_DISABLE_AFTER_SECONDS, minimum=1
            ),
            images_table=_required(env, "IMAGES_TABLE"),
            webhook_url=webhook_url,
            webhook_secret_parameter=_required(env, "WEBHOOK_SECRET_PARAMETER") if webhook_url else "",
            integration_queue_url=_required(env, "INTEGRATION_QUEUE_URL"),
            integration_dlq_url=_required(env, "INTEGRATION_DLQ_URL"),
            retry_base_seconds=_integer(env, "RETRY_BASE_SECONDS", 10),
            retry_max_seconds=_integer(env, "RETRY_MAX_SECONDS", 900),
            request_timeout_seconds=_integer(env, "WEBHOOK_TIMEOUT_SECONDS", 10, minimum=1),
            max_attempts=_integer(env, "WEBHOOK_MAX_ATTEMPTS", 8, minimum=1),
        )


@dataclass(frozen=True)
class WebhooksConfig:
    webhooks_table: str
    webhook_key_id: str
    endpoint_queue_url: str  # where POST /webhooks/{id}/test queues its message
    webhook_allowlist: tuple[str, ...]

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> WebhooksConfig:
        return cls(
            webhooks_table=_required(env, "WEBHOOKS_TABLE"),
            webhook_key_id=_required(env, "WEBHOOK_KEY_ID"),
            endpoint_queue_url=_required(env, "ENDPOINT_QUEUE_URL"),
            webhook_allowlist=_csv(env, "WEBHOOK_ALLOWLIST"),
        )
