"""DynamoDB adapter for each endpoint's delivery log (the DeliveryLog and DeliveryHistory ports).

A message's log entry lives on its delivery-state item (pk OWNER#<owner>, sk
DELIVERY#<endpoint id>#<webhook-id>, lib/adapters/endpoint_records.py), so the claim, the lease,
the attempts and the payload of one (event, endpoint) are one item that expires whole by `ttl`.
The item also carries the keys of the `delivery-log` index:

    log_pk  OWNER#<owner>#<endpoint id>     one endpoint of one owner
    log_sk  <queued at>#<webhook-id>        newest first with ScanIndexForward=False

so the log is read by Query on the index, inside one owner and one endpoint, never by a Scan.

Every write is an upsert that first sets the entry's fixed fields if they are missing: a log write
that failed at queue time is made good by the next one, and writing twice changes nothing twice.
"""

from __future__ import annotations

import time
from typing import Any

from lib.adapters.endpoint_records import (
    PENDING_CLAUSES,
    WebhooksTableClient,
    delivery_key,
    log_entry_fields,
    log_pk,
)
from lib.domain.delivery_log import (
    DELIVERED,
    LOG_SECONDS,
    PENDING,
    REPLAYABLE,
    SKIPPED,
    Attempt,
    LoggedDelivery,
    RecordedAttempt,
    event_of,
)
from lib.domain.events import CompletionEvent

INDEX = "delivery-log"
# How many index items one request reads at most: filling a page with a status filter, and looking
# for what a replay since T re-sends (among delivered and pending ones, which it passes over).
MAX_READ_PER_PAGE = 1000
MAX_READ_PER_REPLAY = 10_000


def attempt_item(attempt: Attempt) -> dict[str, Any]:
    return {
        "M": {
            "at": {"S": attempt.at},
            "status_code": {"N": str(attempt.status_code)} if attempt.status_code is not None else {"NULL": True},
            "duration_ms": {"N": repr(float(attempt.duration_ms))},
            "error": {"S": attempt.error} if attempt.error else {"NULL": True},
            "replay": {"BOOL": attempt.replay},
        }
    }


def attempt_from_item(item: dict[str, Any]) -> Attempt:
    fields = item["M"]
    return Attempt(
        at=fields["at"]["S"],
        status_code=int(fields["status_code"]["N"]) if "N" in fields["status_code"] else None,
        duration_ms=float(fields["duration_ms"]["N"]),
        error=fields["error"].get("S"),
        replay=fields["replay"]["BOOL"],
    )


def logged_from_item(item: dict[str, Any]) -> LoggedDelivery:
    return LoggedDelivery(
        webhook_id=item["webhook_id"]["S"],
        type=item["event_type"]["S"],
        status=item["log_status"]["S"],
        created_at=item["queued_at"]["S"],
        updated_at=item["updated_at"]["S"],
        event=event_of(item["event"]["S"]),
        next_retry_at=item.get("next_retry_at", {}).get("S"),
        reason=item.get("reason", {}).get("S"),
        attempts=tuple(attempt_from_item(a) for a in item.get("attempts", {}).get("L", [])),
    )


class DeliveryLogTable(WebhooksTableClient):
    """Each endpoint's delivery log (the DeliveryLog and DeliveryHistory ports)."""

    # --- writes (the deliver function) ----------------------------------------------------------------
    def record_queued(self, owner: str, endpoint_id: str, event: CompletionEvent, at: str) -> None:
        self._write_entry(owner, endpoint_id, event, at, list(PENDING_CLAUSES), {":pending": {"S": PENDING}})

    def record_attempt(self, owner: str, endpoint_id: str, event: CompletionEvent, recorded: RecordedAttempt) -> None:
        sets = [
            "attempts = list_append(if_not_exists(attempts, :none), :attempt)",
            "log_status = :status",
            "updated_at = :at",
        ]
        values: dict[str, Any] = {
            ":none": {"L": []},
            ":attempt": {"L": [attempt_item(recorded.attempt)]},
            ":status": {"S": recorded.status},
            ":key": {"S": recorded.key},
            ":keys": {"SS": [recorded.key]},
        }
        removes = []
        for name, value in (("next_retry_at", recorded.next_retry_at), ("reason", recorded.reason)):
            if value:
                sets.append(f"{name} = :{name}")
                values[f":{name}"] = {"S": value}
            else:
                removes.append(name)
        tail = " ADD attempt_keys :keys" + (f" REMOVE {', '.join(removes)}" if removes else "")
        self._write_entry(
            owner,
            endpoint_id,
            event,
            recorded.attempt.at,
            sets,
            values,
            tail,
            # The same attempt written again (a retried write whose first try did land) is recorded once.
            condition="attribute_not_exists(attempt_keys) OR NOT contains(attempt_keys, :key)",
        )

    def record_skipped(self, owner: str, endpoint_id: str, event: CompletionEvent, reason: str, at: str) -> None:
        self._write_entry(
            owner,
            endpoint_id,
            event,
            at,
            ["log_status = :skipped", "reason = :reason", "updated_at = :at"],
            {":skipped": {"S": SKIPPED}, ":reason": {"S": reason}, ":delivered": {"S": DELIVERED}},
            " REMOVE next_retry_at",
            # A copy of a message already delivered, skipped later, leaves it delivered.
            condition="attribute_not_exists(log_status) OR log_status <> :delivered",
        )

    def _write_entry(
        self,
        owner: str,
        endpoint_id: str,
        event: CompletionEvent,
        at: str,
        sets: list[str],
        values: dict[str, Any],
        tail: str = "",
        condition: str | None = None,
    ) -> None:
        """SETs the entry's fixed fields where they are missing, then `sets`, then `tail` (ADD, REMOVE).
        Under a `condition` that does not hold, nothing is written: the entry says so already."""
        fixed, fixed_values = log_entry_fields(owner, endpoint_id, event, at)
        arguments: dict[str, Any] = {
            "UpdateExpression": "SET " + ", ".join([*fixed, "#ttl = if_not_exists(#ttl, :ttl)", *sets]) + tail,
            "ExpressionAttributeNames": {"#ttl": "ttl"},
            "ExpressionAttributeValues": {
                **fixed_values,
                ":ttl": {"N": str(int(time.time()) + LOG_SECONDS)},
                **values,
            },
        }
        key = delivery_key(owner, endpoint_id, event.id)
        if condition:
            self._update_if(key, ConditionExpression=condition, **arguments)
        else:
            self._update_item(key, **arguments)

    # --- reads and replay (the webhooks function) -----------------------------------------------------
    def page(
        self, owner: str, endpoint_id: str, status: str | None, limit: int, after: str | None
    ) -> tuple[list[LoggedDelivery], str | None]:
        """Up to `limit` entries newest first, strictly older than the position `after`, and the
        position to go on from (None at the end). With a status filter a page may come back short,
        with a position, when MAX_READ_PER_PAGE items were read without filling it."""
        key = "log_pk = :pk" + (" AND log_sk < :after" if after else "")
        values: dict[str, Any] = {":pk": {"S": log_pk(owner, endpoint_id)}}
        if after:
            values[":after"] = {"S": after}
        found, position = self._query(
            key, values, status and (status,), limit + 1, MAX_READ_PER_PAGE, newest_first=True
        )
        if len(found) > limit:
            return [logged_from_item(i) for i in found[:limit]], found[limit - 1]["log_sk"]["S"]
        return [logged_from_item(i) for i in found], position

    def get(self, owner: str, endpoint_id: str, webhook_id: str) -> LoggedDelivery | None:
        item = self._get_item(delivery_key(owner, endpoint_id, webhook_id))
        return logged_from_item(item) if item and "log_pk" in item else None

    def replayable_since(self, owner: str, endpoint_id: str, since: str, limit: int) -> list[LoggedDelivery]:
        """The failed and skipped entries queued at or after `since`, oldest first, at most `limit`."""
        values = {":pk": {"S": log_pk(owner, endpoint_id)}, ":since": {"S": since}}
        key = "log_pk = :pk AND log_sk >= :since"
        found, _ = self._query(key, values, REPLAYABLE, limit, MAX_READ_PER_REPLAY, newest_first=False)
        return [logged_from_item(i) for i in found]

    def begin_replay(self, owner: str, endpoint_id: str, webhook_id: str, generation: str, at: str) -> bool:
        """Marks the entry pending under a new replay generation; False if the log has no such entry."""
        return self._update_if(
            delivery_key(owner, endpoint_id, webhook_id),
            UpdateExpression=(
                "SET replay_gen = :gen, log_status = :pending, updated_at = :at REMOVE next_retry_at, reason"
            ),
            ConditionExpression="attribute_exists(log_pk)",
            ExpressionAttributeValues={":gen": {"S": generation}, ":pending": {"S": PENDING}, ":at": {"S": at}},
        )

    def _query(
        self,
        key: str,
        values: dict[str, Any],
        statuses: tuple[str, ...] | None,
        wanted: int,
        max_read: int,
        newest_first: bool,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Items of the index in key order until `wanted` are found or `max_read` were read; and,
        when it stopped early, the position of the last item read."""
        arguments: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": INDEX,
            "KeyConditionExpression": key,
            "ExpressionAttributeValues": dict(values),
            "ScanIndexForward": not newest_first,
        }
        if statuses:
            names = [f":status{i}" for i in range(len(statuses))]
            arguments["FilterExpression"] = f"log_status IN ({', '.join(names)})"
            arguments["ExpressionAttributeValues"].update({n: {"S": s} for n, s in zip(names, statuses, strict=True)})
        found: list[dict[str, Any]] = []
        read = 0
        while True:
            arguments["Limit"] = min(max(wanted - len(found), 1) * (4 if statuses else 1), max_read - read)
            page = self._call(lambda arguments=arguments: self._dynamodb().query(**arguments))
            found += page.get("Items", [])
            read += int(page.get("ScannedCount", len(page.get("Items", []))))
            last = page.get("LastEvaluatedKey")
            if len(found) >= wanted or not last:
                return found[:wanted], None
            if read >= max_read:
                return found, last["log_sk"]["S"]
            arguments["ExclusiveStartKey"] = last
