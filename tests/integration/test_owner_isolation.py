"""Every API route answers only of the caller's own images, on moto through the real handlers:
another owner's image answers exactly as a missing one, and `GET /` lists exactly as `GET /images`."""

from __future__ import annotations

import json

import pytest
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from handlers import results, upload, uploads
from lib.adapters.repository import ImageRepository
from lib.adapters.storage import ImageStore
from lib.domain.model import DONE, Label
from lib.usecases.direct_uploads import DirectUploads
from tests.support.builders import http_event, image_record

ALICE, BOB = {"sub": "alice-sub"}, {"sub": "bob-sub"}


@pytest.fixture
def api(aws):
    class Api:
        repository = ImageRepository(aws.ref("ImagesTable"), dynamodb=lambda: aws.client("dynamodb"))
        store = ImageStore(aws.ref("ImagesBucket"), s3=lambda: aws.client("s3"), signer=lambda: aws.client("s3"))

        def image(self, claims, name, label="Cat"):
            record = image_record(name=name, owner=claims["sub"], bucket=self.store.bucket)
            self.repository.create_pending(record)
            self.repository.complete(record, DONE, labels=[Label(label, 90.0)])
            return record.image_id

        def images(self, claims, path="/images", query=None, image_id=None):
            event = http_event(
                "GET", path, query=query, claims=claims, path_parameters={"id": image_id} if image_id else None
            )
            return results.handle(APIGatewayProxyEventV2(event), self.repository, self.store)

        def root(self, claims, query=None):
            event = APIGatewayProxyEventV2(http_event("GET", "/", query=query, claims=claims))
            return upload.handle(event, service=None, listings=lambda: self.repository)

        def open_upload(self, claims):
            service = DirectUploads(store=self.store, repository=self.repository, max_bytes=1000)
            body = json.dumps({"name": "big", "content_type": "image/png"})
            event = http_event(
                "POST", "/uploads", headers={"content-type": "application/json"}, body=body, claims=claims
            )
            return json.loads(uploads.handle(APIGatewayProxyEventV2(event), service)["body"])["image_id"]

        def forget(self, image_id):
            for sk in ("IMAGE", "UPLOAD"):
                aws.client("dynamodb").delete_item(
                    TableName=aws.ref("ImagesTable"), Key={"pk": {"S": f"IMAGE#{image_id}"}, "sk": {"S": sk}}
                )

    return Api()


def ids(response):
    return [item["image_id"] for item in json.loads(response["body"])["items"]]


@pytest.mark.parametrize("path", ["/images/{id}", "/images/{id}/content"])
def test_another_owners_image_answers_exactly_as_a_missing_one(api, path):
    # GIVEN Alice's image
    image_id = api.image(ALICE, "alice-only")
    assert api.images(ALICE, path.format(id=image_id), image_id=image_id)["statusCode"] in (200, 302)
    # WHEN Bob asks for it, and again once it is truly gone
    theirs = api.images(BOB, path.format(id=image_id), image_id=image_id)
    api.forget(image_id)
    missing = api.images(BOB, path.format(id=image_id), image_id=image_id)
    # THEN both answers are the same 404, byte for byte
    assert theirs["statusCode"] == 404
    assert (theirs["statusCode"], theirs["body"]) == (missing["statusCode"], missing["body"])


def test_another_owners_upload_slot_answers_as_a_missing_one(api):
    image_id = api.open_upload(ALICE)
    assert (
        json.loads(api.images(ALICE, f"/images/{image_id}", image_id=image_id)["body"])["status"] == "AWAITING_UPLOAD"
    )
    theirs = api.images(BOB, f"/images/{image_id}", image_id=image_id)
    api.forget(image_id)
    assert theirs == api.images(BOB, f"/images/{image_id}", image_id=image_id) and theirs["statusCode"] == 404


def test_lists_and_label_filters_show_each_owner_only_its_own(api):
    alices = [api.image(ALICE, f"alice-{i}") for i in range(3)]
    bobs = [api.image(BOB, f"bob-{i}") for i in range(2)]
    assert set(ids(api.images(ALICE))) == set(alices)
    assert set(ids(api.images(BOB))) == set(bobs)
    assert set(ids(api.images(BOB, query={"label": "cat"}))) == set(bobs)
    assert ids(api.images({"sub": "carol-sub"})) == []


def test_a_cursor_replayed_by_another_owner_is_refused_and_names_nothing_of_the_first(api):
    alices = [api.image(ALICE, f"alice-{i}") for i in range(3)]
    api.image(BOB, "bob-0")
    for query in ({"limit": "1"}, {"limit": "1", "label": "cat"}):
        cursor = json.loads(api.images(ALICE, query=query)["body"])["next_cursor"]
        replayed = api.images(BOB, query={**query, "cursor": cursor})
        assert replayed["statusCode"] == 400
        assert not any(image_id in replayed["body"] for image_id in alices) and "alice" not in replayed["body"]


def test_get_root_without_url_answers_exactly_as_get_images_and_follows_its_cursors(api):
    alices = [api.image(ALICE, f"alice-{i}") for i in range(3)]
    api.image(BOB, "bob-0")
    for query in ({}, {"limit": "2"}, {"label": "cat"}, {"limit": "0"}, {"label": ""}):
        listed, rooted = api.images(ALICE, query=query), api.root(ALICE, query=query)
        assert (rooted["statusCode"], rooted["body"]) == (listed["statusCode"], listed["body"]), query
    first = json.loads(api.images(ALICE, query={"limit": "2"})["body"])
    second = json.loads(api.root(ALICE, query={"limit": "2", "cursor": first["next_cursor"]})["body"])
    assert {item["image_id"] for item in first["items"] + second["items"]} == set(alices)
