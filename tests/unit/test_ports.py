"""The real adapters and the in-memory fakes implement each port of lib/ports.py with the same signatures.

A fake that drifted from its port (a renamed parameter, a new default, another return type) would
let the in-memory use-case tests pass against an interface the real adapter no longer has; so
would a real adapter that changed without its port. Either fails here.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Protocol

import pytest

from lib import ports
from lib.adapters.content_index import ContentIndex
from lib.adapters.delivery_log_table import DeliveryLogTable
from lib.adapters.endpoint_queue import SqsEndpointQueue
from lib.adapters.endpoint_records import EndpointTable
from lib.adapters.publisher import EventPublisher
from lib.adapters.rekognition_client import RekognitionRecognizer
from lib.adapters.repository import ImageRepository
from lib.adapters.secret_box import KmsSecretBox
from lib.adapters.storage import ImageStore
from lib.adapters.webhook_sender import HttpWebhookSender
from lib.fetching.endpoint_urls import EndpointUrlPolicy, GuardedWebhookSender
from lib.fetching.fetch import SafeFetcher
from lib.usecases.arrivals import UploadArrivals
from lib.usecases.deletion import ImageDeletion
from lib.usecases.delivery import WebhookDelivery
from lib.usecases.delivery_log import DeliveryLogPages
from lib.usecases.direct_uploads import DirectUploads
from lib.usecases.endpoint_delivery import EndpointDelivery, FanOut
from lib.usecases.ingest import IngestService
from lib.usecases.recognize_image import RecognitionWorkflow
from lib.usecases.replay import Replays
from lib.usecases.reuse import ResultReuse
from lib.usecases.subscriptions import Subscriptions
from tests.support import fakes

IMPLEMENTATIONS: dict[type, tuple[type, type]] = {
    ports.Fetcher: (SafeFetcher, fakes.FakeFetcher),
    ports.ImageBytes: (ImageStore, fakes.FakeImageStore),
    ports.PendingImages: (ImageRepository, fakes.FakeImageRepository),
    ports.UploadSlots: (ImageRepository, fakes.FakeImageRepository),
    ports.PostSigner: (ImageStore, fakes.FakeImageStore),
    ports.UploadedObjects: (ImageStore, fakes.FakeImageStore),
    ports.ArrivalRecords: (ImageRepository, fakes.FakeImageRepository),
    ports.Recognizer: (RekognitionRecognizer, fakes.FakeRecognizer),
    ports.RecognitionRecords: (ImageRepository, fakes.FakeImageRepository),
    ports.Publisher: (EventPublisher, fakes.FakePublisher),
    ports.ContentClaims: (ContentIndex, fakes.FakeContentIndex),
    ports.ContentEntries: (ImageRepository, fakes.FakeImageRepository),
    ports.DeletionRecords: (ImageRepository, fakes.FakeImageRepository),
    ports.ObjectVersions: (ImageStore, fakes.FakeImageStore),
    ports.DeliveryRecords: (ImageRepository, fakes.FakeImageRepository),
    ports.WebhookSender: (HttpWebhookSender, fakes.FakeWebhookSender),
    ports.EndpointRecords: (EndpointTable, fakes.FakeEndpointTable),
    ports.DeliveryStates: (EndpointTable, fakes.FakeEndpointTable),
    ports.SecretBox: (KmsSecretBox, fakes.FakeSecretBox),
    ports.EndpointUrlCheck: (EndpointUrlPolicy, fakes.FakeEndpointUrlCheck),
    ports.EndpointQueue: (SqsEndpointQueue, fakes.FakeEndpointQueue),
    ports.DeliveryLog: (DeliveryLogTable, fakes.FakeDeliveryLog),
    ports.DeliveryHistory: (DeliveryLogTable, fakes.FakeDeliveryLog),
}
# Ports with a second real implementation.
ALSO_IMPLEMENTED = [(ports.WebhookSender, GuardedWebhookSender)]
# Ports with data attributes: an instance of each implementation, built without any client.
INSTANCES = {ImageStore: lambda: ImageStore("images-bucket"), fakes.FakeImageStore: fakes.FakeImageStore}


def port_methods(port: type) -> list[str]:
    return [name for name, value in vars(port).items() if inspect.isfunction(value) and not name.startswith("_")]


def port_attributes(port: type) -> list[str]:
    return [name for name in vars(port).get("__annotations__", {}) if not name.startswith("_")]


def shape(function) -> tuple:
    """Names, kinds, defaults and annotations (as written) of every parameter, and the return annotation."""
    signature = inspect.signature(function)
    parameters = [(p.name, p.kind, p.default, p.annotation) for p in signature.parameters.values()]
    return parameters, signature.return_annotation


CASES = [
    pytest.param(port, implementation, id=f"{port.__name__}-{implementation.__name__}")
    for port, implementations in [*IMPLEMENTATIONS.items(), *((p, (i,)) for p, i in ALSO_IMPLEMENTED)]
    for implementation in implementations
]


def test_every_port_has_a_real_adapter_and_a_fake():
    declared = {value for value in vars(ports).values() if isinstance(value, type) and Protocol in value.__mro__}
    assert declared - {Protocol} == set(IMPLEMENTATIONS)
    assert all(port_methods(port) for port in IMPLEMENTATIONS)


@pytest.mark.parametrize(("port", "implementation"), CASES)
def test_the_implementation_has_each_method_of_the_port_with_its_signature(port, implementation):
    for name in port_methods(port):
        assert shape(getattr(implementation, name)) == shape(getattr(port, name)), f"{implementation.__name__}.{name}"


@pytest.mark.parametrize(("port", "implementation"), [case for case in CASES if port_attributes(case.values[0])])
def test_the_implementation_has_each_attribute_of_the_port(port, implementation):
    instance = INSTANCES[implementation]()
    assert all(hasattr(instance, name) for name in port_attributes(port))


def annotations_of(use_case: type) -> dict[str, str]:
    if dataclasses.is_dataclass(use_case):
        return {field.name: field.type for field in dataclasses.fields(use_case)}
    return {name: p.annotation for name, p in inspect.signature(use_case.__init__).parameters.items()}


@pytest.mark.parametrize(
    ("use_case", "expected"),
    [
        (IngestService, {"fetcher": "Fetcher", "store": "ImageBytes", "repository": "PendingImages"}),
        (
            RecognitionWorkflow,
            {"repository": "RecognitionRecords", "recognizer": "Recognizer", "publisher": "Publisher"},
        ),
        (WebhookDelivery, {"repository": "DeliveryRecords", "sender": "WebhookSender"}),
        (Subscriptions, {"records": "EndpointRecords", "secrets": "SecretBox", "urls": "EndpointUrlCheck"}),
        (FanOut, {"records": "EndpointRecords", "states": "DeliveryStates", "queue": "EndpointQueue"}),
        (
            EndpointDelivery,
            {"states": "DeliveryStates", "secrets": "SecretBox", "sender": "WebhookSender"},
        ),
        (DirectUploads, {"store": "PostSigner", "repository": "UploadSlots"}),
        (DeliveryLogPages, {"records": "EndpointRecords", "history": "DeliveryHistory"}),
        (Replays, {"records": "EndpointRecords", "history": "DeliveryHistory", "queue": "EndpointQueue"}),
        (UploadArrivals, {"repository": "ArrivalRecords", "store_for": "Callable[[str], UploadedObjects]"}),
        (ResultReuse, {"claims": "ContentClaims", "records": "RecognitionRecords"}),
        (ImageDeletion, {"records": "DeletionRecords", "objects": "ObjectVersions", "publisher": "Publisher"}),
    ],
)
def test_the_use_cases_depend_on_the_ports_not_on_the_adapters(use_case, expected):
    annotations = annotations_of(use_case)
    assert {name: annotations[name] for name in expected} == expected
