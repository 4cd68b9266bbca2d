import base64
import json

import pytest

from lib.adapters.repository import ImageRepository
from lib.domain.errors import AlreadyExists, InvalidRequest
from lib.domain.model import DONE, FAILED, Failure, Label
from tests.support.builders import image_record


def pending(image_id=None, created=None):
    return image_record(image_id, created=created, size_bytes=10, width=2, height=3)


@pytest.fixture
def calls(aws):
    """The DynamoDB operations the repository issues, by name."""
    client = aws.client("dynamodb")
    seen = []
    client.meta.events.register("before-call.dynamodb.*", lambda model, **_: seen.append(model.name))
    return client, seen


@pytest.fixture
def repository(aws, calls):
    client, _ = calls
    return ImageRepository(aws.ref("ImagesTable"), dynamodb=lambda: client)


def test_a_pending_record_is_created_once(repository):
    record = pending()
    repository.create_pending(record)
    with pytest.raises(AlreadyExists):
        repository.create_pending(record)
    assert repository.get(record.image_id) == record


def test_completing_twice_is_refused_so_a_duplicate_cannot_write_a_second_result(repository):
    record = pending()
    repository.create_pending(record)
    repository.complete(record, DONE, labels=[Label("Cat", 99.0, ("Animal",)), Label("cat", 50.0)])
    with pytest.raises(AlreadyExists):
        repository.complete(record, FAILED, failure=Failure("x", "y"))
    stored = repository.get(record.image_id)
    assert stored.status == DONE
    assert [label.name for label in stored.labels] == ["Cat"]  # case-duplicates collapse to the most confident


def test_listing_pages_newest_first_with_a_cursor_and_never_scans(repository, calls):
    _, seen = calls
    records = [pending(created=f"2026-11-26T12:00:{i:02d}.000000Z") for i in range(5)]
    for record in records:
        repository.create_pending(record)
    first = repository.list_recent(limit=2)
    second = repository.list_recent(limit=2, cursor=first.next_cursor)
    third = repository.list_recent(limit=2, cursor=second.next_cursor)
    listed = [r.image_id for page in (first, second, third) for r in page.records]
    assert listed == [r.image_id for r in reversed(records)]
    assert third.next_cursor is None or repository.list_recent(2, third.next_cursor).records == []
    assert "Scan" not in seen


def test_label_filter_queries_the_label_index_newest_first_and_never_scans(repository, calls):
    _, seen = calls
    cat_old, dog, cat_new = (pending(created=f"2026-11-26T12:00:0{i}.000000Z") for i in range(3))
    for record, label in ((cat_old, "Cat"), (dog, "Dog"), (cat_new, "Cat")):
        repository.create_pending(record)
        repository.complete(record, DONE, labels=[Label(label, 90.0), Label("Animal", 95.0)])
    seen.clear()
    page = repository.list_by_label("cat", limit=10)
    assert [r.image_id for r in page.records] == [cat_new.image_id, cat_old.image_id]
    assert [r.image_id for r in repository.list_by_label("ANIMAL", limit=10).records] == [
        cat_new.image_id,
        dog.image_id,
        cat_old.image_id,
    ]
    assert "Scan" not in seen and "Query" in seen


def test_label_pages_follow_the_cursor(repository):
    records = [pending(created=f"2026-11-26T12:00:0{i}.000000Z") for i in range(3)]
    for record in records:
        repository.create_pending(record)
        repository.complete(record, DONE, labels=[Label("Cat", 90.0)])
    first = repository.list_by_label("Cat", limit=2)
    second = repository.list_by_label("Cat", limit=2, cursor=first.next_cursor)
    assert [r.image_id for r in first.records + second.records] == [r.image_id for r in reversed(records)]


def encoded(keys):
    return base64.urlsafe_b64encode(json.dumps(keys).encode()).decode().rstrip("=")


GOOD_KEYS = {"pk": "IMAGE#" + "a" * 32, "sk": "IMAGE", "listing": "IMAGE", "created": "2026-11-26T12:00:00.000000Z"}


@pytest.mark.parametrize(
    "cursor",
    [
        "%%%",
        "e30",
        "eyJwayI6MX0",
        "W10",
        encoded({**GOOD_KEYS, "pk": "IMAGE#not-an-id"}),
        encoded({**GOOD_KEYS, "sk": "OTHER"}),
        encoded({**GOOD_KEYS, "created": "yesterday"}),
    ],
    ids=["not-base64", "empty-object", "wrong-types", "array", "bad-pk", "bad-sk", "bad-created"],
)
def test_a_forged_cursor_is_a_client_error(repository, cursor):
    with pytest.raises(InvalidRequest):
        repository.list_recent(limit=2, cursor=cursor)


def test_a_cursor_from_one_listing_is_refused_by_the_other(repository):
    for _ in range(3):
        repository.create_pending(pending())
    cursor = repository.list_recent(limit=1).next_cursor
    with pytest.raises(InvalidRequest):
        repository.list_by_label("cat", limit=1, cursor=cursor)


def test_a_cursor_from_one_label_is_refused_by_another(repository):
    for _ in range(2):
        record = pending()
        repository.create_pending(record)
        repository.complete(record, DONE, labels=[Label("Cat", 90.0)])
    cursor = repository.list_by_label("cat", limit=1).next_cursor
    assert repository.list_by_label("CAT", limit=1, cursor=cursor).records  # the same label, another spelling
    with pytest.raises(InvalidRequest):
        repository.list_by_label("dog", limit=1, cursor=cursor)


def test_a_label_item_left_by_an_interrupted_try_does_not_list_the_image(repository):
    # GIVEN a first try that wrote its label items and stopped before the status change
    record = pending()
    repository.create_pending(record)
    repository._put_label_items(record, [Label("Dog", 80.0)])
    # WHEN the retry finds other labels
    repository.complete(record, DONE, labels=[Label("Cat", 90.0)])
    # THEN the image is listed under what its record says, not under the stray item
    assert [r.image_id for r in repository.list_by_label("cat", limit=10).records] == [record.image_id]
    assert repository.list_by_label("dog", limit=10).records == []


def test_listing_stays_newest_first_and_complete_across_shards_and_legacy_items(repository, aws, calls):
    from lib.domain.listing import LEGACY_PARTITION, PARTITIONS, partition_for

    _, seen = calls
    # GIVEN 40 images over the shards, a few created in the same microsecond, and 5 written before
    # sharding (their listing key is the single legacy partition)
    records = [pending(created=f"2026-11-26T12:{i // 60:02d}:{i % 60:02d}.000000Z") for i in range(35)]
    records += [pending(created="2026-11-26T12:00:10.000000Z") for _ in range(5)]
    for record in records:
        repository.create_pending(record)
    legacy = [pending(created=f"2026-11-26T11:59:{i:02d}.500000Z") for i in range(5)]
    table = aws.client("dynamodb")
    for record in legacy:
        repository.create_pending(record)
        table.update_item(
            TableName=aws.ref("ImagesTable"),
            Key={"pk": {"S": f"IMAGE#{record.image_id}"}, "sk": {"S": "IMAGE"}},
            UpdateExpression="SET listing = :legacy",
            ExpressionAttributeValues={":legacy": {"S": LEGACY_PARTITION}},
        )
    everything = records + legacy
    assert len({partition_for(r.image_id) for r in records}) > 4  # the writes really spread
    # WHEN the whole listing is read in pages of 7
    seen.clear()
    listed, cursor = [], None
    for _ in range(20):
        page = repository.list_recent(limit=7, cursor=cursor)
        assert len(page.records) <= 7
        listed += page.records
        cursor = page.next_cursor
        if cursor is None:
            break
    # THEN every image appears once, newest first (ties by id), legacy ones in their place
    expected = sorted(everything, key=lambda r: (r.created, f"IMAGE#{r.image_id}"), reverse=True)
    assert [r.image_id for r in listed] == [r.image_id for r in expected]
    assert "Scan" not in seen and seen.count("Query") >= len(PARTITIONS)


def test_a_cursor_of_the_unsharded_listing_still_pages_on():
    from lib.domain.listing import decode_cursor

    cursor = encoded(GOOD_KEYS)
    assert decode_cursor(cursor) == (GOOD_KEYS["created"], GOOD_KEYS["pk"])
