"""A stateful property test of ownership, through the API handlers on moto: whatever three owners
upload, delete and list, in whatever order, no owner is ever shown another's image, and each is
always shown every one of its own (by list, label filter and cursor pages, and by id)."""

from __future__ import annotations

import json
import uuid

import hypothesis.strategies as st
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from hypothesis import HealthCheck, settings
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, initialize, rule

from handlers import delete, results
from lib.adapters.publisher import EventPublisher
from lib.adapters.repository import ImageRepository
from lib.adapters.storage import ImageStore
from lib.domain.model import DONE, Label
from lib.usecases.deletion import ImageDeletion
from tests.support.builders import http_event, image_record

OWNERS = ("a", "b", "c")
LABELS = ("Cat", "Dog", "Tree")


def ownership_machine(aws):
    repository = ImageRepository(aws.ref("ImagesTable"), dynamodb=lambda: aws.client("dynamodb"))
    store = ImageStore(aws.ref("ImagesBucket"), s3=lambda: aws.client("s3"), signer=lambda: aws.client("s3"))
    deletion = ImageDeletion(repository, store, EventPublisher(aws.ref("ResultsTopic"), sns=lambda: aws.client("sns")))

    class Ownership(RuleBasedStateMachine):
        images = Bundle("images")

        @initialize()
        def fresh_owners(self):
            # One table for every example: owners of their own per example keep examples apart.
            run = uuid.uuid4().hex[:8]
            self.subject = {owner: f"{run}-{owner}" for owner in OWNERS}
            self.model: dict[str, tuple[str, frozenset[str]]] = {}  # live image id -> (owner, labels)

        def call(self, owner, method, path, query=None, image_id=None):
            claims = {"sub": self.subject[owner]}
            event = http_event(
                method, path, query=query, claims=claims, path_parameters={"id": image_id} if image_id else None
            )
            if method == "DELETE":
                return delete.handle(APIGatewayProxyEventV2(event), deletion)
            return results.handle(APIGatewayProxyEventV2(event), repository, store)

        @rule(target=images, owner=st.sampled_from(OWNERS), labels=st.sets(st.sampled_from(LABELS), max_size=2))
        def upload(self, owner, labels):
            record = image_record(owner=self.subject[owner], bucket=store.bucket)
            repository.create_pending(record)
            repository.complete(record, DONE, labels=[Label(name, 90.0) for name in labels])
            self.model[record.image_id] = (owner, frozenset(name.casefold() for name in labels))
            return record.image_id

        @rule(image_id=consumes(images), owner=st.sampled_from(OWNERS))
        def delete(self, image_id, owner):
            response = self.call(owner, "DELETE", f"/images/{image_id}", image_id=image_id)
            if self.model.get(image_id, (None,))[0] == owner:
                assert response["statusCode"] == 204
                del self.model[image_id]
            else:
                assert response["statusCode"] == 404

        @rule(image_id=images, owner=st.sampled_from(OWNERS))
        def get(self, image_id, owner):
            response = self.call(owner, "GET", f"/images/{image_id}", image_id=image_id)
            mine = self.model.get(image_id, (None,))[0] == owner
            assert response["statusCode"] == (200 if mine else 404)

        @rule(
            owner=st.sampled_from(OWNERS),
            label=st.none() | st.sampled_from(LABELS),
            limit=st.integers(min_value=1, max_value=4),
        )
        def list_all(self, owner, label, limit):
            query = {"limit": str(limit), **({"label": label.upper()} if label else {})}
            listed, cursor = [], None
            for _ in range(50):
                response = self.call(owner, "GET", "/images", query={**query, **({"cursor": cursor} if cursor else {})})
                assert response["statusCode"] == 200
                page = json.loads(response["body"])
                listed += [item["image_id"] for item in page["items"]]
                cursor = page["next_cursor"]
                if not cursor:
                    break
            expected = {
                image_id
                for image_id, (holder, labels) in self.model.items()
                if holder == owner and (label is None or label.casefold() in labels)
            }
            assert len(listed) == len(set(listed))
            assert set(listed) == expected

    return Ownership


def test_no_owner_ever_sees_anothers_image_and_always_sees_all_its_own(aws):
    machine = ownership_machine(aws)
    machine.TestCase.settings = settings(
        max_examples=6,
        stateful_step_count=12,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    machine.TestCase().runTest()
