"""`make migrate-owners`: images written with the schema before owners list for their new owner, and only then."""

from __future__ import annotations

import pytest

from lib.adapters.repository import ImageRepository
from local.commands.migrate_owners import migrate
from tests.support.builders import image_record, items_before_owners


@pytest.fixture
def table(aws):
    client = aws.fresh_client("dynamodb")
    seen = []
    client.meta.events.register("before-call.dynamodb.*", lambda model, **_: seen.append(model.name))
    return client, aws.ref("ImagesTable"), ImageRepository(aws.ref("ImagesTable"), dynamodb=lambda: client), seen


def test_images_written_before_owners_list_for_their_new_owner_after_the_migration(table):
    client, name, repository, seen = table
    # GIVEN 20 images written the old way (over every old shard, and the first unsharded partition)
    old = [image_record(created=f"2026-11-26T12:00:{i:02d}.000000Z", owner="") for i in range(20)]
    for index, record in enumerate(old):
        items = items_before_owners(record, ["Cat", "Animal"] if index % 2 else ["Dog"])
        if index == 0:
            items[0]["listing"] = {"S": "IMAGE"}
        for item in items:
            client.put_item(TableName=name, Item=item)
    # and one image of another owner, written today
    bobs = image_record(owner="bob-sub")
    repository.create_pending(bobs)
    assert repository.list_recent("alice-sub", 50).records == []  # visible to no one before
    # WHEN they are migrated to Alice
    seen.clear()
    migrated = migrate(client, name, "alice-sub")
    # THEN every one lists for her, newest first, and by label, and nothing else changed hands
    assert (migrated.images, migrated.label_items) == (20, 30)
    assert "Scan" not in seen
    listed = repository.list_recent("alice-sub", 50).records
    assert [r.image_id for r in listed] == [r.image_id for r in reversed(old)]
    assert {r.owner for r in listed} == {"alice-sub"}
    assert len(repository.list_by_label("alice-sub", "cat", 50).records) == 10
    assert len(repository.list_by_label("alice-sub", "dog", 50).records) == 10
    assert repository.get_owned(old[0].image_id, "alice-sub") is not None
    assert repository.get_owned(bobs.image_id, "bob-sub") is not None
    assert [r.image_id for r in repository.list_recent("bob-sub", 50).records] == [bobs.image_id]
    # and a second run finds nothing left to do
    assert (migrate(client, name, "alice-sub").images, migrate(client, name, "carol").images) == (0, 0)


def test_an_empty_owner_is_refused(table):
    client, name, _, _ = table
    with pytest.raises(ValueError):
        migrate(client, name, "")
