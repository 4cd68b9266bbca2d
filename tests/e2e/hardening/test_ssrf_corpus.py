"""The SSRF corpus (tests/corpora/ssrf.yaml) through the upload endpoint of a running stack.

Each case must get its 4xx JSON error, leave nothing in S3 or DynamoDB, and open no connection to
any listener. The allow-list holds only the hostile server, which serves the redirects.
"""

from __future__ import annotations

import pytest

from tests.support.fetch_servers import body, redirect
from tests.support.ssrf_corpus import api_cases, unsafe_targets

CASES = api_cases()
IMAGE = open("tests/fixtures/chelsea.jpg", "rb").read()


def test_the_corpus_is_large_enough_and_its_ids_are_unique():
    ids = [case.id for case in CASES]
    assert len(ids) >= 40 and len(set(ids)) == len(ids)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_an_ssrf_case_is_refused_with_nothing_stored_and_no_connection(hardened, case):
    # GIVEN a case that cannot leave this machine, and the hostile server ready with its redirects
    leaving = unsafe_targets(case, hardened.ports)
    assert not leaving, f"not sent: the fetcher would not refuse {leaving} before using the network"
    for hop in case.redirects:
        hardened.server.route(hop.path, redirect(hop.status, hardened.ports.fill(hop.location)))
    for path in case.image_paths:
        hardened.server.route(path, body(IMAGE, content_type="image/jpeg"))
    stored, connections = hardened.stored(), hardened.listeners.connections()
    served = len(hardened.server.requests)

    # WHEN the URL is submitted
    response = hardened.upload_by_url(hardened.ports.fill(case.url))

    # THEN no connection to any listener, a 4xx JSON error with the expected code, nothing stored
    assert hardened.listeners.connections() == connections, f"a refused target was connected to: {response.text}"
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["error"]["code"] == case.code, response.text
    assert hardened.stored() == stored
    if case.redirects:  # the redirect itself was served: the refusal is about where it points
        assert len(hardened.server.requests) > served
