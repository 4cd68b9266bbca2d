"""The capacity model for AWS: which limit binds first, how fast a backlog drains, what it costs.

Everything is arithmetic on stated inputs, so that each figure in docs/scaling.md can be traced
to one of them. The defaults are AWS's documented default quotas and us-east-1 list prices (with
their sources in docs/scaling.md); the latencies are assumptions, and parameters for that reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

SECONDS_A_DAY = 86_400

# Recognition features and the Rekognition operation each one calls, DetectLabels included once.
FEATURE_SETS = {
    "labels": ("DetectLabels",),
    "labels,properties": ("DetectLabels",),  # one call, with the IMAGE_PROPERTIES feature
    "labels,properties,faces": ("DetectLabels", "DetectFaces"),
    "labels,properties,text": ("DetectLabels", "DetectText"),
    "labels,properties,moderation": ("DetectLabels", "DetectModerationLabels"),
    "labels,properties,faces,text,moderation": (
        "DetectLabels",
        "DetectFaces",
        "DetectText",
        "DetectModerationLabels",
    ),
}


@dataclass(frozen=True)
class Prices:
    """us-east-1 list prices in dollars; docs/scaling.md names the page and date of each."""

    rekognition_image: float = 0.001  # a Group 2 call per image, first million a month: a parameter
    rekognition_properties: float = 0.00075  # DetectLabels' IMAGE_PROPERTIES per image: a parameter
    lambda_request: float = 0.20 / 1e6
    lambda_gb_second_arm: float = 0.0000133334
    http_api_request: float = 1.00 / 1e6
    sqs_request: float = 0.40 / 1e6
    sns_publish: float = 0.50 / 1e6
    dynamodb_write_unit: float = 0.625 / 1e6
    dynamodb_read_unit: float = 0.125 / 1e6
    s3_put: float = 0.005 / 1000
    s3_get: float = 0.0004 / 1000
    kms_request: float = 0.03 / 10_000  # a symmetric Decrypt


@dataclass(frozen=True)
class Limits:
    """AWS's documented defaults per account and region, and this stack's own settings."""

    rekognition_tps: float = 50.0  # per operation (DetectLabels: L-E29B542B)
    recognition_concurrency: int = 5  # ScalingConfig.MaximumConcurrency of recognize (serverless.yml)
    delivery_concurrency: int = 20
    lambda_account_concurrency: int = 1000  # new accounts may be given far less
    api_rate: float = 100.0  # the stage throttle (serverless.yml apiThrottleRate)
    api_burst: int = 200
    api_account_rate: float = 10_000.0
    dynamodb_partition_writes: float = 1000.0  # write units a second per partition
    listing_shards: int = 8  # lib/domain/listing.py
    s3_puts_per_prefix: float = 3500.0
    sqs_in_flight: int = 120_000  # a standard queue's in-flight messages


@dataclass(frozen=True)
class Timings:
    """Seconds per step; assumptions unless measured (docs/scaling.md)."""

    detect_call: float = 0.5  # one Rekognition call, at AWS
    record_overhead: float = 0.1  # the rest of a record: DynamoDB reads and writes, SNS publish
    upload: float = 0.3  # the upload function, per image
    webhook: float = 0.2  # one webhook POST
    memory_gb: float = 0.5  # serverless.yml memorySize


@dataclass(frozen=True)
class Workload:
    images_per_day: int = 1_000_000
    burst: int = 100_000
    features: str = "labels,properties"
    batch_size: int = 10
    # The busiest hour carries this many times the day's average rate.
    peak_factor: float = 3.0
    # The share of images whose bytes an earlier image of the same owner had: they copy its result
    # and call no Rekognition (lib/usecases/reuse.py). 0 assumes every image is new.
    duplicate_share: float = 0.0
    # Subscribed endpoints each image's event goes to, on average over the owners: each is a message,
    # an invocation of deliver and a signed POST of its own (lib/usecases/endpoint_delivery.py).
    endpoints: float = 0.0
    limits: Limits = field(default_factory=Limits)
    timings: Timings = field(default_factory=Timings)
    prices: Prices = field(default_factory=Prices)

    def __post_init__(self) -> None:
        if not 0 <= self.duplicate_share < 1:
            raise ValueError(f"the duplicate share is at least 0 and below 1, got {self.duplicate_share}")
        if self.endpoints < 0:
            raise ValueError(f"the endpoints an event goes to are 0 or more, got {self.endpoints}")

    @property
    def operations(self) -> tuple[str, ...]:
        return FEATURE_SETS[self.features]

    @property
    def recognized_share(self) -> float:
        """The share of images Rekognition sees: the others copy an identical image's result."""
        return 1 - self.duplicate_share


# Each (event, endpoint) writes its delivery item, about 2 KB since it carries the event, five times:
# the fan-out's claim (which opens its delivery-log entry), the sent mark, the send lease, the
# delivered mark and the attempt logged. Each write is copied to the delivery-log index.
ENDPOINT_WRITE_UNITS = 5 * 2 + 5 * 2
# And reads its endpoint consistently before the POST.
ENDPOINT_READ_UNITS = 1
# Every event with an owner reads the owner's endpoints (one Query, eventually consistent).
FAN_OUT_READ_UNITS = 0.5


# --- throughput -------------------------------------------------------------------------------------
def record_seconds(workload: Workload) -> float:
    """One record's time in a batch: its Rekognition calls one after another, then the writes."""
    return len(workload.operations) * workload.timings.detect_call + workload.timings.record_overhead


def lambda_rate(concurrency: int, batch_size: int, seconds_a_record: float) -> float:
    """Images a second that `concurrency` batches can recognize: a batch's records run in parallel,
    so a batch takes about as long as one record."""
    return concurrency * batch_size / seconds_a_record


def drain_rate(tps: float, concurrency: int, batch_size: int, seconds_a_record: float) -> float:
    """Images a second a backlog drains at: the quota or the concurrency, whichever is lower."""
    return min(tps, lambda_rate(concurrency, batch_size, seconds_a_record))


@dataclass(frozen=True)
class Limit:
    name: str
    capacity: float  # images a second this limit allows (math.inf: no practical limit)
    note: str


def limits(workload: Workload) -> list[Limit]:
    """Each limit on the path, as images a second."""
    lim = workload.limits
    # Each image item is written four times (PENDING, final status, event published, delivered),
    # each about 2 write units, and each write is copied to the listing index.
    listing_units_an_image = 4 * 2
    return [
        Limit(
            "Rekognition TPS",
            lim.rekognition_tps / workload.recognized_share,
            f"{lim.rekognition_tps:g} calls/s per operation; {len(workload.operations)} operation(s) per image"
            + (f"; {workload.duplicate_share:.0%} identical, not recognized" if workload.duplicate_share else ""),
        ),
        Limit(
            "Lambda concurrency",
            lambda_rate(
                min(lim.recognition_concurrency, lim.lambda_account_concurrency),
                workload.batch_size,
                record_seconds(workload),
            ),
            f"MaximumConcurrency {lim.recognition_concurrency} x batch {workload.batch_size} / "
            f"{record_seconds(workload):.2f} s a record",
        ),
        Limit("API Gateway", lim.api_rate, f"stage throttle {lim.api_rate:g}/s, burst {lim.api_burst}"),
        Limit("SQS", math.inf, f"standard queues: no throughput limit; {lim.sqs_in_flight:,} in flight"),
        Limit(
            "DynamoDB partitions",
            lim.listing_shards * lim.dynamodb_partition_writes / listing_units_an_image,
            f"{lim.listing_shards} listing shards x {lim.dynamodb_partition_writes:g} WCU/s, "
            f"{listing_units_an_image} index WCU an image (one shard: "
            f"{lim.dynamodb_partition_writes / listing_units_an_image:g}/s)",
        ),
        Limit("S3 request rates", lim.s3_puts_per_prefix, f"{lim.s3_puts_per_prefix:g} PUT/s per prefix (images/)"),
        Limit(
            "Webhook deliveries",
            lim.delivery_concurrency / workload.timings.webhook,
            f"deliveryConcurrency {lim.delivery_concurrency} / {workload.timings.webhook:g} s a POST "
            "(the stage's webhookUrl)",
        ),
        *([_endpoint_limit(workload)] if workload.endpoints else []),
    ]


def _endpoint_limit(workload: Workload) -> Limit:
    """The endpoint queue's event source runs at most deliveryConcurrency sends at once."""
    lim, t = workload.limits, workload.timings
    return Limit(
        "Endpoint deliveries",
        lim.delivery_concurrency / (workload.endpoints * t.webhook),
        f"deliveryConcurrency {lim.delivery_concurrency} / ({workload.endpoints:g} endpoint(s) an event x "
        f"{t.webhook:g} s a POST)",
    )


def binding(workload: Workload) -> Limit:
    return min(limits(workload), key=lambda limit: limit.capacity)


def concurrency_used(rate: float, workload: Workload) -> dict[str, float]:
    """Concurrent executions at `rate` images a second (Little's law, per function)."""
    t, lim = workload.timings, workload.limits
    recognize = min(lim.recognition_concurrency, math.ceil(rate * record_seconds(workload) / workload.batch_size))
    deliver = min(lim.delivery_concurrency, math.ceil(rate * t.webhook))
    upload = math.ceil(min(rate, lim.api_rate) * t.upload)
    used = {"upload": upload, "recognize": recognize, "deliver": deliver}
    if workload.endpoints:
        used["endpoint deliveries"] = min(lim.delivery_concurrency, math.ceil(rate * workload.endpoints * t.webhook))
    return used


@dataclass(frozen=True)
class Burst:
    images: int
    accept_seconds: float
    drain_rate: float
    drain_seconds: float
    peak_backlog: int


def burst(workload: Workload) -> Burst:
    lim = workload.limits
    accept_rate = min(lim.api_rate, lim.s3_puts_per_prefix)
    accept_seconds = max(0.0, (workload.burst - lim.api_burst) / accept_rate)
    rate = min(limit.capacity for limit in limits(workload) if limit.name != "API Gateway")
    drain_seconds = max(workload.burst / rate, accept_seconds)
    peak_backlog = int(max(0.0, workload.burst - rate * accept_seconds)) if rate < accept_rate else 0
    return Burst(workload.burst, accept_seconds, rate, drain_seconds, peak_backlog)


# --- cost -------------------------------------------------------------------------------------------
def cost_per_thousand(workload: Workload) -> dict[str, float]:
    """Dollars per 1,000 images, by service, at steady load."""
    p, t = workload.prices, workload.timings
    calls = len(workload.operations)
    rekognition = calls * p.rekognition_image + ("properties" in workload.features) * p.rekognition_properties
    rekognition *= workload.recognized_share  # identical images copy a result instead
    endpoints = workload.endpoints
    # Invocations an image: one upload, one deliver (sent one by one), a recognize batch per
    # `batch_size` images at full batches, and one deliver per endpoint the event goes to.
    invocations = 2 + 1 / workload.batch_size + endpoints
    gb_seconds = t.memory_gb * (t.upload + t.webhook * (1 + endpoints) + record_seconds(workload) / workload.batch_size)
    lambda_cost = invocations * p.lambda_request + gb_seconds * p.lambda_gb_second_arm
    # Two queues: a send, a tenth of a receive and of a delete-batch each; the endpoint queue's
    # messages are received and deleted one by one. Retries and empty receives are left out.
    sqs = (2 * (1 + 0.1 + 0.1) + 3 * endpoints) * p.sqs_request
    sns = 2 * p.sns_publish  # S3 -> UploadsTopic, and the completion event
    # Writes: the image item four times (2 units each) and its copies in the listing index, ten
    # label items and their label-index copies, and the claim of its content entry. Reads: three
    # consistent reads of the image item; an identical image also reads the entry and the original;
    # the fan-out reads the owner's endpoints. Each endpoint adds its delivery item's.
    write_units = 4 * 2 + 4 * 2 + 10 + 10 + 1 + endpoints * ENDPOINT_WRITE_UNITS
    read_units = 3 + 2 * workload.duplicate_share + FAN_OUT_READ_UNITS + endpoints * ENDPOINT_READ_UNITS
    dynamodb = write_units * p.dynamodb_write_unit + read_units * p.dynamodb_read_unit
    s3 = p.s3_put + p.s3_get  # the upload, and Rekognition reading it
    per_image = {
        "rekognition": rekognition,
        "lambda": lambda_cost,
        "api": p.http_api_request,
        "sqs": sqs,
        "sns": sns,
        "dynamodb": dynamodb,
        "s3": s3,
        "kms": endpoints * p.kms_request,  # each endpoint's signing secret decrypted for its POST
    }
    return {name: value * 1000 for name, value in per_image.items()}


# --- what a target needs ------------------------------------------------------------------------------
def peak_rate(workload: Workload) -> float:
    return workload.images_per_day / SECONDS_A_DAY * workload.peak_factor


def required(workload: Workload) -> dict[str, float]:
    """The settings and quotas a workload's peak hour needs, with headroom for bursts."""
    peak = peak_rate(workload)
    t = workload.timings
    recognize = math.ceil(1.5 * peak * record_seconds(workload) / workload.batch_size)
    deliver = math.ceil(1.5 * peak * t.webhook)
    # deliveryConcurrency bounds each of deliver's two event sources: the events, and the endpoints.
    endpoint_deliver = math.ceil(1.5 * peak * workload.endpoints * t.webhook)
    upload = math.ceil(2 * peak * t.upload)
    return {
        "rekognitionTps": math.ceil(1.25 * peak * workload.recognized_share),
        "recognitionConcurrency": max(2, recognize),
        "deliveryConcurrency": max(2, deliver, endpoint_deliver),
        "apiThrottleRate": math.ceil(2 * peak),
        # 10 for the images API
        "lambda account concurrency": recognize + deliver + endpoint_deliver + upload + 10,
        "listing shards": max(1, math.ceil(peak * 8 / (0.5 * workload.limits.dynamodb_partition_writes))),
    }
