"""`make burst`'s progress lines with subscribed endpoints (local/commands/burst.py): how many of
their deliveries were answered 2xx so far, since they go on after recognition is over."""

from local.commands.burst import endpoint_progress


def test_the_endpoints_answered_so_far_are_counted_against_one_per_image_and_endpoint():
    received = {
        "endpoint-1": [{"status": 204}, {"status": 200}],
        # a failed try is no delivery, and its retry's 2xx counts once
        "endpoint-2": [{"status": 500}, {"status": 204}],
        "endpoint-3": [],
    }
    assert endpoint_progress(received, images=5) == "endpoint_deliveries=3/15"


def test_nothing_received_yet_is_zero():
    assert endpoint_progress({"endpoint-1": []}, images=0) == "endpoint_deliveries=0/0"
