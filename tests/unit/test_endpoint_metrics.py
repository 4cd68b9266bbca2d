"""What the deliver function counts of each message to a subscribed endpoint (lib/observability.py):
EndpointDeliveries per Outcome, WebhookEndpointsDisabled per Cause, and never an endpoint id in a
dimension."""

from __future__ import annotations

import json

import pytest

from handlers.endpoint_deliveries import EndpointDeliverer, outcome
from lib import observability
from lib.domain.endpoints import EndpointMessage
from lib.domain.events import RECOGNIZED, CompletionEvent
from lib.usecases.delivery import DELIVERED, PERMANENT, RETRY, SKIPPED, Decision
from tests.support import emf as emf_schema

ENDPOINT_ID = "ep_" + "k" * 20
MESSAGE = EndpointMessage(
    CompletionEvent.for_image(RECOGNIZED, {"image_id": "a" * 32, "status": "DONE"}, "alice"), "alice", ENDPOINT_ID
)


def split(documents: list[dict], name: str, dimension: str) -> dict[str, float]:
    """The per-dimension counts of one metric: {dimension value: count}."""
    found: dict[str, float] = {}
    for document in documents:
        for directive in document["_aws"]["CloudWatchMetrics"]:
            if dimension in directive["Dimensions"][0] and any(m["Name"] == name for m in directive["Metrics"]):
                value = document[name]
                found[document[dimension]] = found.get(document[dimension], 0) + sum(
                    value if isinstance(value, list) else [value]
                )
    return found


@pytest.mark.parametrize(
    "decision, attempt, expected",
    [
        (Decision(DELIVERED, "HTTP 204"), 1, "delivered"),
        (Decision(RETRY, "HTTP 500", 10), 1, "retry"),
        (Decision(RETRY, "HTTP 500", 10), 8, "failed"),
        (Decision(PERMANENT, "HTTP 400"), 1, "failed"),
        (Decision(SKIPPED, "the endpoint is disabled"), 1, "skipped"),
        (Decision(PERMANENT, "disabled automatically", endpoint_disabled="failing"), 3, "disabled"),
        (Decision(PERMANENT, "HTTP 410 Gone", endpoint_disabled="gone"), 1, "disabled"),
    ],
)
def test_each_message_is_counted_once_by_its_outcome_and_never_by_endpoint(flushed, decision, attempt, expected):
    EndpointDeliverer(delivery=None, queue=None, max_attempts=8)._observe(MESSAGE, decision, attempt)
    documents = flushed()
    assert documents and all(emf_schema.problems(d) == [] for d in documents)
    assert split(documents, observability.ENDPOINT_DELIVERIES, "Outcome") == {expected: 1}
    assert expected in observability.DELIVERY_OUTCOMES
    [by_outcome] = [d for d in documents if "Outcome" in d]
    assert by_outcome["owner"] == "alice"  # a property of the document, not a dimension
    for document in documents:
        dimensions = {
            name for directive in document["_aws"]["CloudWatchMetrics"] for s in directive["Dimensions"] for name in s
        }
        assert dimensions <= {"service", "Outcome", "Cause"}
        assert ENDPOINT_ID not in json.dumps(document)
    disabled = split(documents, observability.WEBHOOK_ENDPOINTS_DISABLED, "Cause")
    assert disabled == ({decision.endpoint_disabled: 1} if decision.endpoint_disabled else {})


def test_the_outcome_of_a_final_failure_that_disabled_the_endpoint_is_disabled():
    assert outcome(Decision(PERMANENT, "x", endpoint_disabled="failing"), final=True) == "disabled"
    assert outcome(Decision(RETRY, "x"), final=False) == "retry"
