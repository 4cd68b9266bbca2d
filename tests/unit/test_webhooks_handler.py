"""The webhooks function's routes (handlers/webhooks.py) on in-memory fakes: statuses, the owner from
the verified claims only, and the secret shown at creation and rotation and never again."""

from __future__ import annotations

import json

import pytest
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from handlers.webhook_deliveries import DeliveryRoutes
from handlers.webhooks import handle
from lib.usecases.delivery_log import DeliveryLogPages
from lib.usecases.replay import Replays
from lib.usecases.subscriptions import Subscriptions
from tests.support.builders import http_event
from tests.support.fakes import (
    FakeDeliveryLog,
    FakeEndpointQueue,
    FakeEndpointTable,
    FakeEndpointUrlCheck,
    FakeSecretBox,
)


@pytest.fixture
def subscriptions():
    refused = {"http://10.0.0.1/": "endpoint_url_not_public"}
    return Subscriptions(FakeEndpointTable(), FakeSecretBox(), FakeEndpointUrlCheck(refused), FakeEndpointQueue())


def call(subscriptions, method, path, body=None, endpoint_id=None, sub="alice"):
    event = http_event(
        method,
        path,
        headers={"content-type": "application/json"},
        body=json.dumps(body) if body is not None else None,
        path_parameters={"id": endpoint_id} if endpoint_id else None,
        claims={"sub": sub},
    )
    response = handle(APIGatewayProxyEventV2(event), subscriptions)
    return response["statusCode"], json.loads(response["body"]) if response["body"] else None


def test_the_routes_answer_with_their_statuses_and_the_secret_only_twice(subscriptions):
    status, created = call(
        subscriptions, "POST", "/webhooks", {"url": "https://r.example/", "events": ["image.failed"]}
    )
    assert status == 201 and created["secret"].startswith("whsec_") and created["events"] == ["image.failed"]
    endpoint_id = created["id"]
    path = f"/webhooks/{endpoint_id}"
    listed = call(subscriptions, "GET", "/webhooks")[1]["items"]
    assert [e["id"] for e in listed] == [endpoint_id] and "secret" not in json.dumps(listed)
    status, one = call(subscriptions, "GET", path, endpoint_id=endpoint_id)
    assert status == 200 and "secret" not in one
    assert call(subscriptions, "PATCH", path, {"enabled": False}, endpoint_id)[1]["enabled"] is False
    status, rotated = call(subscriptions, "POST", f"{path}/rotate-secret", endpoint_id=endpoint_id)
    assert status == 200 and rotated["secret"] != created["secret"] and rotated["previous_secret_expires_at"]
    assert call(subscriptions, "POST", f"{path}/test", endpoint_id=endpoint_id)[0] == 202
    assert call(subscriptions, "DELETE", path, endpoint_id=endpoint_id) == (204, None)
    assert call(subscriptions, "GET", path, endpoint_id=endpoint_id)[0] == 404


def test_another_owner_gets_404_and_a_refused_url_422_with_its_code(subscriptions):
    endpoint_id = call(subscriptions, "POST", "/webhooks", {"url": "https://r.example/"})[1]["id"]
    assert call(subscriptions, "GET", f"/webhooks/{endpoint_id}", endpoint_id=endpoint_id, sub="bob")[0] == 404
    status, body = call(subscriptions, "POST", "/webhooks", {"url": "http://10.0.0.1/"})
    assert (status, body["error"]["code"]) == (422, "endpoint_url_not_public")
    assert call(subscriptions, "POST", "/webhooks", {"url": "https://r.example/", "owner": "bob"})[0] == 400
    assert call(subscriptions, "POST", "/webhooks", ["not", "an", "object"])[0] == 400


def test_the_delivery_log_routes_answer_with_their_statuses():
    table, queue = FakeEndpointTable(), FakeEndpointQueue()
    log = FakeDeliveryLog(table)
    subscriptions = Subscriptions(table, FakeSecretBox(), FakeEndpointUrlCheck(), queue, log=log)
    routes = DeliveryRoutes(DeliveryLogPages(table, log), Replays(table, log, queue))

    def route(method, path, body=None, query=None, sub="alice"):
        event = http_event(
            method,
            path,
            query=query,
            headers={"content-type": "application/json"},
            body=json.dumps(body) if body is not None else None,
            path_parameters={"id": path.split("/")[2]},
            claims={"sub": sub},
        )
        response = handle(APIGatewayProxyEventV2(event), subscriptions, routes)
        return response["statusCode"], json.loads(response["body"]) if response["body"] else None

    endpoint_id = subscriptions.register("alice", {"url": "https://r.example/"})[0].endpoint_id
    test_id = subscriptions.send_test("alice", endpoint_id).id
    deliveries, replay = f"/webhooks/{endpoint_id}/deliveries", f"/webhooks/{endpoint_id}/replay"
    status, page = route("GET", deliveries, query={"limit": "5"})
    assert status == 200 and page["next_cursor"] is None
    assert [(i["webhook_id"], i["status"], i["attempts"]) for i in page["items"]] == [(test_id, "pending", [])]
    assert route("GET", deliveries, query={"status": "lost"})[0] == 400
    assert route("GET", deliveries, sub="bob")[0] == 404
    assert route("POST", replay, {"webhook_id": test_id}) == (202, {"replayed": 1, "webhook_ids": [test_id]})
    assert route("POST", replay, {"webhook_id": "msg_unknown"})[0] == 404
    assert route("POST", replay, {"since": "2026-01-01T00:00:00Z", "webhook_id": test_id})[0] == 400
    subscriptions.update("alice", endpoint_id, {"enabled": False})
    status, body = route("POST", replay, {"webhook_id": test_id})
    assert (status, body["error"]["code"]) == (409, "endpoint_disabled")
