"""Two users on one stack with AUTH=cognito: every route tried across owners answers as for a
missing image, no answer names the other owner's images, and each owner's own list is complete.

Names are unique markers (`alice-<hex>`, `bob-<hex>`): a body that held the other owner's image id
or name anywhere, in an item, an error message or a cursor, would fail the test.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests

from local.paths import PROJECT_ROOT
from local.stack import LocalSystem
from tests.support.builders import image_record, items_before_owners
from tests.support.contract import ContractSession
from tests.support.e2e_stack import cli_token, cognito_stack_options
from tests.support.waiting import wait_until

STAGE = "e2e-owners"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


class Owner:
    """One signed-in user: a session that sends its token, and what it uploaded."""

    def __init__(self, name: str, api: str, token: str):
        self.name, self.api = name, api
        payload = token.split(".")[1]
        self.subject = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"]
        self.http = ContractSession(api)
        self.http.headers["Authorization"] = f"Bearer {token}"
        self.images: dict[str, str] = {}  # image_id -> its unique name
        self.labels: dict[str, set[str]] = {}  # image_id -> its labels, once recognized
        self.seen: list[str] = []  # every body this owner was answered

    def call(self, method: str, path: str, **kwargs) -> requests.Response:
        response = self.http.request(method, self.api + path, timeout=30, **kwargs)
        self.seen.append(response.text)
        return response

    def upload(self, fixture: str) -> str:
        name = f"{self.name}-{uuid.uuid4().hex[:12]}"
        data = (FIXTURES / fixture).read_bytes()
        response = self.call("POST", f"/images?name={name}", data=data, headers={"content-type": "image/jpeg"})
        assert response.status_code == 202, response.text
        self.images[response.json()["image_id"]] = name
        return response.json()["image_id"]

    def final(self, image_id: str) -> dict:
        """The image once recognized."""
        return wait_until(
            lambda: (
                (body := self.call("GET", f"/images/{image_id}").json()).get("status") in ("DONE", "FAILED") and body
            ),
            60,
            f"{self.name}'s image {image_id} to be recognized",
        )

    def listed(self, path: str, **query) -> list[str]:
        """Every image id of a whole listing, following its cursors two at a time."""
        found, cursor = [], None
        for _ in range(20):
            page = self.call("GET", path, params={**query, "limit": 2, **({"cursor": cursor} if cursor else {})})
            assert page.status_code == 200, page.text
            found += [item["image_id"] for item in page.json()["items"]]
            cursor = page.json()["next_cursor"]
            if not cursor:
                return found
        raise AssertionError(f"{path} never ended")


# On the default backend only: a second stack on ministack would cost about 90 s here. The
# ministack stack of tests/e2e/test_auth.py tries the same isolation with its own two users.
@pytest.fixture(scope="module")
def owners(tmp_path_factory):
    """One stack for the module, Alice's three images and Bob's two, all recognized."""
    endpoints = tmp_path_factory.mktemp("owners") / "endpoints.json"
    options = cognito_stack_options(STAGE, endpoints)
    with LocalSystem(options) as stack:
        api = stack.endpoints.api
        alice = Owner("alice", api, cli_token(endpoints, STAGE, "alice"))
        bob = Owner("bob", api, cli_token(endpoints, STAGE, "bob"))
        for owner, fixtures in (
            (alice, ("chelsea.jpg", "coffee.jpg", "rocket.jpg")),
            (bob, ("astronaut.jpg", "coffee.jpg")),
        ):
            for fixture in fixtures:
                owner.upload(fixture)
        for owner in (alice, bob):
            for image_id in owner.images:
                body = owner.final(image_id)
                owner.labels[image_id] = {label["name"].casefold() for label in body["labels"]}
        yield stack, alice, bob


@pytest.fixture(params=["alice-asks-for-bobs", "bob-asks-for-alices"])
def pair(request, owners):
    _, alice, bob = owners
    return (alice, bob) if request.param == "alice-asks-for-bobs" else (bob, alice)


def leaks(asker: Owner, other: Owner) -> list[str]:
    markers = [*other.images, *other.images.values()]
    return [marker for marker in markers for body in asker.seen if marker in body]


def test_each_owner_lists_exactly_its_own_images(pair):
    asker, other = pair
    for path in ("/images", "/"):
        assert sorted(asker.listed(path)) == sorted(asker.images), path
    assert leaks(asker, other) == []


def test_each_owner_finds_exactly_its_own_images_by_label_including_labels_the_other_has(pair):
    asker, other = pair
    labels = set().union(*asker.labels.values(), *other.labels.values())
    if not labels:
        pytest.skip("no image was given a label on this backend")
    for label in sorted(labels):
        mine = sorted(image_id for image_id, names in asker.labels.items() if label in names)
        for path in ("/images", "/"):
            assert sorted(asker.listed(path, label=label)) == mine, f"{path} label={label}"
    assert leaks(asker, other) == []


def test_a_cursor_replayed_by_the_other_owner_is_refused(pair):
    asker, other = pair
    shared = set().union(*other.labels.values())
    label = {"label": sorted(shared)[0]} if shared else {}
    for path, query in (("/images", {}), ("/", {}), ("/images", label)):
        cursor = other.call("GET", path, params={**query, "limit": 1}).json()["next_cursor"]
        if not cursor:
            continue  # a label only one of the other owner's images has: a single page

        replayed = asker.call("GET", path, params={**query, "limit": 1, "cursor": cursor})
        assert replayed.status_code == 400, replayed.text
    assert leaks(asker, other) == []


@pytest.mark.parametrize("suffix", ["", "/content"])
def test_the_other_owners_image_answers_as_a_missing_one(pair, suffix):
    asker, other = pair
    missing = uuid.uuid4().hex
    absent = asker.call("GET", f"/images/{missing}{suffix}")
    for image_id in other.images:
        theirs = asker.call("GET", f"/images/{image_id}{suffix}")
        assert theirs.status_code == absent.status_code == 404
        assert theirs.text == absent.text
    assert leaks(asker, other) == []


def test_an_upload_slot_and_what_its_presigned_post_makes_belong_to_its_opener(pair):
    asker, other = pair
    name = f"{other.name}-{uuid.uuid4().hex[:12]}"
    opened = other.call("POST", "/uploads", json={"name": name, "content_type": "image/jpeg"})
    assert opened.status_code == 201, opened.text
    image_id = opened.json()["image_id"]
    other.images[image_id] = name
    assert asker.call("GET", f"/images/{image_id}").status_code == 404
    # The presigned POST needs no token: what it sends becomes the opener's image, and only theirs.
    upload = opened.json()["upload"]
    data = (FIXTURES / "chelsea.jpg").read_bytes()
    sent = requests.post(
        upload["url"], data=upload["fields"], files={"file": ("image", data, "image/jpeg")}, timeout=30
    )
    assert sent.status_code == 204, sent.text
    other.final(image_id)
    assert asker.call("GET", f"/images/{image_id}").status_code == 404
    assert image_id in other.listed("/images") and image_id not in asker.listed("/images")
    assert leaks(asker, other) == []


def test_only_the_owner_deletes_and_a_delete_is_for_good(owners, pair):
    stack, *_ = owners
    asker, other = pair
    image_id = other.upload("coffee.jpg")
    other.final(image_id)
    # Another owner's delete answers as a missing image's, and deletes nothing.
    missing = uuid.uuid4().hex
    theirs, absent = asker.call("DELETE", f"/images/{image_id}"), asker.call("DELETE", f"/images/{missing}")
    assert theirs.status_code == absent.status_code == 404 and theirs.text == absent.text
    assert other.call("GET", f"/images/{image_id}").status_code == 200
    # The owner's: 204, then 404 on every route, and a second delete is 404 too.
    assert other.call("DELETE", f"/images/{image_id}").status_code == 204
    del other.images[image_id]
    assert [other.call("GET", f"/images/{image_id}{suffix}").status_code for suffix in ("", "/content")] == [404, 404]
    assert other.call("DELETE", f"/images/{image_id}").status_code == 404
    assert image_id not in other.listed("/images")
    s3 = stack.session().client("s3")
    bucket = stack.physical("ImagesBucket")
    assert s3.list_object_versions(Bucket=bucket, Prefix=f"images/{image_id}").get("Versions", []) == []
    # image.deleted is delivered to the stage's webhook, with its owner.
    deleted = wait_until(
        lambda: [
            d.body
            for d in stack.inbox.deliveries()
            if (d.body or {}).get("type") == "image.deleted" and d.body["data"]["image_id"] == image_id
        ],
        30,
        "image.deleted to be delivered",
    )
    assert len(deleted) == 1
    assert leaks(asker, other) == []


def test_images_written_before_owners_are_seen_by_nobody_until_migrated_to_one(owners):
    stack, alice, bob = owners
    # GIVEN an image written with the schema before owners, straight into the stack's table
    record = image_record(bucket=stack.physical("ImagesBucket"), name=f"legacy-{uuid.uuid4().hex[:12]}", owner="")
    for item in items_before_owners(record, ["Cat"]):
        stack.session().client("dynamodb").put_item(TableName=stack.physical("ImagesTable"), Item=item)
    for owner in (alice, bob):
        assert record.image_id not in owner.listed("/images")
        assert owner.call("GET", f"/images/{record.image_id}").status_code == 404
    # WHEN `python -m local migrate-owners` gives it to Alice (her token's sub)
    result = subprocess.run(
        # --table: this stack's stage is not `local`, whose table --local would otherwise name
        [sys.executable, "-m", "local", "migrate-owners", "--owner", alice.subject, "--local"]
        + ["--table", stack.physical("ImagesTable")],
        cwd=PROJECT_ROOT,
        env={**os.environ, "LOCAL_ENDPOINTS_FILE": str(stack.options.endpoints_file)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "1 images (1 label items)" in result.stdout
    alice.images[record.image_id] = record.name
    # THEN she sees it, by list, label and id, and Bob still does not
    assert record.image_id in alice.listed("/images") and record.image_id in alice.listed("/", label="cat")
    assert alice.call("GET", f"/images/{record.image_id}").status_code == 200
    assert record.image_id not in bob.listed("/images")
    assert leaks(bob, alice) == []
