"""Whose request it is: read once, from the authorizer's verified claims, and carried on the record."""

import pytest
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from handlers.http import owner_of
from lib.adapters.image_items import image_item, record_from_item
from lib.domain.errors import InvalidRequest
from lib.domain.model import NO_OWNER, PUBLIC_OWNER
from tests.support.builders import http_event, image_record


def test_without_an_authorizer_every_request_belongs_to_the_public_owner():
    event = http_event("GET", "/images", headers={"x-owner": "alice"}, query={"owner": "alice"})
    assert owner_of(APIGatewayProxyEventV2(event)) == PUBLIC_OWNER


def test_with_an_authorizer_the_owner_is_the_verified_subject_and_nothing_the_caller_writes():
    event = http_event(
        "POST", "/images", headers={"x-owner": "mallory"}, body='{"owner": "mallory"}', claims={"sub": "alice-sub"}
    )
    assert owner_of(APIGatewayProxyEventV2(event)) == "alice-sub"


@pytest.mark.parametrize("claims", [{"username": "alice"}, {"sub": ""}, {"sub": 7}])
def test_a_verified_token_without_a_subject_names_nobody_rather_than_the_public_owner(claims):
    with pytest.raises(InvalidRequest):
        owner_of(APIGatewayProxyEventV2(http_event("GET", "/images", claims=claims)))


def test_the_owner_round_trips_through_the_table_item():
    record = image_record(owner="alice-sub")
    assert image_item(record)["owner"] == "alice-sub"
    assert record_from_item(image_item(record)).owner == "alice-sub"


def test_an_item_written_before_owners_existed_has_no_owner():
    item = image_item(image_record())
    del item["owner"]
    assert record_from_item(item).owner == NO_OWNER
