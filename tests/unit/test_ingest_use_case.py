"""Ingest (lib/usecases/ingest.py) in memory: fetch or receive, check, record PENDING, store; nothing left behind."""

import pytest
from aws_lambda_powertools import Logger

from lib.domain.errors import InvalidRequest, RemoteClientError, TransientError, UnsupportedMediaType
from lib.domain.image_checks import ImageLimits
from lib.domain.model import PENDING
from lib.usecases.ingest import IngestService
from tests.support import hostile_images
from tests.support.fakes import FakeFetcher, FakeImageRepository, FakeImageStore

Logger()  # the handler's logger, whose child loggers the use case logs through

CAT_URL = "https://images.example/cat.jpg"


def service(fetcher=None, store=None, repository=None) -> IngestService:
    return IngestService(
        fetcher=fetcher or FakeFetcher({CAT_URL: hostile_images.jpeg()}),
        store=store or FakeImageStore(),
        repository=repository or FakeImageRepository(),
        limits=ImageLimits(),
    )


def test_given_an_image_url_when_ingested_then_the_bytes_are_stored_under_a_pending_record():
    url = CAT_URL + "?token=secret"
    fetcher, store, repository = FakeFetcher({url: hostile_images.jpeg()}), FakeImageStore(), FakeImageRepository()

    record = service(fetcher, store, repository).ingest_url(url, "cat.jpg", "alice")

    assert repository.records == {record.image_id: record}
    assert record.status == PENDING and record.name == "cat.jpg"
    assert (record.width, record.height, record.content_type) == (451, 300, "image/jpeg")
    # The query may carry a token: it is neither kept nor echoed.
    assert fetcher.fetched == [url] and record.source_url == CAT_URL
    assert record.key == f"images/{record.image_id}.jpg" and record.bucket == store.bucket
    assert store.objects == {record.key: (hostile_images.jpeg(), "image/jpeg", {"image-id": record.image_id})}


def test_given_uploaded_bytes_when_ingested_then_they_are_stored_with_no_source_url():
    store = FakeImageStore()

    record = service(store=store).ingest_bytes(hostile_images.jpeg(), None, "alice")

    assert record.source_url is None and record.size_bytes == len(hostile_images.jpeg())
    assert list(store.objects) == [record.key]


def test_given_bytes_that_are_not_an_image_when_ingested_then_refused_and_nothing_is_written():
    store, repository = FakeImageStore(), FakeImageRepository()

    with pytest.raises(UnsupportedMediaType):
        service(store=store, repository=repository).ingest_bytes(hostile_images.html_page(), "page.html", "alice")

    assert store.objects == {} and repository.records == {}


def test_given_a_bad_name_when_a_url_is_ingested_then_refused_before_any_fetch():
    fetcher = FakeFetcher({CAT_URL: hostile_images.jpeg()})

    with pytest.raises(InvalidRequest):
        service(fetcher=fetcher).ingest_url(CAT_URL, "bad\nname", "alice")

    assert fetcher.fetched == []


def test_given_a_url_the_server_refuses_when_ingested_then_its_error_is_raised_and_nothing_is_written():
    repository = FakeImageRepository()

    with pytest.raises(RemoteClientError):
        service(fetcher=FakeFetcher(), repository=repository).ingest_url(CAT_URL, None, "alice")

    assert repository.records == {}


def test_given_the_store_fails_when_ingested_then_the_pending_record_is_removed_again():
    repository = FakeImageRepository()

    with pytest.raises(TransientError):
        service(store=FakeImageStore(failing=True), repository=repository).ingest_bytes(
            hostile_images.jpeg(), None, "alice"
        )

    assert repository.records == {}
