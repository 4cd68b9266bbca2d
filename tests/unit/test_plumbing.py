"""One copy of each piece of local plumbing: the fake-credentials session, the endpoints file reader,
the deadline. These tests fail when a second copy appears."""

from __future__ import annotations

import re

from local.aws.credentials import FAKE_CREDENTIALS, fake_session
from local.paths import PROJECT_ROOT

CODE = ("local", "lib", "handlers")


def _files_matching(pattern: str) -> list[str]:
    found = re.compile(pattern, re.MULTILINE)
    return sorted(
        path.relative_to(PROJECT_ROOT).as_posix()
        for folder in CODE
        for path in (PROJECT_ROOT / folder).rglob("*.py")
        if found.search(path.read_text())
    )


def test_a_fake_session_signs_with_the_fake_key_and_talks_to_its_endpoint():
    session = fake_session("eu-west-1", "http://127.0.0.1:4566")

    sqs = session.client("sqs")

    assert sqs.meta.endpoint_url == "http://127.0.0.1:4566"
    assert sqs.meta.region_name == "eu-west-1"
    assert sqs._request_signer._credentials.access_key == FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"]
    assert session.client("s3", endpoint_url="http://127.0.0.1:9").meta.endpoint_url == "http://127.0.0.1:9"


def test_only_the_credentials_module_builds_a_session_from_keys():
    # The IAM layer's sessions carry a role's own keys (local/aws/iam/roles.py), not the fake ones.
    assert _files_matching(r"aws_access_key_id\s*=") == ["local/aws/credentials.py", "local/aws/iam/__init__.py"]
    assert _files_matching(r"^FAKE_CREDENTIALS\s*=") == ["local/aws/credentials.py"]


def test_only_the_endpoints_module_reads_the_endpoints_variable():
    assert _files_matching(r"LOCAL_ENDPOINTS_FILE") == ["local/endpoints.py"]


def test_only_lib_deadline_defines_a_deadline_and_a_poll():
    # The fetcher's FetchDeadline extends lib/deadline.py's Deadline with a socket watchdog.
    assert _files_matching(r"^class \w*Deadline\b") == ["lib/deadline.py", "lib/fetching/guarded_http.py"]
    assert _files_matching(r"class FetchDeadline\(monotonic\.Deadline\)") == ["lib/fetching/guarded_http.py"]
    assert _files_matching(r"^def _?poll\(") == ["lib/deadline.py"]
