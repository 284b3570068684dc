"""Rate limits shared by every process: token buckets kept in Redis, checked atomically.

Each limit is a token bucket (``per_second`` tokens added per second, at most ``burst`` held),
written as GCRA (the generic cell rate algorithm): Redis keeps one number per bucket, the
"theoretical arrival time" (TAT) at which the bucket will be full again. A request costing
``n`` tokens moves the TAT ``n / per_second`` seconds later, and is allowed when the new TAT
is at most ``burst / per_second`` seconds ahead of now. A refused request changes nothing.

One Lua script checks every bucket a request is charged to and charges them all or none, in
one round trip, with the Redis server's clock: web processes on different hosts share one
budget and one time. A key outlives the moment its bucket is full again by a minute (an
expired key and a full bucket mean the same), so that no clock of the caller's, as in the
tests, can see a bucket emptied by its key expiring early. ``gcra`` is the same arithmetic
in Python (the tests compare both).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

MICROS = 1_000_000

# KEYS: one bucket each. ARGV[1]: now in microseconds ("" = the server's clock), then per key:
# interval (µs per token), burst (tokens), cost (tokens).
# Returns {allowed (0|1), index of the bucket that refused (1-based, 0 if none),
#          microseconds until the request would be allowed}.
_SCRIPT = """
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local new = {}
local worst, worst_wait = 0, 0
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[2 + (i - 1) * 3])
  local burst = tonumber(ARGV[3 + (i - 1) * 3])
  local cost = tonumber(ARGV[4 + (i - 1) * 3])
  local tat = tonumber(redis.call('GET', key)) or now
  if tat < now then tat = now end
  local next_tat = tat + cost * interval
  local wait = next_tat - burst * interval - now
  if wait > 0 then
    if wait > worst_wait then worst, worst_wait = i, wait end
  else
    new[i] = next_tat
  end
end
if worst > 0 then
  return {0, worst, math.ceil(worst_wait)}
end
for i, key in ipairs(KEYS) do
  local ttl = math.ceil((new[i] - now) / 1000) + 60000
  redis.call('SET', key, string.format('%.0f', new[i]), 'PX', ttl)
end
return {1, 0, 0}
"""


@dataclass(frozen=True)
class Rate:
    """``per_second`` tokens a second, at most ``burst`` at once (``burst`` ≥ 1)."""

    per_second: float
    burst: int

    def __post_init__(self) -> None:
        if self.per_second <= 0 or self.burst < 1:
            raise ValueError(f"a rate needs per_second > 0 and burst >= 1, not {self}")

    @property
    def interval_us(self) -> float:
        return MICROS / self.per_second


@dataclass(frozen=True)
class Charge:
    """``cost`` tokens taken from the bucket ``key`` (named ``name`` in metrics and logs)."""

    name: str
    key: str
    rate: Rate
    cost: int = 1

    @property
    def capped_cost(self) -> int:
        # More than a full bucket could never pass: it waits for a full bucket instead.
        return max(0, min(self.cost, self.rate.burst))


@dataclass(frozen=True)
class Decision:
    allowed: bool
    refused_by: str | None = None
    retry_after: float = 0.0  # seconds until the same request would pass

    @property
    def retry_after_seconds(self) -> int:
        """The ``Retry-After`` header: whole seconds, at least 1 once refused."""
        return max(1, math.ceil(self.retry_after)) if not self.allowed else 0


def gcra(*, tat: float | None, now: float, rate: Rate, cost: int) -> tuple[bool, float, float]:
    """One bucket, in microseconds: (allowed, the TAT to store when allowed, wait when not)."""
    start = now if tat is None or tat < now else tat
    next_tat = start + cost * rate.interval_us
    wait = next_tat - rate.burst * rate.interval_us - now
    if wait > 0:
        return False, start, wait
    return True, next_tat, 0.0


class RateLimiter:
    """Charges requests to buckets in one Redis (``redis.Redis``; errors are the caller's:
    it decides whether an unreachable Redis lets requests pass)."""

    def __init__(self, redis: Any) -> None:
        self.redis = redis
        self._script = redis.register_script(_SCRIPT)

    def hit(self, charges: Sequence[Charge], *, now: float | None = None) -> Decision:
        """Take every charge's tokens, or none when one bucket has too few. ``now`` (seconds)
        is for tests; by default the Redis server's clock decides."""
        charges = [c for c in charges if c.capped_cost > 0]
        if not charges:
            return Decision(allowed=True)
        args: list[Any] = ["" if now is None else repr(round(now * MICROS))]
        for charge in charges:
            args += [repr(charge.rate.interval_us), charge.rate.burst, charge.capped_cost]
        allowed, refused, wait_us = self._script(keys=[c.key for c in charges], args=args)
        if allowed:
            return Decision(allowed=True)
        return Decision(
            allowed=False,
            refused_by=charges[int(refused) - 1].name,
            retry_after=int(wait_us) / MICROS,
        )
