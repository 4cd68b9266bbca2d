"""The fuzzing hook keeps every URL the fetcher would connect to on this machine's fixture server."""

from types import SimpleNamespace

import pytest


@pytest.fixture(scope="module")
def hooks():
    # Imported by the tests that use it: loading schemathesis takes 0.3 s, and every test process
    # collects this module.
    from tests.support import schemathesis_hooks

    return schemathesis_hooks


FIXTURES = "http://127.0.0.1:39045"


@pytest.mark.parametrize(
    "url, expected",
    [
        ("https://upload.wikimedia.org/a/Cat03.jpg", f"{FIXTURES}/chelsea.jpg"),
        ("http://93.184.216.34/x.jpg?size=2", f"{FIXTURES}/chelsea.jpg?size=2"),
        ("  http://example.com  ", f"{FIXTURES}/chelsea.jpg"),
        ("HTTP://[2606:4700::1]:8443", f"{FIXTURES}/chelsea.jpg"),
        ("http://0.0.0.0.example", f"{FIXTURES}/chelsea.jpg"),
        (f"{FIXTURES}/missing.jpg", f"{FIXTURES}/chelsea.jpg"),
    ],
)
def test_a_url_the_fetcher_would_connect_to_is_moved_to_the_fixture_server(hooks, url, expected):
    assert hooks.confined(url, FIXTURES) == expected


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/x.jpg",
        "http://127.0.0.1:1/x.jpg",
        "http://[::ffff:127.0.0.1]/",
        "http://2130706433/",
        "ftp://example.com/a.jpg",
        "file:///etc/passwd",
        "http://user@example.com/",
        "example.com/a.jpg",
        "https://example.com/" + "a" * 2048,
        "http://",
        "http://example.com:99999/",
        "",
    ],
)
def test_a_url_refused_before_any_network_activity_is_sent_unchanged(hooks, url):
    assert hooks.confined(url, FIXTURES) == url


def test_the_hook_confines_the_url_in_the_query_and_in_a_json_body(hooks, monkeypatch):
    monkeypatch.setenv("FUZZ_FIXTURES_URL", FIXTURES)
    case = SimpleNamespace(query={"url": "http://example.com/a.jpg", "name": "x"}, body={"url": "https://a.b/c"})
    hooks.before_call(None, case, {})
    assert case.query == {"url": f"{FIXTURES}/chelsea.jpg", "name": "x"}
    assert case.body == {"url": f"{FIXTURES}/chelsea.jpg"}


def test_the_hook_leaves_image_bodies_and_other_values_alone(hooks, monkeypatch):
    monkeypatch.setenv("FUZZ_FIXTURES_URL", FIXTURES)
    case = SimpleNamespace(query={"url": 5}, body=b"\xff\xd8\xff")
    hooks.before_call(None, case, {})
    assert case.query == {"url": 5} and case.body == b"\xff\xd8\xff"
