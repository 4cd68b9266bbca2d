import pytest

from local.sidecars.webhook_faults import KINDS, RESET, TIMEOUT, WebhookFaults


def decisions(faults: WebhookFaults, count: int) -> list[str | None]:
    return [faults.next() for _ in range(count)]


def test_given_a_seed_when_asked_again_then_the_same_faults_come_in_the_same_order():
    assert decisions(WebhookFaults(0.3, seed=7), 200) == decisions(WebhookFaults(0.3, seed=7), 200)
    assert decisions(WebhookFaults(0.3, seed=7), 200) != decisions(WebhookFaults(0.3, seed=8), 200)


def test_given_a_rate_when_many_requests_come_then_about_that_share_fails_with_every_kind():
    faults = WebhookFaults(0.3, seed=1)

    failed = [kind for kind in decisions(faults, 10_000) if kind is not None]

    assert 2700 < len(failed) < 3300
    assert faults.injected() == {kind: failed.count(kind) for kind in KINDS}
    assert min(faults.injected().values()) > 600


@pytest.mark.parametrize("rate", [0.0, 1.0])
def test_given_the_extreme_rates_then_none_or_all_fail(rate):
    assert {kind is not None for kind in decisions(WebhookFaults(rate), 100)} == {rate == 1.0}


def test_given_chosen_kinds_then_only_those_are_injected():
    assert set(decisions(WebhookFaults(1.0, kinds=(RESET, TIMEOUT)), 100)) == {RESET, TIMEOUT}


@pytest.mark.parametrize(
    "arguments", [{"rate": 1.5}, {"rate": -0.1}, {"rate": 0.1, "kinds": ()}, {"rate": 0.1, "kinds": ("503",)}]
)
def test_given_a_bad_setting_then_value_error(arguments):
    with pytest.raises(ValueError):
        WebhookFaults(**arguments)
