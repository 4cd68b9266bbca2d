"""The SSRF corpus's DNS cases, through the upload handler on moto, with a scripted resolver.

These cases need names that resolve to chosen addresses, and a second answer that differs from the
first (rebinding). The local stack's upload worker resolves through the system, so they run here
instead: `handlers.upload.handle` with an `IngestService` whose `SafeFetcher` has a resolver hook,
against moto. Everything else is the code the deployed function runs. The one server the fetcher may
reach (127.0.0.1, allow-listed by port) stands in for a public host.
"""

from __future__ import annotations

import json

import pytest
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from urllib3.util import parse_url

from handlers import upload
from lib.adapters.repository import ImageRepository
from lib.adapters.storage import ImageStore
from lib.domain.image_checks import ImageLimits
from lib.fetching.addresses import AddressPolicy
from lib.fetching.fetch import FetchPolicy, SafeFetcher
from lib.fetching.guarded_http import literal_address
from lib.usecases.ingest import IngestService
from tests.support.builders import http_event
from tests.support.fetch_servers import FixtureServer, RecordingListener, body, redirect
from tests.support.ssrf_corpus import Ports, address_stays_on_this_machine, dns_cases

CASES = dns_cases()
IMAGE = open("tests/fixtures/chelsea.jpg", "rb").read()


class ScriptedResolver:
    """Answers the n-th call with the n-th answer (the last one repeats) and records every call."""

    def __init__(self, answers: tuple[tuple[str, ...], ...]):
        self.answers = answers
        self.calls: list[tuple[str, int]] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append((host, port))
        return list(self.answers[min(len(self.calls), len(self.answers)) - 1])


@pytest.fixture(scope="module")
def server():
    fixture = FixtureServer()
    fixture.route("/image.jpg", body(IMAGE, content_type="image/jpeg"))
    yield fixture
    fixture.close()


@pytest.fixture(scope="module")
def listeners(server):
    # The other-loopback listener shares the server's port, so a rebound name lands on it.
    recording = [RecordingListener("127.0.0.1"), RecordingListener("::1"), RecordingListener("127.45.6.7", server.port)]
    yield recording
    for listener in recording:
        listener.close()


@pytest.fixture
def ports(server, listeners) -> Ports:
    v4, v6, other = listeners
    return Ports(port=v4.port, port6=v6.port, port_other=other.port, server_port=server.port)


def submit(aws, server, url: str, resolver: ScriptedResolver) -> dict:
    service = IngestService(
        fetcher=SafeFetcher(FetchPolicy(allowed=(server.allow_entry,)), resolver=resolver),
        store=ImageStore(aws.ref("ImagesBucket"), s3=lambda: aws.client("s3")),
        repository=ImageRepository(aws.ref("ImagesTable"), dynamodb=lambda: aws.client("dynamodb")),
        limits=ImageLimits(),
    )
    event = http_event("GET", "/", query={"url": url, "name": "x.jpg"})
    return upload.handle(APIGatewayProxyEventV2(event), service)


def stored(aws) -> tuple[int, int]:
    objects = aws.client("s3").list_objects_v2(Bucket=aws.ref("ImagesBucket")).get("KeyCount", 0)
    items = aws.client("dynamodb").scan(TableName=aws.ref("ImagesTable"), Select="COUNT")["Count"]
    return objects, items


def answers_leaving_this_machine(case, url: str, server) -> list[str]:
    """Answers the fetcher would not refuse and that are not on this machine: such a case is not run."""
    port = parse_url(url).port or 80
    policy = AddressPolicy((server.allow_entry,))
    addresses = [literal_address(answer) for answers in case.answers for answer in answers]
    return [
        str(address)
        for address in addresses
        if policy.refusal(address, port) is None and not address_stays_on_this_machine(address)
    ]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_a_dns_case_is_refused_at_connect_time_with_nothing_stored(aws, server, listeners, ports, case):
    # GIVEN a name the scripted resolver maps to a refused address (at once, or on the next lookup)
    url = ports.fill(case.url)
    assert not answers_leaving_this_machine(case, url, server), "not run: an answer could leave this machine"
    if case.redirects_to:
        server.route(parse_url(url).path, redirect(302, case.redirects_to))
    resolver = ScriptedResolver(case.answers)
    connections = sum(listener.accepted() for listener in listeners)

    # WHEN it is submitted to the upload handler
    response = submit(aws, server, url, resolver)

    # THEN no connection, a 4xx naming the refusal, nothing stored, and the name was looked up
    assert sum(listener.accepted() for listener in listeners) == connections, f"connected to: {response}"
    assert 400 <= response["statusCode"] < 500, response
    assert json.loads(response["body"])["error"]["code"] == case.code
    assert stored(aws) == (0, 0)
    assert resolver.calls and {host for host, _ in resolver.calls} == {parse_url(url).host}
    assert len(resolver.calls) == len(case.answers), "each connection resolves once, and only once"


def test_a_name_is_resolved_once_per_connection_and_connected_to_as_checked(aws, server, listeners):
    # GIVEN a name whose first answer is allowed and whose every later answer is another loopback address
    resolver = ScriptedResolver((("127.0.0.1",), ("127.45.6.7",)))
    other = listeners[2]
    connections = other.accepted()

    # WHEN it is fetched
    response = submit(aws, server, f"http://once.test:{server.port}/image.jpg", resolver)

    # THEN the image came from the checked address: no second lookup left a window to rebind in
    assert response["statusCode"] == 202, response
    assert resolver.calls == [("once.test", server.port)]
    assert other.accepted() == connections
    assert stored(aws) == (1, 1)
