"""The API's rate limits as metrics (names in docs/api.md, "Rate limits")."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

from bankflow.metrics import initialise

LIMITS = ("requests", "bulk_items")

# One series per client that was ever refused: clients are tenants, a short list.
api_throttled = Counter(
    "bankflow_producer_api_throttled",
    "Requests refused with 429 because the client's budget was spent, by client and limit.",
    ["client", "limit"],
)
api_rate_limit_unavailable = Counter(
    "bankflow_producer_api_rate_limit_unavailable",
    "Requests let through unchecked because Redis did not answer (the limits fail open).",
)
api_rate_limit = Gauge(
    "bankflow_producer_api_rate_limit",
    "The configured budget per client, tokens per second (0: off), by limit.",
    ["limit"],
    multiprocess_mode="livemax",
)
api_rate_burst = Gauge(
    "bankflow_producer_api_rate_burst",
    "The configured burst per client, tokens, by limit.",
    ["limit"],
    multiprocess_mode="livemax",
)

initialise(api_rate_limit, limit=LIMITS)
initialise(api_rate_burst, limit=LIMITS)
