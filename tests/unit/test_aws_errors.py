"""The one translation of botocore's errors into domain errors, as each adapter words it."""

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from lib.adapters.aws_errors import Translation, call_aws
from lib.adapters.repository import ImageRepository
from lib.adapters.storage import ImageStore
from lib.domain.errors import AlreadyExists, NotFound, TransientError
from lib.throttling import Backoff, Throttled


def failing(error: Exception):
    def call(**arguments):
        raise error

    return call


def client_error(code: str, operation: str = "PutItem") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "nope"}}, operation)


TRANSLATION = Translation(
    failed=lambda code, e: f"failed ({code})",
    dependency="Thing",
    codes={"Gone": lambda code, e: NotFound(f"gone ({code})")},
    throttled=lambda code: f"slow down ({code})",
)


def test_given_a_mapped_code_when_called_then_its_domain_error_is_raised_from_the_client_error():
    error = client_error("Gone")
    with pytest.raises(NotFound, match=r"gone \(Gone\)") as raised:
        call_aws(failing(error), TRANSLATION)
    assert raised.value.__cause__ is error


def test_given_a_throttle_code_when_called_then_throttled_names_the_dependency():
    with pytest.raises(Throttled, match=r"slow down \(SlowDown\)") as raised:
        call_aws(failing(client_error("SlowDown")), TRANSLATION)
    assert raised.value.dependency == "Thing"


def test_given_no_throttle_wording_when_throttled_then_it_is_an_ordinary_transient_failure():
    with pytest.raises(TransientError) as raised:
        call_aws(failing(client_error("SlowDown")), Translation(lambda code, e: f"failed ({code})"))
    assert type(raised.value) is TransientError and raised.value.message == "failed (SlowDown)"


def test_given_an_unreachable_service_when_called_then_the_failure_has_no_code():
    with pytest.raises(TransientError, match=r"failed \(None\)"):
        call_aws(failing(EndpointConnectionError(endpoint_url="http://x")), TRANSLATION)


def test_given_success_when_called_then_the_answer_is_returned():
    assert call_aws(lambda: {"ok": 1}, TRANSLATION) == {"ok": 1}


class FailingClient:
    def __init__(self, error: Exception):
        self.error = error

    def __getattr__(self, operation):
        return failing(self.error)


def test_the_repository_reads_a_failed_condition_as_already_exists():
    repository = ImageRepository("t", dynamodb=lambda: FailingClient(client_error("ConditionalCheckFailedException")))
    with pytest.raises(AlreadyExists):
        repository.mark_delivered("0" * 32)


def test_the_repository_backs_off_a_throttle_then_reports_it():
    throttled = FailingClient(client_error("ProvisionedThroughputExceededException"))
    repository = ImageRepository("t", dynamodb=lambda: throttled, backoff=Backoff(budget_seconds=0))
    with pytest.raises(Throttled) as raised:
        repository.mark_delivered("0" * 32)
    assert raised.value.dependency == "DynamoDB"


@pytest.mark.parametrize("code", ["NoSuchKey", "404", "PreconditionFailed", "412"])
def test_storage_reads_a_gone_or_replaced_object_as_none(code):
    store = ImageStore("b", s3=lambda: FailingClient(client_error(code, "GetObject")))
    assert store.get("images/x.jpg", etag="abc") is None


def test_storage_reports_a_slow_down_as_transient_not_throttled():
    store = ImageStore("b", s3=lambda: FailingClient(client_error("SlowDown", "GetObject")))
    with pytest.raises(TransientError, match="could not read the object") as raised:
        store.get("images/x.jpg")
    assert not isinstance(raised.value, Throttled)
