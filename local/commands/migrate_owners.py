"""`python -m local migrate-owners --owner SUB`: give the images written before owners existed an owner.

    python -m local migrate-owners --owner public --local          # the running local stack
    python -m local migrate-owners --owner <sub> --stage prod      # AWS, with your profile

Such images carry no `owner`, and index keys in no owner's partition (`listing=IMAGE#<shard>` or
`IMAGE`, `label=<label>`), so they are visible to no one (docs/operations.md). This finds them by a
Query on those old listing partitions, never a Scan, and for each one rewrites its label items'
`label`, then sets the image's `owner` and `listing` to the owner's partitions
(lib/domain/listing.py). The image item goes last and only if it still has no owner, so a run that
stops half-way is finished by the next one, and a second run changes nothing.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Any

from lib.adapters.image_items import LABEL_SK_PREFIX, deserialize, serialize
from lib.domain import listing
from local.commands.redrive import Place, RedriveError, _place

BY_CREATED = "by-created"
# The listing partitions of the schema before owners: the sharded ones, then the single first one.
OLD_PARTITIONS = tuple(f"IMAGE#{shard}" for shard in range(listing.SHARDS)) + ("IMAGE",)


@dataclass(frozen=True)
class Migrated:
    images: int
    label_items: int

    def line(self, owner: str) -> str:
        return f"migrate-owners: {self.images} images ({self.label_items} label items) now belong to {owner}"


def migrate(dynamodb: Any, table: str, owner: str) -> Migrated:
    if not owner or owner.strip() != owner:
        raise ValueError("the owner must be a non-empty subject, without surrounding spaces")
    images = labels = 0
    for partition in OLD_PARTITIONS:
        for item in _query(dynamodb, table, "listing = :p", {":p": partition}, index=BY_CREATED):
            if item.get("owner"):
                continue
            labels += _move_label_items(dynamodb, table, item, owner)
            if _claim(dynamodb, table, item, owner):
                images += 1
    return Migrated(images, labels)


def _move_label_items(dynamodb: Any, table: str, image: dict[str, Any], owner: str) -> int:
    moved = 0
    condition = "pk = :pk AND begins_with(sk, :labels)"
    for item in _query(dynamodb, table, condition, {":pk": image["pk"], ":labels": LABEL_SK_PREFIX}):
        name = item["sk"][len(LABEL_SK_PREFIX) :]
        dynamodb.update_item(
            TableName=table,
            Key=serialize({"pk": item["pk"], "sk": item["sk"]}),
            UpdateExpression="SET label = :label",
            ExpressionAttributeValues=serialize({":label": listing.label_partition(owner, image["image_id"], name)}),
        )
        moved += 1
    return moved


def _claim(dynamodb: Any, table: str, image: dict[str, Any], owner: str) -> bool:
    """Give the image its owner and listing partition, unless someone gave it an owner meanwhile."""
    from botocore.exceptions import ClientError

    try:
        dynamodb.update_item(
            TableName=table,
            Key=serialize({"pk": image["pk"], "sk": image["sk"]}),
            UpdateExpression="SET #owner = :owner, listing = :listing",
            ConditionExpression="attribute_not_exists(#owner) OR #owner = :none",
            ExpressionAttributeNames={"#owner": "owner"},
            ExpressionAttributeValues=serialize(
                {":owner": owner, ":listing": listing.listing_partition(owner, image["image_id"]), ":none": ""}
            ),
        )
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False
        raise
    return True


def _query(dynamodb: Any, table: str, condition: str, values: dict[str, str], index: str | None = None):
    start: dict[str, Any] = {}
    while True:
        response = dynamodb.query(
            TableName=table,
            KeyConditionExpression=condition,
            ExpressionAttributeValues=serialize(values),
            **({"IndexName": index} if index else {}),
            **start,
        )
        yield from (deserialize(item) for item in response.get("Items", []))
        if not response.get("LastEvaluatedKey"):
            return
        start = {"ExclusiveStartKey": response["LastEvaluatedKey"]}


def table_name(place: Place) -> str:
    if place.stage is not None and place.endpoint is None:
        resource = place.client("cloudformation").describe_stack_resource(
            StackName=place.stack_name, LogicalResourceId="ImagesTable"
        )
        return resource["StackResourceDetail"]["PhysicalResourceId"]
    return f"{place.stack_name}-ImagesTable"  # how the local stack names its resources


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m local migrate-owners", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--owner", required=True, help="the owner to give them: a user's sub, or public")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--local", action="store_true", help="the running local stack (.local/endpoints.json)")
    where.add_argument("--stage", help="a deployed stage: the table is found in its CloudFormation stack")
    where.add_argument("--endpoint-url", help="any DynamoDB-compatible endpoint (an emulator)")
    parser.add_argument("--profile", help="AWS profile (default: the usual credential chain)")
    parser.add_argument("--region", help="AWS region (default: the profile's, else serverless.yml's)")
    parser.add_argument("--table", help="the image table's name (default: found from the stage)")
    args = parser.parse_args(argv)
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        place = _place(args)
        migrated = migrate(place.client("dynamodb"), args.table or table_name(place), args.owner)
    except (RedriveError, ValueError, BotoCoreError) as error:
        print(f"migrate-owners: failed, {error}", file=sys.stderr, flush=True)
        return 1
    except ClientError as error:
        print(f"migrate-owners: failed, {error.response['Error'].get('Message', error)}", file=sys.stderr, flush=True)
        return 1
    print(migrated.line(args.owner), flush=True)
    return 0
