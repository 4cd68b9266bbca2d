"""DynamoDB adapter for webhook endpoints and the delivery state of each (event, endpoint).

One table, keyed by owner, so every read is a Query or GetItem inside one owner (never a Scan):
- an endpoint:        pk OWNER#<owner>, sk ENDPOINT#<id>
- a delivery's state: pk OWNER#<owner>, sk DELIVERY#<endpoint id>#<webhook-id>, expiring by `ttl`

A delivery's item also holds its entry in the endpoint's delivery log (lib/adapters/delivery_log_table.py),
listed newest first through the `delivery-log` index.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from lib.adapters.aws_errors import Translation, call_aws
from lib.adapters.clients import client
from lib.domain.delivery_log import PENDING, QueuedEntry
from lib.domain.endpoints import Endpoint
from lib.domain.errors import AlreadyExists
from lib.domain.events import CompletionEvent
from lib.throttling import Backoff

ENDPOINT_PREFIX = "ENDPOINT#"
DELIVERY_PREFIX = "DELIVERY#"
QUEUED = "queued"
DELIVERED = "delivered"
# How long the state of one delivery is kept: long enough for any retry, and for a log to read.
DELIVERY_STATE_SECONDS = 30 * 24 * 3600
_NOT_YET_SENT = "attribute_not_exists(sent_at)"


def owner_pk(owner: str) -> str:
    return f"OWNER#{owner}"


def endpoint_sk(endpoint_id: str) -> str:
    return f"{ENDPOINT_PREFIX}{endpoint_id}"


def delivery_sk(endpoint_id: str, webhook_id: str) -> str:
    return f"{DELIVERY_PREFIX}{endpoint_id}#{webhook_id}"


def endpoint_key(owner: str, endpoint_id: str) -> dict[str, Any]:
    return {"pk": {"S": owner_pk(owner)}, "sk": {"S": endpoint_sk(endpoint_id)}}


def delivery_key(owner: str, endpoint_id: str, webhook_id: str) -> dict[str, Any]:
    """The item of one (event, endpoint): its state and its delivery log entry."""
    return {"pk": {"S": owner_pk(owner)}, "sk": {"S": delivery_sk(endpoint_id, webhook_id)}}


def log_pk(owner: str, endpoint_id: str) -> str:
    """The delivery-log index's partition: one endpoint of one owner."""
    return f"{owner_pk(owner)}#{endpoint_id}"


# A queued message's entry says pending until an attempt says more (SET where nothing says it yet).
PENDING_CLAUSES = ("log_status = if_not_exists(log_status, :pending)", "updated_at = if_not_exists(updated_at, :at)")


def log_entry_fields(owner: str, endpoint_id: str, event: CompletionEvent, at: str) -> tuple[list[str], dict[str, Any]]:
    """The SET clauses and values that give a delivery item its log entry's fixed fields where it
    has none yet: the delivery-log index's keys, when it was queued, and the event itself. Every
    write of the entry starts with them, so that whichever write comes first opens it."""
    clauses = [
        "log_pk = :log_pk",
        "log_sk = if_not_exists(log_sk, :log_sk)",
        "queued_at = if_not_exists(queued_at, :at)",
        "webhook_id = :webhook_id",
        "event_type = :event_type",
        "event = if_not_exists(event, :event)",
    ]
    values = {
        ":log_pk": {"S": log_pk(owner, endpoint_id)},
        ":log_sk": {"S": f"{at}#{event.id}"},
        ":at": {"S": at},
        ":webhook_id": {"S": event.id},
        ":event_type": {"S": event.type},
        ":event": {"S": event.to_message()},
    }
    return clauses, values


def endpoint_item(endpoint: Endpoint) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": {"S": owner_pk(endpoint.owner)},
        "sk": {"S": endpoint_sk(endpoint.endpoint_id)},
        "owner": {"S": endpoint.owner},
        "endpoint_id": {"S": endpoint.endpoint_id},
        "url": {"S": endpoint.url},
        "events": {"L": [{"S": e} for e in endpoint.events]},
        "description": {"S": endpoint.description},
        "enabled": {"BOOL": endpoint.enabled},
        "created_at": {"S": endpoint.created_at},
        "updated_at": {"S": endpoint.updated_at},
        "secret_ciphertext": {"S": endpoint.secret_ciphertext},
    }
    if endpoint.previous_ciphertext:
        item["previous_ciphertext"] = {"S": endpoint.previous_ciphertext}
        item["previous_expires_at"] = {"N": repr(endpoint.previous_expires_at)}
    if endpoint.disabled_reason:
        item["disabled_reason"] = {"S": endpoint.disabled_reason}
    if endpoint.failing_since:
        item["failing_since"] = {"S": endpoint.failing_since}
    return item


# The key, what identifies the endpoint, and updated_at, which every write sets without a condition.
_NOT_CHANGED_BY_AN_UPDATE = frozenset({"pk", "sk", "owner", "endpoint_id", "created_at", "updated_at"})


def endpoint_from_item(item: dict[str, Any]) -> Endpoint:
    return Endpoint(
        owner=item["owner"]["S"],
        endpoint_id=item["endpoint_id"]["S"],
        url=item["url"]["S"],
        events=tuple(e["S"] for e in item["events"]["L"]),
        description=item.get("description", {}).get("S", ""),
        enabled=item["enabled"]["BOOL"],
        created_at=item["created_at"]["S"],
        updated_at=item["updated_at"]["S"],
        secret_ciphertext=item["secret_ciphertext"]["S"],
        previous_ciphertext=item.get("previous_ciphertext", {}).get("S", ""),
        previous_expires_at=float(item.get("previous_expires_at", {}).get("N", "0")),
        disabled_reason=item.get("disabled_reason", {}).get("S", ""),
        failing_since=item.get("failing_since", {}).get("S", ""),
    )


class WebhooksTableClient:
    """The webhooks table's calls: botocore errors translated, throttling retried by the backoff."""

    def __init__(
        self,
        table_name: str,
        dynamodb: Callable[[], Any] = lambda: client("dynamodb"),
        backoff: Backoff | None = None,
    ):
        self.table_name = table_name
        self._dynamodb = dynamodb
        self._backoff = backoff or Backoff()
        self._translation = Translation(
            lambda code, e: f"the webhooks table could not be reached: {code or type(e).__name__}",
            dependency="DynamoDB",
            # Every conditional write here states what it expects; a failed condition is an answer.
            codes={"ConditionalCheckFailedException": lambda code, e: AlreadyExists("the condition did not hold")},
            throttled=lambda code: f"the webhooks table is throttling ({code})",
        )

    def _call(self, call: Callable[[], Any]) -> Any:
        return self._backoff.run(lambda: call_aws(call, self._translation))

    def _get_item(self, key: dict[str, Any]) -> dict[str, Any] | None:
        """The item, read consistently; None if there is none."""
        answer = self._call(lambda: self._dynamodb().get_item(TableName=self.table_name, Key=key, ConsistentRead=True))
        return answer.get("Item")

    def _update_item(self, key: dict[str, Any], **request: Any) -> dict[str, Any]:
        return self._call(lambda: self._dynamodb().update_item(TableName=self.table_name, Key=key, **request))

    def _update_if(self, key: dict[str, Any], **request: Any) -> bool:
        """A conditional UpdateItem: False when the condition did not hold (another write came first,
        or the item is gone), and nothing was written."""
        try:
            self._update_item(key, **request)
        except AlreadyExists:
            return False
        return True


class EndpointTable(WebhooksTableClient):
    """Endpoints (the EndpointRecords port) and delivery states (the DeliveryStates port)."""

    # --- endpoints ------------------------------------------------------------------------------------
    def create(self, endpoint: Endpoint) -> None:
        self._call(
            lambda: self._dynamodb().put_item(
                TableName=self.table_name,
                Item=endpoint_item(endpoint),
                ConditionExpression="attribute_not_exists(pk)",
            )
        )

    def get(self, owner: str, endpoint_id: str) -> Endpoint | None:
        item = self._get_item(endpoint_key(owner, endpoint_id))
        return endpoint_from_item(item) if item else None

    def list_for_owner(self, owner: str) -> list[Endpoint]:
        endpoints: list[Endpoint] = []
        start: dict[str, Any] | None = None
        while True:
            arguments: dict[str, Any] = {
                "TableName": self.table_name,
                "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
                "ExpressionAttributeValues": {
                    ":pk": {"S": owner_pk(owner)},
                    ":prefix": {"S": ENDPOINT_PREFIX},
                },
            }
            if start:
                arguments["ExclusiveStartKey"] = start
            page = self._call(lambda arguments=arguments: self._dynamodb().query(**arguments))
            endpoints += [endpoint_from_item(item) for item in page.get("Items", [])]
            start = page.get("LastEvaluatedKey")
            if not start:
                return endpoints

    def save_changes(self, read: Endpoint, changed: Endpoint) -> bool:
        """One conditional UpdateItem: each changed attribute is set (or removed, when it became
        empty) on condition that it still holds the value read, so a concurrent write to it (a
        delivery marking the endpoint failing or disabling it, another PATCH or rotation) is never
        overwritten with a stale copy; the others are not written at all."""
        before, after = endpoint_item(read), endpoint_item(changed)
        names: dict[str, str] = {}
        values: dict[str, Any] = {":at": after["updated_at"]}
        sets, removes, conditions = ["updated_at = :at"], [], ["attribute_exists(pk)"]
        for n, name in enumerate(sorted((before.keys() | after.keys()) - _NOT_CHANGED_BY_AN_UPDATE)):
            if before.get(name) == after.get(name):
                continue
            names[f"#f{n}"] = name
            if name in after:
                sets.append(f"#f{n} = :new{n}")
                values[f":new{n}"] = after[name]
            else:
                removes.append(f"#f{n}")
            if name in before:
                conditions.append(f"#f{n} = :old{n}")
                values[f":old{n}"] = before[name]
            else:
                conditions.append(f"attribute_not_exists(#f{n})")
        update = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        return self._update_if(
            endpoint_key(changed.owner, changed.endpoint_id),
            UpdateExpression=update,
            ConditionExpression=" AND ".join(conditions),
            ExpressionAttributeValues=values,
            **({"ExpressionAttributeNames": names} if names else {}),
        )  # changed meanwhile, or deleted

    def delete(self, owner: str, endpoint_id: str) -> bool:
        old = self._call(
            lambda: self._dynamodb().delete_item(
                TableName=self.table_name,
                Key=endpoint_key(owner, endpoint_id),
                ReturnValues="ALL_OLD",
            )
        )
        return bool(old.get("Attributes"))

    def disable(self, owner: str, endpoint_id: str, reason: str, at: str) -> None:
        # False when it was deleted meanwhile: nothing left to disable.
        self._disable_if("attribute_exists(pk)", {}, owner, endpoint_id, reason, at)

    def _disable_if(
        self, condition: str, values: dict[str, Any], owner: str, endpoint_id: str, reason: str, at: str
    ) -> bool:
        """Disables the endpoint with `reason` where `condition` (with its `values`) holds."""
        return self._update_if(
            endpoint_key(owner, endpoint_id),
            UpdateExpression="SET enabled = :off, disabled_reason = :reason, updated_at = :at",
            ConditionExpression=condition,
            ExpressionAttributeValues={
                ":off": {"BOOL": False},
                ":reason": {"S": reason},
                ":at": {"S": at},
                **values,
            },
        )

    # --- an endpoint's health (lib/domain/endpoint_health.py) ----------------------------------------
    def mark_failing(self, owner: str, endpoint_id: str, at: str) -> str:
        """Records a failed attempt: `failing_since` becomes `at` unless it is set already.

        Returns the `failing_since` that holds after the write, so attempts failing at once agree on
        one start; "" when the endpoint was deleted meanwhile.
        """
        try:
            answer = self._update_item(
                endpoint_key(owner, endpoint_id),
                UpdateExpression="SET failing_since = if_not_exists(failing_since, :at)",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":at": {"S": at}},
                ReturnValues="ALL_NEW",
            )
        except AlreadyExists:
            return ""
        return answer.get("Attributes", {}).get("failing_since", {}).get("S", "")

    def mark_healthy(self, owner: str, endpoint_id: str, at: str) -> None:
        """Records a success at `at`: ends the failing spell if it began before (a failure recorded
        after this success began a new one)."""
        self._update_if(
            endpoint_key(owner, endpoint_id),
            UpdateExpression="REMOVE failing_since",
            ConditionExpression="failing_since <= :at",
            ExpressionAttributeValues={":at": {"S": at}},
        )  # not failing, failing since after `at`, or deleted: nothing to clear

    def disable_failing(self, owner: str, endpoint_id: str, failing_since: str, reason: str, at: str) -> bool:
        """Disables the endpoint if it is still enabled and still failing since `failing_since`.

        True for the one call that disabled it: a success meanwhile, the owner disabling it, or
        another attempt disabling it first makes this one False.
        """
        return self._disable_if(
            "enabled = :on AND failing_since = :since",
            {":on": {"BOOL": True}, ":since": {"S": failing_since}},
            owner,
            endpoint_id,
            reason,
            at,
        )

    # --- the state of each (event, endpoint) ----------------------------------------------------------
    def claim(
        self, owner: str, endpoint_id: str, webhook_id: str, claimer: str, entry: QueuedEntry | None = None
    ) -> bool:
        """True if this fan-out (`claimer`: the queue message being processed) may queue the message:
        no fan-out has recorded sending it yet (`mark_sent`).

        Once it is sent, every later copy of the event queues nothing: a retry of the stage's own
        webhook, a duplicate from SNS, a redrive. Until then any copy may queue it, not only the one
        that claimed first: the copy that carries on after a crash between claim and send may be
        another queue message (a re-queue after a throttle, a redrive from the dead-letter queue),
        and holding it to the first claimer lost the event for this endpoint. Two copies queuing it
        at once cost one extra message; the delivery's lease and delivered state send it once.
        `claimed_by` stays on the item, to say which message queued it last.

        With `entry`, the same write opens the message's delivery-log entry (pending, queued at
        `entry.at`), where a write of its own would cost another; a claim made again keeps the
        entry as it is (lib/adapters/delivery_log_table.py).
        """
        # An update, not a put: claiming again (the same message processed again) keeps what the
        # item already records, its delivery log among it.
        clauses = ["claimed_by = :me", "#s = if_not_exists(#s, :queued)", "#ttl = if_not_exists(#ttl, :ttl)"]
        values: dict[str, Any] = {
            ":me": {"S": claimer},
            ":queued": {"S": QUEUED},
            ":ttl": {"N": str(int(time.time()) + DELIVERY_STATE_SECONDS)},
        }
        if entry is not None:
            fields, field_values = log_entry_fields(owner, endpoint_id, entry.event, entry.at)
            clauses += [*fields, *PENDING_CLAUSES]
            values |= {**field_values, ":pending": {"S": PENDING}}
        return self._update_if(
            delivery_key(owner, endpoint_id, webhook_id),
            UpdateExpression="SET " + ", ".join(clauses),
            ConditionExpression=_NOT_YET_SENT,
            ExpressionAttributeNames={"#s": "status", "#ttl": "ttl"},
            ExpressionAttributeValues=values,
        )

    def mark_sent(self, owner: str, endpoint_id: str, webhook_id: str) -> None:
        self._update_item(
            delivery_key(owner, endpoint_id, webhook_id),
            UpdateExpression="SET sent_at = :now",
            ExpressionAttributeValues={":now": {"N": str(int(time.time()))}},
        )

    def begin_send(self, owner: str, endpoint_id: str, webhook_id: str, lease_seconds: int, replay: str = "") -> bool:
        """Takes the lease to send this (event, endpoint) now: False if it is delivered already, or
        another invocation holds an unexpired lease (a queue message seen twice at once).

        A replay (`replay`, its generation) is sent although the message was delivered before,
        once per generation; a replay supersedes the messages of the first sending and of any
        earlier replay, so a late retry of those sends nothing beside it."""
        now = int(time.time())
        values = {
            ":until": {"N": str(now + lease_seconds)},
            ":now": {"N": str(now)},
            ":ttl": {"N": str(now + DELIVERY_STATE_SECONDS)},
        }
        if replay:
            unsent = "replay_gen = :gen AND (attribute_not_exists(replay_done) OR replay_done <> :gen)"
            values[":gen"] = {"S": replay}
        else:
            unsent = "(attribute_not_exists(#s) OR #s <> :delivered) AND attribute_not_exists(replay_gen)"
            values[":delivered"] = {"S": DELIVERED}
        return self._update_if(
            delivery_key(owner, endpoint_id, webhook_id),
            UpdateExpression="SET lease_until = :until, #ttl = if_not_exists(#ttl, :ttl)",
            ConditionExpression=f"({unsent}) AND (attribute_not_exists(lease_until) OR lease_until < :now)",
            ExpressionAttributeNames={"#ttl": "ttl", **({} if replay else {"#s": "status"})},
            ExpressionAttributeValues=values,
        )

    def end_send(self, owner: str, endpoint_id: str, webhook_id: str) -> None:
        """Gives the lease back after an attempt that did not deliver, so the retry need not wait for it."""
        self._update_item(
            delivery_key(owner, endpoint_id, webhook_id),
            UpdateExpression="REMOVE lease_until",
        )

    def is_delivered(self, owner: str, endpoint_id: str, webhook_id: str, replay: str = "") -> bool:
        """Whether this sending (the first, or the replay `replay`) has nothing left to do: delivered,
        or superseded by a later replay."""
        item = self._get_item(delivery_key(owner, endpoint_id, webhook_id))
        if not item:
            return False
        generation = item.get("replay_gen", {}).get("S", "")
        if generation != replay:
            return True
        if replay:
            return item.get("replay_done", {}).get("S") == replay
        return item.get("status", {}).get("S") == DELIVERED

    def mark_delivered(self, owner: str, endpoint_id: str, webhook_id: str, replay: str = "") -> None:
        done = ", replay_done = :gen" if replay else ""
        self._update_item(
            delivery_key(owner, endpoint_id, webhook_id),
            UpdateExpression=(
                f"SET #s = :delivered, delivered_at = :now, #ttl = if_not_exists(#ttl, :ttl){done} REMOVE lease_until"
            ),
            ExpressionAttributeNames={"#s": "status", "#ttl": "ttl"},
            ExpressionAttributeValues={
                ":delivered": {"S": DELIVERED},
                ":now": {"N": str(int(time.time()))},
                ":ttl": {"N": str(int(time.time()) + DELIVERY_STATE_SECONDS)},
                **({":gen": {"S": replay}} if replay else {}),
            },
        )
