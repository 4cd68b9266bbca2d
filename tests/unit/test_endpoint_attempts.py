"""Each subscribed endpoint's attempts for one image, read from the deliver function's log lines
(local/observability/endpoint_attempts.py), as `python -m local trace` shows them."""

from local.observability.endpoint_attempts import endpoint_trails, render

IMAGE = "a" * 32
EVENT = f"msg_{IMAGE}"
# Epoch ms 1_000_000 is 1970-01-01 00:16:40,000 as Powertools writes it.
ORIGIN_MS = 1_000_000


def stamp(ms_after_origin: int) -> str:
    return f"1970-01-01 00:16:{40 + ms_after_origin // 1000:02d},{ms_after_origin % 1000:03d}+0000"


def fanned_out(endpoint_ids, at):
    return {
        "message": "queued for the owner's endpoints",
        "image_id": IMAGE,
        "webhook_id": EVENT,
        "endpoint_ids": endpoint_ids,
        "timestamp": stamp(at),
    }


def tried(endpoint_id, attempt, action, reason, at, post_ms=3.0, **extra):
    return {
        "message": f"endpoint {action}",
        "image_id": IMAGE,
        "webhook_id": EVENT,
        "endpoint_id": endpoint_id,
        "attempt": attempt,
        "action": action,
        "reason": reason,
        "event_type": "image.completed",
        "post_started_ms": ORIGIN_MS + at if post_ms is not None else None,
        "post_ms": post_ms,
        "timestamp": stamp(at + 5),
        **extra,
    }


def lines():
    return [
        # logged out of order: the trail sorts them by time
        tried("ep_flaky", 2, "delivered", "HTTP 204", 2_400, status_code=204),
        fanned_out(["ep_flaky", "ep_gone", "ep_new"], 300),
        tried("ep_flaky", 1, "retry", "HTTP 500", 400, retry_in_seconds=1, status_code=500),
        tried("ep_gone", 1, "permanent", "the endpoint answered HTTP 410 Gone at ...", 420, status_code=410),
        tried("ep_later", 1, "skipped", "the endpoint is disabled", 900, post_ms=None),
        # the stage's own webhook: no endpoint, not an endpoint's attempt
        {"message": "webhook delivered", "image_id": IMAGE, "webhook_id": EVENT, "attempt": 1, "action": "delivered"},
    ]


def test_each_endpoint_gets_its_attempts_in_order_with_their_status_and_timing():
    trails = {t.endpoint_id: t for t in endpoint_trails(lines())}

    assert list(trails) == ["ep_flaky", "ep_gone", "ep_new", "ep_later"]
    flaky = trails["ep_flaky"]
    assert [(a.number, a.action, a.reason, a.at_ms) for a in flaky.attempts] == [
        (1, "retry", "HTTP 500", ORIGIN_MS + 400),
        (2, "delivered", "HTTP 204", ORIGIN_MS + 2_400),
    ]
    assert flaky.attempts[0].retry_in_seconds == 1 and flaky.attempts[0].post_ms == 3.0
    assert (flaky.queued_ms, flaky.event_type, flaky.webhook_id) == (ORIGIN_MS + 300, "image.completed", EVENT)
    assert flaky.outcome == "delivered after 2 tries"
    assert trails["ep_gone"].outcome == "failed for good after 1 try"
    assert trails["ep_new"].outcome == "queued, no attempt logged yet"
    # a skip sent nothing: no try, no POST, and the time it was logged
    later = trails["ep_later"]
    assert later.outcome == "skipped, never sent" and later.attempts[0].post_ms is None
    assert later.attempts[0].at_ms == ORIGIN_MS + 905


def test_a_retry_still_scheduled_says_so():
    [trail] = endpoint_trails([tried("ep_x", 1, "retry", "connection reset", 100, retry_in_seconds=2)])
    assert trail.outcome == "failing after 1 try; a retry is scheduled"


def test_the_listing_times_each_attempt_from_the_upload_and_names_no_url():
    rendered = render(endpoint_trails(lines()), origin_ms=ORIGIN_MS)

    assert rendered[0] == "endpoints: 4 subscribed endpoint(s) queued or tried for this image"
    text = "\n".join(rendered)
    assert f"  endpoint ep_flaky, {EVENT} image.completed: delivered after 2 tries" in text
    assert "     300 ms  queued by the fan-out" in text
    assert "     400 ms  try 1  retry     POST 3 ms    HTTP 500; retry in 1 s" in text
    assert "    2400 ms  try 2  delivered POST 3 ms    HTTP 204" in text
    assert "     420 ms  try 1  permanent POST 3 ms    HTTP 410: the endpoint answered HTTP 410 Gone at ..." in text
    assert "     905 ms  try 1  skipped   no POST      the endpoint is disabled" in text
    assert "://" not in text


def test_the_status_comes_from_the_answer_and_a_replay_says_so():
    trail_lines = [
        # no answer at all: the transport error is all there is
        tried("ep_x", 1, "retry", "connection reset", 100, retry_in_seconds=2),
        # replayed later, answered 503 by a receiver whose reason text says nothing of it
        tried("ep_x", 1, "retry", "upstream busy", 5_000, retry_in_seconds=2, status_code=503, replay="rp_1"),
        tried("ep_x", 2, "delivered", "HTTP 200", 7_000, status_code=200, replay="rp_1"),
    ]
    attempts = endpoint_trails(trail_lines)[0].attempts
    assert [(a.status_code, a.replay) for a in attempts] == [(None, False), (503, True), (200, True)]
    text = "\n".join(render(endpoint_trails(trail_lines), origin_ms=ORIGIN_MS))
    assert "     100 ms  try 1  retry     POST 3 ms    connection reset; retry in 2 s" in text
    assert "    5000 ms  try 1  retry     POST 3 ms    HTTP 503: upstream busy; retry in 2 s (a replay)" in text
    assert "    7000 ms  try 2  delivered POST 3 ms    HTTP 200 (a replay)" in text


def test_no_endpoint_lines_no_listing():
    assert render(endpoint_trails([lines()[-1]]), origin_ms=ORIGIN_MS) == []
