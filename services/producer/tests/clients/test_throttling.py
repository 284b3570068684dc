"""Per-client rate limits: 429 with Retry-After and the error shape, bulk items counted, one
budget for every process (Redis), fail open when Redis does not answer."""

from __future__ import annotations

import time

import pytest
import redis as redis_lib
from django.conf import settings
from prometheus_client import REGISTRY
from rest_framework.test import APIClient

from bankflow.ratelimit import RateLimiter
from bankflow.redis import get_redis
from producer.clients import throttling

pytestmark = pytest.mark.django_db
URL = "/api/v1/transactions/"
BULK_URL = "/api/v1/transactions/bulk/"
real_redis = pytest.mark.skipif(not settings.REDIS_URL, reason="needs Redis (REDIS_URL)")


def throttled(client: str, limit: str = "requests") -> float:
    value = REGISTRY.get_sample_value(
        "bankflow_producer_api_throttled_total", {"client": client, "limit": limit}
    )
    return value or 0.0


@pytest.fixture(autouse=True)
def _fresh_limiter():
    throttling.reset()
    yield
    throttling.reset()


@pytest.fixture
def tight(settings):
    """Two requests at once, then one every 10 s; bulk items: 1000 at once, then 10 a second
    (slow enough that nothing comes back while a test runs)."""
    settings.API_RATE_LIMIT = 0.1
    settings.API_RATE_BURST = 2
    settings.API_BULK_ITEMS_RATE_LIMIT = 10
    settings.API_BULK_ITEMS_BURST = 1000
    return settings


def test_the_local_defaults_leave_tests_and_the_bench_alone():
    # One client, 8 threads of the bench: far below either budget (docs/api.md).
    assert settings.API_RATE_LIMIT >= 1000 and settings.API_RATE_BURST >= 1000
    assert settings.API_BULK_ITEMS_RATE_LIMIT >= 50_000


def test_over_budget_answers_429_with_retry_after_and_the_error_shape(api, tight):
    before = throttled("acme")
    assert [api.get(URL).status_code for _ in range(2)] == [200, 200]
    response = api.get(URL)
    assert response.status_code == 429
    assert response.json() == {"detail": response.json()["detail"], "code": "throttled"}
    assert "throttled" in response.json()["detail"].lower()
    assert 1 <= int(response["Retry-After"]) <= 10
    assert throttled("acme") == before + 1


def test_every_authenticated_request_counts_whatever_its_answer(api, tight):
    assert api.get(f"{URL}00000000-0000-0000-0000-000000000000/").status_code == 404
    assert api.post(URL, {"amount": "x"}, format="json").status_code == 400
    assert api.get(URL).status_code == 429


def test_clients_have_budgets_of_their_own(api, other_api, tight):
    for _ in range(2):
        api.get(URL)
    assert api.get(URL).status_code == 429
    assert other_api.get(URL).status_code == 200


def test_unauthenticated_requests_answer_401_and_spend_nobody_s_budget(api, tight):
    anon_client = APIClient()
    for _ in range(5):
        assert anon_client.get(URL).status_code == 401
    assert api.get(URL).status_code == 200


def test_the_webhook_receiver_is_not_limited(client, tight):
    for _ in range(5):  # unsigned: 401 each time, never 429
        response = client.post("/api/v1/webhooks/consumer/", b"{}", content_type="application/json")
        assert response.status_code == 401


def test_bulk_requests_are_counted_by_items(api, tight):
    tight.API_RATE_LIMIT = 0  # only the items budget here
    before = throttled("acme", "bulk_items")
    # Items are charged before validation: 600 bad items cost as much as 600 good ones.
    assert api.post(BULK_URL, [{}] * 600, format="json").status_code == 400
    response = api.post(BULK_URL, [{}] * 600, format="json")
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert 15 <= int(response["Retry-After"]) <= 20  # 200 items short at 10/s
    assert throttled("acme", "bulk_items") == before + 1
    assert api.post(BULK_URL, [{}] * 400, format="json").status_code == 400  # what was left
    assert api.get(URL).status_code == 200  # single requests do not spend bulk items


def test_a_burst_below_one_full_bulk_request_is_raised_to_it(api, tight):
    tight.API_RATE_LIMIT = 0
    tight.API_BULK_ITEMS_RATE_LIMIT = 1
    tight.API_BULK_ITEMS_BURST = 10
    assert throttling.bulk_items_rate().burst == 1000
    assert api.post(BULK_URL, [{}] * 1000, format="json").status_code == 400
    assert api.post(BULK_URL, [{}], format="json").status_code == 429


def test_a_limit_of_zero_is_off(api, settings):
    settings.API_RATE_LIMIT = 0
    settings.API_BULK_ITEMS_RATE_LIMIT = 0
    for _ in range(30):
        assert api.get(URL).status_code == 200
    assert not list(get_redis().scan_iter(f"{throttling.KEY_PREFIX}:*:{api.tenant.pk}"))


def test_redis_down_lets_requests_through_quickly_and_counts_them(api, tight, monkeypatch):
    """Fail open (documented): the budget protects capacity; a missing cache must not turn
    into refusing every client, nor into seconds of retries on every request."""
    monkeypatch.setattr(settings, "REDIS_URL", "redis://127.0.0.1:1/0")  # nothing listens
    throttling.reset()
    name = "bankflow_producer_api_rate_limit_unavailable_total"
    before = REGISTRY.get_sample_value(name) or 0.0
    start = time.monotonic()
    assert [api.get(URL).status_code for _ in range(4)] == [200] * 4
    assert time.monotonic() - start < 2
    assert REGISTRY.get_sample_value(name) == before + 4


def test_the_configured_limits_are_gauges(tight):
    throttling.publish_configuration()
    value = REGISTRY.get_sample_value
    assert value("bankflow_producer_api_rate_limit", {"limit": "requests"}) == 0.1
    assert value("bankflow_producer_api_rate_burst", {"limit": "bulk_items"}) == 1000


@real_redis
def test_every_process_spends_one_budget_in_the_real_redis(api, tight):
    """Two web processes are two Redis connections and two limiters: one budget."""
    charges = throttling.client_charges(client=api.tenant, items=0)
    first = RateLimiter(redis_lib.Redis.from_url(settings.REDIS_URL))
    second = RateLimiter(redis_lib.Redis.from_url(settings.REDIS_URL))
    assert "Fake" not in type(get_redis()).__name__
    assert first.hit(charges).allowed
    assert second.hit(charges).allowed
    assert not first.hit(charges).allowed
    assert not second.hit(charges).allowed
    # ...and the API (a third client of the same Redis) sees the same spent budget.
    assert api.get(URL).status_code == 429


@real_redis
def test_concurrent_requests_never_overspend_the_real_redis(api, settings):
    """The check and the charge are one Lua script: 20 threads, burst 10, 10 pass."""
    from concurrent.futures import ThreadPoolExecutor

    settings.API_RATE_LIMIT = 0.01
    settings.API_RATE_BURST = 10
    charges = throttling.client_charges(client=api.tenant, items=0)
    limiters = [RateLimiter(redis_lib.Redis.from_url(settings.REDIS_URL)) for _ in range(4)]
    start = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda i: limiters[i % 4].hit(charges).allowed, range(20)))
    assert time.monotonic() - start < 5
    assert results.count(True) == 10


def test_a_lease_is_a_twentieth_of_a_seconds_rate_or_the_burst_at_least_one():
    from bankflow.ratelimit import Rate

    assert throttling.lease_size(Rate(per_second=1000, burst=2000)) == 50
    assert throttling.lease_size(Rate(per_second=100, burst=200)) == 5
    assert throttling.lease_size(Rate(per_second=1000, burst=40)) == 2
    assert throttling.lease_size(Rate(per_second=0.1, burst=2)) == 1  # charged one by one


@pytest.fixture
def redis_calls(monkeypatch):
    calls: list[list[int]] = []
    real = RateLimiter.hit

    def spy(self, charges, **kwargs):
        calls.append([c.cost for c in charges])
        return real(self, charges, **kwargs)

    monkeypatch.setattr(RateLimiter, "hit", spy)
    return calls


def test_single_requests_take_tokens_a_lease_at_a_time(api, settings, redis_calls):
    settings.API_RATE_LIMIT, settings.API_RATE_BURST = 1000, 2000  # leases of 50
    assert {api.get(URL).status_code for _ in range(120)} == {200}
    assert redis_calls == [[50], [50], [50]]


def test_a_lapsed_lease_is_not_spent(api, settings, redis_calls, monkeypatch):
    settings.API_RATE_LIMIT, settings.API_RATE_BURST = 1000, 2000
    api.get(URL)
    monkeypatch.setattr(throttling, "LEASE_SECONDS", 0.0)  # the next lease lapses at once
    clock = time.monotonic() + 1.0
    monkeypatch.setattr(throttling.time, "monotonic", lambda: clock)
    api.get(URL)
    assert redis_calls == [[50], [50]]


def test_leases_never_give_a_client_more_than_its_budget(api, settings, monkeypatch):
    # 100 at once, leases of 5, on a clock that stands still (nothing refills): twenty
    # leases, then a whole one no longer fits and the request is charged alone, then 429.
    settings.API_RATE_LIMIT, settings.API_RATE_BURST = 100, 100
    costs: list[int] = []
    real = RateLimiter.hit

    def frozen(self, charges, **kwargs):
        costs.append(sum(c.cost for c in charges))
        return real(self, charges, now=1_800_000_000.0)

    monkeypatch.setattr(RateLimiter, "hit", frozen)
    codes = [api.get(URL).status_code for _ in range(130)]
    assert codes.count(200) == 100 and set(codes[100:]) == {429}
    assert costs[:20] == [5] * 20 and set(costs[20:]) <= {5, 1}
