"""The capacity model's arithmetic: which limit binds, the drain rate, the burst, the cost."""

import dataclasses

import pytest

from local.commands import capacity
from local.commands import capacity_model as model


def test_at_the_default_quota_rekognition_binds_first_for_a_million_a_day():
    workload = model.Workload(images_per_day=1_000_000)
    assert model.binding(workload).name == "Rekognition TPS"
    assert model.peak_rate(workload) == pytest.approx(34.72, abs=0.01)


def test_with_little_concurrency_lambda_binds_before_the_quota():
    workload = model.Workload(limits=model.Limits(recognition_concurrency=2))
    # 2 batches x 10 records / 0.6 s a record = 33.3 images/s, below the 50 TPS quota
    assert model.binding(workload).name == "Lambda concurrency"
    assert model.binding(workload).capacity == pytest.approx(33.33, abs=0.01)


def test_the_drain_rate_is_the_lower_of_quota_and_concurrency():
    assert model.drain_rate(tps=8, concurrency=4, batch_size=10, seconds_a_record=0.15) == 8
    assert model.drain_rate(tps=50, concurrency=1, batch_size=10, seconds_a_record=0.5) == 20


def test_a_burst_drains_at_the_quota_and_the_backlog_is_what_the_api_accepted_faster():
    burst = model.burst(model.Workload(burst=100_000))
    assert burst.drain_rate == 50 and burst.drain_seconds == pytest.approx(2000)
    assert burst.accept_seconds == pytest.approx(998)  # the first 200 ride the stage's burst
    assert burst.peak_backlog == pytest.approx(100_000 - 50 * 998, abs=1)


def test_more_features_cost_more_and_rekognition_dominates():
    base = model.cost_per_thousand(model.Workload(features="labels"))
    everything = model.cost_per_thousand(model.Workload(features="labels,properties,faces,text,moderation"))
    assert base["rekognition"] == pytest.approx(1.0) and everything["rekognition"] == pytest.approx(4.75)
    assert base["rekognition"] > 10 * sum(v for k, v in base.items() if k != "rekognition")


def test_a_tenfold_day_needs_a_larger_quota_and_more_concurrency():
    needs = model.required(dataclasses.replace(model.Workload(), images_per_day=10_000_000))
    assert needs["rekognitionTps"] > 50 * 8 and needs["recognitionConcurrency"] > 5


def test_the_report_names_the_binding_limit_and_every_feature_set():
    lines = capacity.report(model.Workload())
    assert "binds first: Rekognition TPS (50.0 images/s)" in lines
    assert sum(line.startswith(features + " ") for line in lines for features in model.FEATURE_SETS) >= 6


def test_a_duplicate_share_takes_its_part_off_the_rekognition_cost_and_the_quota():
    # GIVEN half of the images are identical to an earlier one of the same owner
    plain, half = model.Workload(), model.Workload(duplicate_share=0.5)
    # THEN Rekognition costs half, DynamoDB a little more (the entry and the original read back)
    assert model.cost_per_thousand(half)["rekognition"] == pytest.approx(
        model.cost_per_thousand(plain)["rekognition"] / 2
    )
    assert model.cost_per_thousand(half)["dynamodb"] > model.cost_per_thousand(plain)["dynamodb"]
    # AND the quota carries twice the images, and the report says so in its cost line
    quota = {limit.name: limit.capacity for limit in model.limits(half)}["Rekognition TPS"]
    assert quota == pytest.approx(100) and model.required(half)["rekognitionTps"] == 22  # 1.25 x 34.7 / 2
    assert (
        "cost per 1,000 images, 50% of them identical to an earlier one (us-east-1 list prices, docs/scaling.md):"
        in (capacity.report(half))
    )
    with pytest.raises(ValueError):
        model.Workload(duplicate_share=1)


def test_each_endpoint_an_event_goes_to_adds_its_invocation_messages_writes_and_decrypt():
    # GIVEN each image's event goes to three subscribed endpoints
    plain, three = model.Workload(), model.Workload(endpoints=3)
    before, after = model.cost_per_thousand(plain), model.cost_per_thousand(three)
    # THEN per 1,000 images: 3,000 more deliver invocations of a POST each, 9,000 SQS requests,
    # 3,000 consistent endpoint reads and 3,000 x 20 write units, and 3,000 KMS Decrypts
    prices, timings = model.Prices(), model.Timings()
    added_lambda = 3000 * (prices.lambda_request + timings.memory_gb * timings.webhook * prices.lambda_gb_second_arm)
    assert after["lambda"] - before["lambda"] == pytest.approx(added_lambda)
    assert after["sqs"] - before["sqs"] == pytest.approx(9000 * prices.sqs_request)
    assert after["dynamodb"] - before["dynamodb"] == pytest.approx(
        3000 * (20 * prices.dynamodb_write_unit + prices.dynamodb_read_unit)
    )
    assert (before["kms"], after["kms"]) == (0, pytest.approx(3000 * prices.kms_request))
    assert after["rekognition"] == before["rekognition"]  # Rekognition still sees each image once


def test_the_endpoint_deliveries_are_a_limit_and_need_their_concurrency():
    # GIVEN five endpoints an event and the default deliveryConcurrency of 20
    five = model.Workload(endpoints=5)
    # THEN the endpoint queue's event source allows 20 / (5 x 0.2 s) = 20 images a second, below
    # the quota: it binds first, and the report says so
    limits = {limit.name: limit.capacity for limit in model.limits(five)}
    assert limits["Endpoint deliveries"] == pytest.approx(20.0)
    assert model.binding(five).name == "Endpoint deliveries"
    assert "Endpoint deliveries" not in {limit.name for limit in model.limits(model.Workload())}
    assert "binds first: Endpoint deliveries (20.0 images/s)" in capacity.report(five)
    # AND its peak uses all 20; the settings for the day raise deliveryConcurrency to carry it
    assert model.concurrency_used(model.peak_rate(five), five)["endpoint deliveries"] == 20
    assert model.required(five)["deliveryConcurrency"] == 53  # 1.5 x 34.7 x 5 x 0.2
    assert model.required(model.Workload())["deliveryConcurrency"] == 11
    with pytest.raises(ValueError):
        model.Workload(endpoints=-1)


def test_the_command_takes_the_endpoints_and_deliver_concurrency(capsys):
    assert capacity.main(["--images-per-day", "1000000", "--endpoints", "3", "--delivery-concurrency", "40"]) == 0
    printed = capsys.readouterr().out
    assert "Endpoint deliveries         66.7       52%  deliveryConcurrency 40 / (3 endpoint(s) an event" in printed
    assert "binds first: Rekognition TPS (50.0 images/s)" in printed
    assert "cost per 1,000 images, each event to 3 endpoint(s) (us-east-1" in printed
    with pytest.raises(SystemExit):
        capacity.main(["--images-per-day", "1000000", "--endpoints", "-1"])


def test_the_stage_webhook_bounds_the_rate_at_deliver_concurrency_over_a_post():
    # GIVEN ten million a day with the quota and recognize concurrency raised, deliver left at 20
    raised = model.Limits(rekognition_tps=435, recognition_concurrency=32, api_rate=695)
    day = model.Workload(images_per_day=10_000_000, limits=raised)
    # THEN the stage webhook's sends, 20 at a time of 0.2 s, bind first at 100 images a second
    assert model.binding(day).name == "Webhook deliveries" and model.binding(day).capacity == pytest.approx(100)
    # AND with the deliveryConcurrency required() asks for, Rekognition binds again
    enough = dataclasses.replace(raised, delivery_concurrency=model.required(day)["deliveryConcurrency"])
    assert model.binding(dataclasses.replace(day, limits=enough)).name == "Rekognition TPS"
