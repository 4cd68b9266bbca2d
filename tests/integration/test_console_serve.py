"""`make console API=...`: the console's files served on their own, pointed at a deployed API."""

from __future__ import annotations

import pytest
import requests

from local.console.serve import handler_for
from local.http_serving import BackgroundHttpServer

API = "https://abc123.execute-api.us-east-1.amazonaws.com"


@pytest.fixture
def served():
    with BackgroundHttpServer.bind(("127.0.0.1", 0), handler_for(API), "console") as served:
        yield served.url


def test_the_page_points_at_the_api_and_carries_no_local_token(served):
    page = requests.get(f"{served}/", timeout=5)
    assert page.url == f"{served}/console/" and page.status_code == 200
    assert f'<meta name="api-base" content="{API}">' in page.text
    assert '<meta name="local-token" content="">' in page.text


def test_its_modules_are_served_and_nothing_else(served):
    module = requests.get(f"{served}/console/js/main.js", timeout=5)
    assert module.status_code == 200 and module.headers["content-type"].startswith("text/javascript")
    for path in ("/console/../serve.py", "/console/serve.py", "/etc/passwd", "/console/js/nope.js"):
        assert requests.get(f"{served}{path}", timeout=5).status_code == 404
