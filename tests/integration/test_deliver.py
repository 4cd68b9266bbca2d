"""The deliver handler on moto, against a real signing-verifying receiver on loopback."""

import json
import logging
import socket

import pytest
from aws_lambda_powertools.utilities.batch import process_partial_response

from handlers import deliver
from lib.adapters.delivery_queue import DeliveryQueue
from lib.adapters.repository import ImageRepository
from lib.adapters.webhook_sender import HttpWebhookSender
from lib.domain import webhooks
from lib.domain.events import RECOGNIZED, CompletionEvent
from lib.usecases.delivery import DeliveryPolicy, WebhookDelivery
from local.sidecars.inbox import WebhookInbox
from tests.support.builders import LambdaContext, image_record, lambda_record, sqs_event

SECRET = webhooks.generate_secret()


@pytest.fixture
def inbox():
    inbox = WebhookInbox(SECRET)
    inbox.start()
    yield inbox
    inbox.stop()


@pytest.fixture
def world(aws, inbox):
    repository = ImageRepository(aws.ref("ImagesTable"), dynamodb=lambda: aws.client("dynamodb"))
    sqs = aws.client("sqs")
    queue_url = aws.ref("IntegrationQueue")

    def deliverer(url=inbox.url, secret=SECRET):
        delivery = WebhookDelivery(
            DeliveryPolicy(url, 2, 10, 900), secret=lambda: secret, repository=repository, sender=HttpWebhookSender()
        )
        queue = DeliveryQueue(queue_url, aws.ref("IntegrationDeadLetterQueue"), sqs=lambda: sqs)
        return deliver.Deliverer(delivery, queue)

    def image_event():
        record = image_record()
        repository.create_pending(record)
        return CompletionEvent.for_image(RECOGNIZED, record.to_api(), record.owner)

    def receive(event):
        """Sends the event through the real queue and returns the record as Lambda would get it."""
        sqs.send_message(QueueUrl=queue_url, MessageBody=event.to_message())
        [message] = sqs.receive_message(QueueUrl=queue_url, AttributeNames=["All"], MaxNumberOfMessages=1)["Messages"]
        return lambda_record(message, aws.arn("IntegrationQueue"))

    def run(records, d=None):
        d = d or deliverer()
        return process_partial_response(
            event=sqs_event(*records), record_handler=d.process, processor=deliver.processor, context=LambdaContext()
        )

    class World:
        pass

    w = World()
    w.aws, w.repository, w.deliverer, w.image_event, w.receive, w.run = (
        aws,
        repository,
        deliverer,
        image_event,
        receive,
        run,
    )
    return w


def visible_messages(aws, logical_id):
    attributes = aws.client("sqs").get_queue_attributes(QueueUrl=aws.ref(logical_id), AttributeNames=["All"])[
        "Attributes"
    ]
    return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])


def test_a_2xx_delivery_is_signed_recorded_and_not_repeated(world, inbox):
    event = world.image_event()
    assert world.run([world.receive(event)]) == {"batchItemFailures": []}
    assert world.run([world.receive(event)]) == {"batchItemFailures": []}  # redelivered by SQS
    [delivery] = inbox.deliveries()
    assert delivery.verified and delivery.webhook_id == event.id
    assert delivery.body == json.loads(event.webhook_body())
    assert world.repository.is_delivered(event.image_id)


def test_a_500_is_retried_later_with_backoff_and_the_same_webhook_id(world, inbox):
    event = world.image_event()
    inbox.answer_next(500)
    record = world.receive(event)
    assert world.run([record]) == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}
    # The message stays in flight: its visibility was pushed out by the backoff.
    assert visible_messages(world.aws, "IntegrationQueue") == (0, 1)
    assert not world.repository.is_delivered(event.image_id)
    assert [d.status for d in inbox.deliveries()] == [500]


def test_429_with_retry_after_sets_at_least_that_delay(world, inbox):
    event = world.image_event()
    inbox.answer_next(429, headers={"Retry-After": "120"})
    calls = []
    sqs = world.aws.fresh_client("sqs")
    sqs.meta.events.register(
        "provide-client-params.sqs.ChangeMessageVisibility", lambda params, **_: calls.append(params)
    )
    d = world.deliverer()
    d = deliver.Deliverer(d.delivery, DeliveryQueue(d.queue.queue_url, d.queue.dead_letter_queue_url, sqs=lambda: sqs))
    world.run([world.receive(event)], d)
    assert [c["VisibilityTimeout"] for c in calls] == [120]


def test_a_410_goes_straight_to_the_dead_letter_queue_with_its_reason(world, inbox):
    event = world.image_event()
    inbox.answer_next(410)
    assert world.run([world.receive(event)]) == {"batchItemFailures": []}
    [dead] = world.aws.client("sqs").receive_message(
        QueueUrl=world.aws.ref("IntegrationDeadLetterQueue"), MessageAttributeNames=["All"]
    )["Messages"]
    assert json.loads(dead["Body"])["id"] == event.id
    assert "410" in dead["MessageAttributes"]["failure_reason"]["StringValue"]
    assert len(inbox.deliveries()) == 1


def test_a_receiver_that_is_down_is_retried(world):
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    event = world.image_event()
    record = world.receive(event)
    assert world.run([record], world.deliverer(url=f"http://127.0.0.1:{port}/")) == {
        "batchItemFailures": [{"itemIdentifier": record["messageId"]}]
    }


def test_a_wrong_secret_makes_the_receiver_refuse_and_the_event_is_dead_lettered(world, inbox):
    event = world.image_event()
    assert world.run([world.receive(event)], world.deliverer(secret=webhooks.generate_secret())) == {
        "batchItemFailures": []
    }
    assert [d.verified for d in inbox.deliveries()] == [False]
    assert visible_messages(world.aws, "IntegrationDeadLetterQueue")[0] == 1


def test_no_webhook_url_acknowledges_without_sending(world, inbox):
    assert world.run([world.receive(world.image_event())], world.deliverer(url="")) == {"batchItemFailures": []}
    assert inbox.deliveries() == []


def test_the_secret_never_appears_in_logs(world, inbox, caplog):
    caplog.set_level(logging.DEBUG)
    inbox.answer_next(500)
    world.run([world.receive(world.image_event())])
    inbox.answer_next(410)
    world.run([world.receive(world.image_event())])
    world.run([world.receive(world.image_event())])
    # Every field of every record, the structured extras included.
    logged = "\n".join(repr(vars(record)) for record in caplog.records)
    assert "webhook delivered" in logged and "refused permanently" in logged
    assert SECRET.removeprefix("whsec_") not in logged


class ThrottledTable:
    """DynamoDB that answers ProvisionedThroughputExceededException to every read."""

    def get_item(self, **kwargs):
        from botocore.exceptions import ClientError

        raise ClientError(
            {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "rate exceeded"}}, "GetItem"
        )


def test_a_table_throttle_requeues_the_event_instead_of_spending_a_try(world, inbox):
    from lib.throttling import Backoff

    event = world.image_event()
    record = world.receive(event)
    d = world.deliverer()
    d.delivery.repository = ImageRepository("t", dynamodb=lambda: ThrottledTable(), backoff=Backoff(budget_seconds=0))
    # WHEN the table stays throttled through the backoff
    assert world.run([record], d) == {"batchItemFailures": []}
    # THEN nothing was POSTed, and a copy of the event waits on the queue, delayed
    assert inbox.deliveries() == []
    attributes = world.aws.client("sqs").get_queue_attributes(
        QueueUrl=world.aws.ref("IntegrationQueue"), AttributeNames=["All"]
    )["Attributes"]
    assert int(attributes["ApproximateNumberOfMessagesDelayed"]) == 1
