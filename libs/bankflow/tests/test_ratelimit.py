"""Token buckets (GCRA): the arithmetic, and the Lua script that does it in Redis agreeing."""

from __future__ import annotations

import random

import fakeredis
import pytest

from bankflow.ratelimit import MICROS, Charge, Decision, Rate, RateLimiter, gcra

T0 = 1_800_000_000.0  # seconds; any fixed instant


@pytest.fixture
def limiter() -> RateLimiter:
    return RateLimiter(fakeredis.FakeRedis())


def charge(cost: int = 1, *, key: str = "k", rate: Rate | None = None) -> Charge:
    return Charge("requests", key, rate or Rate(per_second=10, burst=5), cost)


def test_a_full_bucket_lets_the_burst_through_then_refuses(limiter):
    results = [limiter.hit([charge()], now=T0).allowed for _ in range(6)]
    assert results == [True] * 5 + [False]


def test_tokens_come_back_at_the_rate(limiter):
    for _ in range(5):
        limiter.hit([charge()], now=T0)
    refused = limiter.hit([charge()], now=T0)
    assert refused.retry_after == pytest.approx(0.1)  # one token every 1/10 s
    assert refused.retry_after_seconds == 1  # Retry-After is whole seconds, at least 1
    assert not limiter.hit([charge()], now=T0 + 0.099).allowed
    assert limiter.hit([charge()], now=T0 + 0.1).allowed
    assert not limiter.hit([charge()], now=T0 + 0.1).allowed
    # Idle for a long time: the bucket is full again, never fuller.
    assert [limiter.hit([charge()], now=T0 + 60).allowed for _ in range(6)] == [True] * 5 + [False]


def test_a_refused_request_takes_nothing(limiter):
    for _ in range(5):
        limiter.hit([charge()], now=T0)
    for _ in range(100):  # hammering while refused does not push the wait further out
        assert limiter.hit([charge()], now=T0).retry_after == pytest.approx(0.1)


def test_a_cost_is_charged_in_tokens(limiter):
    items = Rate(per_second=1000, burst=1000)
    assert limiter.hit([charge(600, rate=items)], now=T0).allowed
    refused = limiter.hit([charge(600, rate=items)], now=T0)
    assert (refused.allowed, refused.retry_after) == (False, pytest.approx(0.2))
    assert limiter.hit([charge(400, rate=items)], now=T0).allowed


def test_a_cost_above_the_burst_waits_for_a_full_bucket_instead_of_never_passing(limiter):
    rate = Rate(per_second=10, burst=5)
    assert limiter.hit([charge(50, rate=rate)], now=T0).allowed
    assert limiter.hit([charge(50, rate=rate)], now=T0).retry_after == pytest.approx(0.5)


def test_several_buckets_are_charged_all_or_none(limiter):
    requests = Charge("requests", "r", Rate(per_second=10, burst=10), 1)
    items = Charge("bulk_items", "i", Rate(per_second=100, burst=100), 100)
    assert limiter.hit([requests, items], now=T0).allowed
    refused = limiter.hit([requests, items], now=T0)
    assert refused == Decision(allowed=False, refused_by="bulk_items", retry_after=1.0)
    # The refusal took no request token: nine more single requests pass, the tenth does not.
    assert [limiter.hit([requests], now=T0).allowed for _ in range(10)] == [True] * 9 + [False]


def test_buckets_are_independent_by_key(limiter):
    for _ in range(5):
        limiter.hit([charge(key="client-a")], now=T0)
    assert not limiter.hit([charge(key="client-a")], now=T0).allowed
    assert limiter.hit([charge(key="client-b")], now=T0).allowed


def test_nothing_to_charge_is_allowed_without_asking_redis():
    class NoRedis:
        def register_script(self, script):
            return lambda **kw: pytest.fail("asked Redis")

    assert RateLimiter(NoRedis()).hit([charge(0)]).allowed


def test_the_server_clock_is_used_by_default(limiter):
    assert [limiter.hit([charge()]).allowed for _ in range(6)] == [True] * 5 + [False]


def test_a_bucket_key_expires_a_minute_after_it_is_full_again(limiter):
    limiter.hit([charge(3)], now=T0)
    ttl_ms = limiter.redis.pttl("k")
    # 3 tokens at 10/s: full again after 300 ms; the key stays a minute longer, so a slow
    # caller never sees its bucket reset by an early expiry.
    assert 60_000 < ttl_ms <= 60_300


def test_the_script_and_the_python_arithmetic_agree_on_random_sequences(limiter):
    rng = random.Random(13)
    rate = Rate(per_second=7, burst=4)
    tat: float | None = None
    now = T0
    seen = set()
    for _ in range(500):
        now += rng.choice([0, 0, 0.01, 0.05, 0.2, 1.0])
        cost = rng.randint(1, 4)
        # The script works in whole microseconds (the clock it reads, the TAT it stores).
        allowed, new_tat, wait = gcra(tat=tat, now=round(now * MICROS), rate=rate, cost=cost)
        got = limiter.hit([charge(cost, rate=rate)], now=now)
        assert got.allowed == allowed
        seen.add(allowed)
        if allowed:
            tat = round(new_tat)
        else:
            assert got.retry_after == pytest.approx(wait / MICROS, abs=1e-6)
    assert seen == {True, False}


@pytest.mark.parametrize("per_second,burst", [(0, 1), (-1, 5), (1, 0)])
def test_a_rate_must_be_positive(per_second, burst):
    with pytest.raises(ValueError):
        Rate(per_second=per_second, burst=burst)
