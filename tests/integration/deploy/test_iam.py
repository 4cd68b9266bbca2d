"""Each function's role grants exactly what its code calls, on exactly the resources it touches.

The table below is the specification: a grant added to serverless.yml without a reason here, or a
call added to the code without its grant, makes this test fail. The comments name the code.
"""

from __future__ import annotations

import pytest

from tests.integration.deploy import rules

IMAGES = "${ImagesBucket}/images/*"
UPLOADS = "${ImagesBucket}/uploads/*"
DETECT = ("DetectLabels", "DetectFaces", "DetectText", "DetectModerationLabels")
# Active tracing: every function writes its segments; X-Ray has no resource-level permissions.
XRAY = {("xray:PutTraceSegments", "*"), ("xray:PutTelemetryRecords", "*")}

EXPECTED_GRANTS = {
    "upload": {
        *XRAY,
        ("s3:PutObject", IMAGES),  # lib/adapters/storage.py
        ("dynamodb:PutItem", "ImagesTable"),  # ImageRepository.create_pending
        ("dynamodb:DeleteItem", "ImagesTable"),  # ImageRepository.delete, undoing a failed upload
        # handlers/listing.py: `GET /` without url lists as `GET /images` does
        ("dynamodb:BatchGetItem", "ImagesTable"),  # ImageRepository.list_by_label
        ("dynamodb:Query", "${ImagesTable}/index/*"),  # list_recent and list_by_label, on the indexes
    },
    "uploads": {
        ("s3:PutObject", UPLOADS),  # ImageStore.presign_post: a presigned POST acts with its signer's rights
        ("dynamodb:PutItem", "ImagesTable"),  # ImageRepository.create_slot
    },
    "recognize": {
        *XRAY,
        # the event source mapping
        ("sqs:ReceiveMessage", "UploadsQueue"),
        ("sqs:DeleteMessage", "UploadsQueue"),
        ("sqs:GetQueueAttributes", "UploadsQueue"),
        # lib/adapters/requeue.py: a throttled record, or one waiting for an identical image, sent again delayed
        ("sqs:SendMessage", "UploadsQueue"),
        # Rekognition reads the object (and the version the event names) with the caller's rights
        ("s3:GetObject", IMAGES),
        ("s3:GetObjectVersion", IMAGES),
        # lib/usecases/arrivals.py: a direct upload is read, checked, written to its image key, then deleted
        ("s3:GetObject", UPLOADS),
        ("s3:DeleteObject", UPLOADS),
        ("s3:PutObject", IMAGES),
        ("s3:DeleteObject", IMAGES),  # RecognitionWorkflow: an object arriving for an image deleted meanwhile
        # ImageRepository.create_pending, for an admitted upload; ContentIndex.claim
        ("dynamodb:PutItem", "ImagesTable"),
        *{(f"rekognition:{action}", "*") for action in DETECT},  # no resource-level permissions exist
        ("dynamodb:GetItem", "ImagesTable"),  # ImageRepository.get; ContentIndex.claim reads the entry it found
        ("dynamodb:BatchWriteItem", "ImagesTable"),  # ImageRepository.complete: the label items
        # ImageRepository.complete, mark_event_published; ContentIndex.hand_over
        ("dynamodb:UpdateItem", "ImagesTable"),
        ("sns:Publish", "ResultsTopic"),  # lib/adapters/publisher.py
    },
    "images": {
        *XRAY,
        ("dynamodb:GetItem", "ImagesTable"),  # ImageRepository.get
        ("dynamodb:BatchGetItem", "ImagesTable"),  # ImageRepository.list_by_label
        ("dynamodb:Query", "${ImagesTable}/index/*"),  # list_recent and list_by_label, on the indexes
        ("s3:GetObject", IMAGES),  # ImageStore.presign_get: the content route's redirect
    },
    "delete": {
        *XRAY,
        ("dynamodb:GetItem", "ImagesTable"),  # ImageRepository.get and get_slot
        ("dynamodb:PutItem", "ImagesTable"),  # ImageRepository.bury: the tombstone
        ("dynamodb:Query", "ImagesTable"),  # ImageRepository.delete_label_items, on the table's own key
        ("dynamodb:BatchWriteItem", "ImagesTable"),  # ImageRepository.delete_label_items
        ("dynamodb:DeleteItem", "ImagesTable"),  # ImageRepository.delete_slot
        ("s3:ListBucketVersions", "ImagesBucket"),  # ImageStore.delete_every_version
        ("s3:DeleteObjectVersion", IMAGES),  # ImageStore.delete_every_version, by version
        ("s3:DeleteObjectVersion", UPLOADS),
        ("sns:Publish", "ResultsTopic"),  # image.deleted, lib/adapters/publisher.py
    },
    "deliver": {
        *XRAY,
        ("sqs:ReceiveMessage", "IntegrationQueue"),
        ("sqs:DeleteMessage", "IntegrationQueue"),
        ("sqs:GetQueueAttributes", "IntegrationQueue"),
        ("sqs:ChangeMessageVisibility", "IntegrationQueue"),  # backoff before the next try
        ("sqs:SendMessage", "IntegrationQueue"),  # lib/adapters/requeue.py: an event whose table calls stayed throttled
        ("sqs:SendMessage", "IntegrationDeadLetterQueue"),  # a final failure goes straight there
        (
            "ssm:GetParameter",  # the webhook secret; the AWS-managed SSM key needs no kms grant
            "arn:aws:ssm:${AWS::Region}:${AWS::AccountId}:parameter/image-recognition/dev/webhook-secret",
        ),
        ("dynamodb:GetItem", "ImagesTable"),  # ImageRepository.is_delivered
        ("dynamodb:UpdateItem", "ImagesTable"),  # ImageRepository.mark_delivered
        # subscriptions: lib/usecases/endpoint_delivery.py through lib/adapters/endpoint_records.py
        ("dynamodb:Query", "WebhooksTable"),  # EndpointTable.list_for_owner, for the fan-out
        ("dynamodb:GetItem", "WebhooksTable"),  # EndpointTable.get, is_delivered
        # claim, mark_sent, mark_delivered, disable after a 410; DeliveryLogTable's log entries and attempts
        ("dynamodb:UpdateItem", "WebhooksTable"),
        ("sqs:ReceiveMessage", "EndpointDeliveryQueue"),  # the event source mapping
        ("sqs:DeleteMessage", "EndpointDeliveryQueue"),
        ("sqs:GetQueueAttributes", "EndpointDeliveryQueue"),
        ("sqs:ChangeMessageVisibility", "EndpointDeliveryQueue"),  # backoff before the next try
        ("sqs:SendMessage", "EndpointDeliveryQueue"),  # the fan-out, and a throttled message re-queued
        ("sqs:SendMessage", "EndpointDeadLetterQueue"),  # a refusal goes straight there
        ("kms:Decrypt", "WebhookSecretsKey"),  # KmsSecretBox.decrypt: the only role that may
    },
    "webhooks": {
        *XRAY,
        ("dynamodb:Query", "WebhooksTable"),  # EndpointTable.list_for_owner
        ("dynamodb:GetItem", "WebhooksTable"),  # EndpointTable.get, DeliveryLogTable.get
        ("dynamodb:PutItem", "WebhooksTable"),  # EndpointTable.create, replace
        ("dynamodb:DeleteItem", "WebhooksTable"),  # EndpointTable.delete
        ("dynamodb:UpdateItem", "WebhooksTable"),  # DeliveryLogTable.record_queued (a test), begin_replay
        ("dynamodb:Query", "${WebhooksTable}/index/delivery-log"),  # DeliveryLogTable.page, replayable_since
        ("kms:Encrypt", "WebhookSecretsKey"),  # KmsSecretBox.encrypt: a new secret, never read back
        ("sqs:SendMessage", "EndpointDeliveryQueue"),  # SqsEndpointQueue.send: test and replay
    },
}


def role_of(package, function: str) -> str:
    _, resource = package.functions()[function]
    return rules.referenced_id(resource["Properties"]["Role"])


def test_every_function_has_a_specification(dev_package):
    assert set(dev_package.functions()) == set(EXPECTED_GRANTS)


@pytest.mark.parametrize("function", EXPECTED_GRANTS)
def test_role_grants_exactly_what_the_function_uses(function, dev_package):
    assert rules.granted(dev_package.template, role_of(dev_package, function)) == EXPECTED_GRANTS[function]


def test_the_secret_parameter_follows_the_stage(prod_package):
    granted = rules.granted(prod_package.template, role_of(prod_package, "deliver"))
    assert {resource for action, resource in granted if action == "ssm:GetParameter"} == {
        "arn:aws:ssm:${AWS::Region}:${AWS::AccountId}:parameter/image-recognition/prod/webhook-secret"
    }
