"""Per-client rate limits on the producer API (docs/api.md, "Rate limits"), as a DRF throttle.

Two token buckets per client in Redis (``bankflow.ratelimit``), shared by every web process:
``requests`` (every authenticated request costs 1; ``API_RATE_LIMIT`` per second, burst
``API_RATE_BURST``) and ``bulk_items`` (a bulk request also costs its item count;
``API_BULK_ITEMS_RATE_LIMIT`` per second, burst ``API_BULK_ITEMS_BURST``, never below one full
bulk request). A limit set to 0 is off. Over budget: DRF's ``Throttled``, which the one
exception handler answers 429 with ``Retry-After`` and ``{"detail", "code": "throttled"}``.

Redis not answering lets the request through and counts it (fail open): the limits protect
capacity, and refusing every client's payments because a cache is away would be the outage
they are there to prevent. One failed call makes the process skip Redis for
``SKIP_AFTER_FAILURE_SECONDS`` so that an outage adds no latency to every request. The
webhook receiver has no API key, so it is never limited.

A request that costs one token (every request but a bulk one) is served from a lease: the
process takes ``lease_size`` tokens from Redis at once and spends them locally for up to
``LEASE_SECONDS``, one round trip per lease instead of one per request (the round trip was
a sixth of the web process's CPU on single creates). The tokens are charged in Redis before
they are spent, so a client never gets more than its budget; a lease that lapses unspent
loses its rest (at most ``lease_size`` per process and ``LEASE_SECONDS``). Near the limit,
when a whole lease no longer fits, the request is charged exactly, alone.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import redis
from django.conf import settings
from redis.backoff import NoBackoff
from redis.retry import Retry
from rest_framework.throttling import BaseThrottle

from bankflow.logging import get_logger
from bankflow.ratelimit import Charge, Decision, Rate, RateLimiter
from bankflow.redis import get_redis
from producer.clients import metrics
from producer.clients.models import Client

log = get_logger("producer.ratelimit")

KEY_PREFIX = "bankflow:producer:ratelimit"
BULK_MAX_ITEMS = 1000  # the bulk endpoint's own maximum: one full request always fits

# Redis not answering must cost a request milliseconds, not the shared client's timeouts and
# retries (seconds): the limiter has its own connection, one attempt, short timeouts, and
# after a failure each process skips Redis for a moment instead of asking again per request.
REDIS_TIMEOUT_SECONDS = 0.25
SKIP_AFTER_FAILURE_SECONDS = 5.0

LEASE_SECONDS = 0.5
LEASE_PARTS = 20  # a lease is a twentieth of the smaller of a second's rate and the burst

_limiter: RateLimiter | None = None
_skip_until = 0.0
_leases: dict[str, tuple[int, float]] = {}  # bucket key -> (tokens left, valid until)
_leases_lock = threading.Lock()


def limiter_redis() -> Any:
    if not settings.REDIS_URL:
        return get_redis()  # the local mode's in-process stand-in
    return redis.Redis.from_url(
        settings.REDIS_URL,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        retry=Retry(NoBackoff(), 0),
    )


def limiter() -> RateLimiter:
    """One limiter (its connection pool and script) per process."""
    global _limiter
    if _limiter is None:
        _limiter = RateLimiter(limiter_redis())
    return _limiter


def reset() -> None:
    """Forget the process's limiter, leases and breaker (tests; settings changed)."""
    global _limiter, _skip_until
    _limiter, _skip_until = None, 0.0
    _leases.clear()


def lease_size(rate: Rate) -> int:
    return max(1, int(min(rate.per_second, rate.burst)) // LEASE_PARTS)


def _from_lease(charge: Charge) -> bool:
    """Spend one token of this process's lease on ``charge``'s bucket, if one is left."""
    with _leases_lock:
        left, until = _leases.get(charge.key, (0, 0.0))
        if left > 0 and time.monotonic() < until:
            _leases[charge.key] = (left - 1, until)
            return True
    return False


def _hit(charges: list[Charge]) -> Decision:
    """Redis's decision; a single one-token charge takes a lease when it can."""
    if len(charges) == 1 and charges[0].cost == 1:
        (charge,) = charges
        size = lease_size(charge.rate)
        if size > 1:
            if _from_lease(charge):
                return Decision(allowed=True)
            lease = Charge(charge.name, charge.key, charge.rate, size)
            if limiter().hit([lease]).allowed:
                with _leases_lock:
                    _leases[charge.key] = (size - 1, time.monotonic() + LEASE_SECONDS)
                return Decision(allowed=True)
    return limiter().hit(charges)


def request_rate() -> Rate | None:
    per_second = float(settings.API_RATE_LIMIT)
    if per_second <= 0:
        return None
    return Rate(per_second=per_second, burst=max(1, int(settings.API_RATE_BURST)))


def bulk_items_rate() -> Rate | None:
    per_second = float(settings.API_BULK_ITEMS_RATE_LIMIT)
    if per_second <= 0:
        return None
    return Rate(
        per_second=per_second, burst=max(BULK_MAX_ITEMS, int(settings.API_BULK_ITEMS_BURST))
    )


def publish_configuration() -> None:
    """The configured limits as gauges, so a dashboard can draw the budget next to the use."""
    for name, rate in (("requests", request_rate()), ("bulk_items", bulk_items_rate())):
        metrics.api_rate_limit.labels(name).set(rate.per_second if rate else 0)
        metrics.api_rate_burst.labels(name).set(rate.burst if rate else 0)


def client_charges(*, client: Client, items: int) -> list[Charge]:
    """What one request of ``client`` carrying ``items`` bulk items costs."""
    charges = []
    rate = request_rate()
    if rate is not None:
        charges.append(Charge("requests", f"{KEY_PREFIX}:requests:{client.pk}", rate, 1))
    rate = bulk_items_rate()
    if rate is not None and items > 0:
        charges.append(Charge("bulk_items", f"{KEY_PREFIX}:bulk_items:{client.pk}", rate, items))
    return charges


class ClientRateThrottle(BaseThrottle):
    """A view may define ``rate_limit_items(request) -> int``: the items a request carries
    (the bulk endpoint: its list's length), charged to the ``bulk_items`` budget."""

    decision: Decision | None = None

    def allow_request(self, request: Any, view: Any) -> bool:
        client = request.user
        if not isinstance(client, Client):
            return True  # not an API client (the webhook receiver): not limited here
        count_items = getattr(view, "rate_limit_items", None)
        items = int(count_items(request)) if count_items is not None else 0
        charges = client_charges(client=client, items=items)
        if not charges:
            return True
        global _skip_until
        if time.monotonic() < _skip_until:
            metrics.api_rate_limit_unavailable.inc()
            return True
        try:
            self.decision = _hit(charges)
        except redis.RedisError as exc:
            _skip_until = time.monotonic() + SKIP_AFTER_FAILURE_SECONDS
            metrics.api_rate_limit_unavailable.inc()
            log.warning(
                "rate_limit_unavailable",
                error=type(exc).__name__,
                skip_seconds=SKIP_AFTER_FAILURE_SECONDS,
            )
            return True
        if self.decision.allowed:
            return True
        metrics.api_throttled.labels(client.name, self.decision.refused_by).inc()
        log.info(
            "rate_limited",
            client=client.name,
            limit=self.decision.refused_by,
            retry_after=self.decision.retry_after_seconds,
        )
        return False

    def wait(self) -> float | None:
        return self.decision.retry_after_seconds if self.decision else None
