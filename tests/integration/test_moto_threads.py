"""The embedded emulator under concurrent callers: moto's in-memory backends are shared by every
thread of its server, and are not thread-safe by themselves.

The stack's pollers, workers and gateway call it at once. Unguarded, a Query (moto walks every item
of the table for one) or an UpdateItem (moto copies the item first) failed with `dictionary changed
size during iteration` when another request added an item or an attribute meanwhile: moto answered
500. So requests enter moto one at a time (local/aws/moto_dispatch.py). The first test checks that
directly: a backend call that waits inside moto while seven other threads call it is never joined
by another. The second does what the functions do to the images table, from eight threads at once:
write an image's labels, update a shared image's status and delivery attributes, read it back,
list by label, delete an old image. Any error fails it; the client does not retry, which would hide
it. Without the lock it fails only some of the time, in a few rounds of a hundred: the first test
is the one that fails every time.
"""

from __future__ import annotations

import sys
import threading
import time

import pytest
from botocore.config import Config
from moto.dynamodb.models import DynamoDBBackend

from local.aws.credentials import fake_session
from local.aws.emulator import MotoEmulator
from tests.support.waiting import wait_until

THREADS = 8
ROUNDS = 6
LABELS = 4
# Images each thread keeps: the table stays at a few hundred items, so a listing iterates long
# enough for other threads' writes to land while it does.
KEPT = 8
# Items every thread updates and reads, as recognize, deliver and the API do with one image.
SHARED = 2
BACKGROUND_IMAGES = 300


@pytest.fixture(scope="module")
def table():
    emulator = MotoEmulator()
    endpoint = emulator.start()
    client = fake_session("us-east-1", endpoint).client(
        "dynamodb",
        config=Config(
            max_pool_connections=THREADS * 2,
            # A retry would hide the failure: moto answers a crashed request with a 500, which botocore retries.
            retries={"total_max_attempts": 1},
        ),
    )
    client.create_table(
        TableName="images",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": name, "AttributeType": "S"} for name in ("pk", "sk", "label", "created")
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-label",
                "KeySchema": [
                    {"AttributeName": "label", "KeyType": "HASH"},
                    {"AttributeName": "created", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    # Other owners' images: moto's Query walks every item of the table, and each round's new image
    # changes the table's size while it does.
    for first in range(0, BACKGROUND_IMAGES, 25):
        puts = [
            {"PutRequest": {"Item": {"pk": {"S": f"IMAGE#other-{n}"}, "sk": {"S": "IMAGE"}}}}
            for n in range(first, first + 25)
        ]
        client.batch_write_item(RequestItems={"images": puts})
    yield client
    emulator.stop()


def label_requests(image: str, kind: str) -> list[dict]:
    keys = [{"pk": {"S": image}, "sk": {"S": f"LABEL#{n}"}} for n in range(LABELS)]
    if kind == "DeleteRequest":
        return [{"DeleteRequest": {"Key": key}} for key in keys]
    return [
        {"PutRequest": {"Item": key | {"label": {"S": f"label-{n}"}, "created": {"S": image}}}}
        for n, key in enumerate(keys)
    ]


def attribute(thread: int, round_: int) -> str:
    return f"delivered_{thread}_{round_ % 3}"


def one_round(client, thread: int, round_: int) -> None:
    """What the functions do to one image at once: recognize writes its labels and its status,
    deliver records a delivery on the same item, the API reads and lists it; and an old image goes."""
    image = f"IMAGE#{thread}-{round_:04d}"
    shared = {"pk": {"S": f"IMAGE#shared-{round_ % SHARED}"}, "sk": {"S": "IMAGE"}}
    client.batch_write_item(RequestItems={"images": label_requests(image, "PutRequest")})
    # Every thread updates the same few items, each with attributes of its own that come and go:
    # the item's attribute map changes size under the other threads' reads and copies of it.
    client.update_item(
        TableName="images",
        Key=shared,
        UpdateExpression=f"SET #s = :done, {attribute(thread, round_)} = :now REMOVE {attribute(thread, round_ + 1)}",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":done": {"S": "DONE"}, ":now": {"N": str(round_)}},
    )
    client.query(TableName="images", KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": shared["pk"]})
    client.query(
        TableName="images",
        IndexName="by-label",
        KeyConditionExpression="label = :l",
        ExpressionAttributeValues={":l": {"S": f"label-{round_ % LABELS}"}},
        Limit=20,
    )
    if round_ >= KEPT:
        old = f"IMAGE#{thread}-{round_ - KEPT:04d}"
        client.batch_write_item(RequestItems={"images": label_requests(old, "DeleteRequest")})


@pytest.fixture
def frequent_thread_switches():
    """Python switches threads every 5 ms by default, so a race inside a short loop is rare. The
    server's threads are in this process: switching far more often makes the race likely at once."""
    default = sys.getswitchinterval()
    sys.setswitchinterval(1e-4)
    yield
    sys.setswitchinterval(default)


def test_no_two_requests_are_inside_moto_at_once(table, monkeypatch):
    inside, most_inside, lock = 0, 0, threading.Lock()
    describe_table = DynamoDBBackend.describe_table

    def waiting_inside(backend, name):
        nonlocal inside, most_inside
        with lock:
            inside += 1
            most_inside = max(most_inside, inside)
        time.sleep(0.01)  # lets every other thread run: one not held back would come in now
        with lock:
            inside -= 1
        return describe_table(backend, name)

    monkeypatch.setattr(DynamoDBBackend, "describe_table", waiting_inside)
    threads = [
        threading.Thread(target=lambda: [table.describe_table(TableName="images") for _ in range(3)])
        for _ in range(THREADS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert most_inside == 1


def test_concurrent_writes_listings_and_deletes_on_one_table_all_succeed(table, frequent_thread_switches):
    failures: list[str] = []

    def run(thread: int) -> None:
        for round_ in range(ROUNDS):
            try:
                one_round(table, thread, round_)
            except Exception as error:  # every failure is collected, not only the first
                failures.append(f"thread {thread} round {round_}: {type(error).__name__}: {error}")

    threads = [threading.Thread(target=run, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == [], f"{len(failures)} of {THREADS * ROUNDS} rounds failed, first: {failures[:3]}"


def test_a_long_poll_lets_the_message_it_waits_for_be_sent(table):
    """Requests are serialized, but an SQS long poll waits outside the lock: held, it would keep the
    send out until the poll ended empty."""
    sqs = fake_session("us-east-1", table.meta.endpoint_url).client("sqs")
    url = sqs.create_queue(QueueName="long-poll")["QueueUrl"]
    received: list[dict] = []
    poll = threading.Thread(
        target=lambda: received.extend(sqs.receive_message(QueueUrl=url, WaitTimeSeconds=3).get("Messages", []))
    )
    poll.start()
    # Sent once the poll is waiting (moto's wait is a 1 s condition wait): before it ends empty.
    wait_until(lambda: _waiting_on(url), 5, "the long poll to wait")
    sqs.send_message(QueueUrl=url, MessageBody="hello")
    poll.join()
    assert [message["Body"] for message in received] == ["hello"]


def _waiting_on(queue_url: str) -> bool:
    """Whether a receive waits on the queue: moto's condition for new messages has a waiter."""
    from moto.sqs.models import sqs_backends

    name = queue_url.rsplit("/", 1)[1]
    queue = sqs_backends[MotoEmulator.account_id]["us-east-1"].queues[name]
    return bool(queue._messages_lock._waiters)
