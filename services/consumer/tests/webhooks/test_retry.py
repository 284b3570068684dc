import random

import pytest

from consumer.webhooks.retry import DEAD, DELIVERED, RETRY, classify, retry_delay

SCHEDULE = [5, 30, 120, 600, 1800, 3600, 7200, 14400, 28800, 28800]


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, DELIVERED),
        (204, DELIVERED),
        (None, RETRY),  # connection error or timeout
        (500, RETRY),
        (502, RETRY),
        (503, RETRY),
        (429, RETRY),
        (408, RETRY),
        (400, DEAD),
        (401, DEAD),
        (404, DEAD),
        (410, DEAD),
        (301, DEAD),
    ],
)
def test_which_answers_are_retried(status, outcome):
    assert classify(status) == outcome


def test_without_jitter_the_schedule_is_followed_then_it_gives_up():
    delays = [retry_delay(n, SCHEDULE, jitter=0) for n in range(1, 12)]

    assert delays == [*map(float, SCHEDULE), None]


def test_the_default_schedule_reaches_about_a_day(settings):
    total = sum(settings.WEBHOOK_RETRY_SCHEDULE)

    assert 20 * 3600 <= total <= 28 * 3600
    assert settings.WEBHOOK_RETRY_SCHEDULE == SCHEDULE


def test_jitter_spreads_the_delay_within_bounds():
    rng = random.Random(7)

    delays = {retry_delay(4, SCHEDULE, jitter=0.2, rng=rng) for _ in range(50)}

    assert len(delays) > 40
    assert all(480 <= d <= 720 for d in delays)


def test_no_attempt_yet_has_no_delay():
    assert retry_delay(0, SCHEDULE, jitter=0) is None


def test_a_wire_version_the_producer_does_not_know_yet_is_retried_not_dead():
    assert classify(400, "unsupported_version") == RETRY
    assert classify(400, "invalid") == DEAD
