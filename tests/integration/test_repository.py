import base64
import json

import pytest

from lib.adapters.repository import ImageRepository
from lib.domain.errors import AlreadyExists, InvalidRequest
from lib.domain.model import DONE, FAILED, Failure, Label
from tests.support.builders import image_record, items_before_owners

OWNER = "alice-sub"


def pending(image_id=None, created=None, owner=OWNER):
    return image_record(image_id, created=created, size_bytes=10, width=2, height=3, owner=owner)


@pytest.fixture
def calls(aws):
    """The DynamoDB operations the repository issues, by name."""
    client = aws.fresh_client("dynamodb")
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
    first = repository.list_recent(OWNER, limit=2)
    second = repository.list_recent(OWNER, limit=2, cursor=first.next_cursor)
    third = repository.list_recent(OWNER, limit=2, cursor=second.next_cursor)
    listed = [r.image_id for page in (first, second, third) for r in page.records]
    assert listed == [r.image_id for r in reversed(records)]
    assert third.next_cursor is None or repository.list_recent(OWNER, 2, third.next_cursor).records == []
    assert "Scan" not in seen


def test_label_filter_queries_the_label_index_newest_first_and_never_scans(repository, calls):
    _, seen = calls
    cat_old, dog, cat_new = (pending(created=f"2026-11-26T12:00:0{i}.000000Z") for i in range(3))
    for record, label in ((cat_old, "Cat"), (dog, "Dog"), (cat_new, "Cat")):
        repository.create_pending(record)
        repository.complete(record, DONE, labels=[Label(label, 90.0), Label("Animal", 95.0)])
    seen.clear()
    page = repository.list_by_label(OWNER, "cat", limit=10)
    assert [r.image_id for r in page.records] == [cat_new.image_id, cat_old.image_id]
    assert [r.image_id for r in repository.list_by_label(OWNER, "ANIMAL", limit=10).records] == [
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
    first = repository.list_by_label(OWNER, "Cat", limit=2)
    second = repository.list_by_label(OWNER, "Cat", limit=2, cursor=first.next_cursor)
    assert [r.image_id for r in first.records + second.records] == [r.image_id for r in reversed(records)]


def encoded(keys):
    return base64.urlsafe_b64encode(json.dumps(keys).encode()).decode().rstrip("=")


GOOD_KEYS = {"pk": "IMAGE#" + "a" * 32, "created": "2026-11-26T12:00:00.000000Z", "scope": "0" * 32}


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
        repository.list_recent(OWNER, limit=2, cursor=cursor)


def test_a_cursor_from_one_listing_is_refused_by_the_other(repository):
    for _ in range(3):
        repository.create_pending(pending())
    cursor = repository.list_recent(OWNER, limit=1).next_cursor
    with pytest.raises(InvalidRequest):
        repository.list_by_label(OWNER, "cat", limit=1, cursor=cursor)


def test_a_cursor_from_one_label_is_refused_by_another(repository):
    for _ in range(2):
        record = pending()
        repository.create_pending(record)
        repository.complete(record, DONE, labels=[Label("Cat", 90.0)])
    cursor = repository.list_by_label(OWNER, "cat", limit=1).next_cursor
    assert repository.list_by_label(OWNER, "CAT", limit=1, cursor=cursor).records  # the same label, another spelling
    with pytest.raises(InvalidRequest):
        repository.list_by_label(OWNER, "dog", limit=1, cursor=cursor)


def test_a_label_item_left_by_an_interrupted_try_does_not_list_the_image(repository):
    # GIVEN a first try that wrote its label items and stopped before the status change
    record = pending()
    repository.create_pending(record)
    repository._put_label_items(record, [Label("Dog", 80.0)])
    # WHEN the retry finds other labels
    repository.complete(record, DONE, labels=[Label("Cat", 90.0)])
    # THEN the image is listed under what its record says, not under the stray item
    assert [r.image_id for r in repository.list_by_label(OWNER, "cat", limit=10).records] == [record.image_id]
    assert repository.list_by_label(OWNER, "dog", limit=10).records == []


def read_all(list_page, limit=7):
    listed, cursor = [], None
    for _ in range(30):
        page = list_page(limit=limit, cursor=cursor)
        assert len(page.records) <= limit
        listed += page.records
        cursor = page.next_cursor
        if cursor is None:
            return listed
    raise AssertionError("the listing never ended")


def write_the_old_way(aws, record, labels=()):
    table = aws.client("dynamodb")
    for item in items_before_owners(record, labels):
        table.put_item(TableName=aws.ref("ImagesTable"), Item=item)


def test_listing_stays_newest_first_and_complete_across_shards(repository, calls):
    from lib.domain.listing import SHARDS, shard_of

    _, seen = calls
    # GIVEN 40 images of one owner over the shards, a few created in the same microsecond
    records = [pending(created=f"2026-11-26T12:{i // 60:02d}:{i % 60:02d}.000000Z") for i in range(35)]
    records += [pending(created="2026-11-26T12:00:10.000000Z") for _ in range(5)]
    for record in records:
        repository.create_pending(record)
    assert len({shard_of(r.image_id) for r in records}) > 4  # the writes really spread
    # WHEN the whole listing is read in pages of 7
    seen.clear()
    listed = read_all(lambda **page: repository.list_recent(OWNER, **page))
    # THEN every image appears once, newest first (ties by id)
    expected = sorted(records, key=lambda r: (r.created, f"IMAGE#{r.image_id}"), reverse=True)
    assert [r.image_id for r in listed] == [r.image_id for r in expected]
    assert "Scan" not in seen and seen.count("Query") >= SHARDS


def test_each_owner_lists_all_its_own_images_and_none_of_anothers(repository, calls):
    _, seen = calls
    # GIVEN three owners' images, interleaved in time, each labelled Cat
    owners = ("alice-sub", "bob-sub", "public")
    mine = {owner: [] for owner in owners}
    for i in range(24):
        owner = owners[i % 3]
        record = pending(created=f"2026-11-26T12:00:{i:02d}.000000Z", owner=owner)
        repository.create_pending(record)
        repository.complete(record, DONE, labels=[Label("Cat", 90.0)])
        mine[owner].append(record.image_id)
    seen.clear()
    for owner in owners:
        # WHEN each owner reads its whole listing and its whole label listing, 2 at a time
        listed = read_all(lambda owner=owner, **page: repository.list_recent(owner, **page), limit=2)
        labelled = read_all(lambda owner=owner, **page: repository.list_by_label(owner, "cat", **page), limit=2)
        # THEN it sees exactly its own, newest first, in both
        assert [r.image_id for r in listed] == list(reversed(mine[owner]))
        assert [r.image_id for r in labelled] == list(reversed(mine[owner]))
        assert {r.owner for r in listed + labelled} == {owner}
    assert "Scan" not in seen


def test_another_owners_image_reads_as_missing(repository):
    record = pending(owner="alice-sub")
    repository.create_pending(record)
    assert repository.get_owned(record.image_id, "alice-sub") == record
    assert repository.get_owned(record.image_id, "bob-sub") is None
    assert repository.get_owned(record.image_id, "") is None


def test_a_cursor_issued_to_one_owner_is_refused_to_another(repository):
    for owner in ("alice-sub", "bob-sub"):
        for _ in range(3):
            record = pending(owner=owner)
            repository.create_pending(record)
            repository.complete(record, DONE, labels=[Label("Cat", 90.0)])
    recent = repository.list_recent("alice-sub", limit=1).next_cursor
    labelled = repository.list_by_label("alice-sub", "cat", limit=1).next_cursor
    assert repository.list_recent("alice-sub", limit=1, cursor=recent).records
    with pytest.raises(InvalidRequest):
        repository.list_recent("bob-sub", limit=1, cursor=recent)
    with pytest.raises(InvalidRequest):
        repository.list_by_label("bob-sub", "cat", limit=1, cursor=labelled)


def test_owners_whose_names_differ_only_by_a_separator_get_different_partitions():
    from lib.domain.listing import label_partitions, listing_partitions

    assert not set(listing_partitions("a#IMAGE#1")) & set(listing_partitions("a"))
    assert not set(label_partitions("a#LABEL#1", "x")) & set(label_partitions("a", "1#LABEL#1#x"))


def test_records_written_before_owners_are_listed_for_nobody(repository, aws):
    old = pending(owner="")
    write_the_old_way(aws, old, labels=["Cat"])
    for owner in ("public", "alice-sub"):
        assert repository.list_recent(owner, limit=10).records == []
        assert repository.list_by_label(owner, "cat", limit=10).records == []
        assert repository.get_owned(old.image_id, owner) is None
