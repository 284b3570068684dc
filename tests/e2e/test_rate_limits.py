"""The producer's rate limits, seen from outside: the configured budgets are metrics, and
ordinary traffic is not limited. (A 429 itself, the shared budget and fail open are tested
against a real Redis in services/producer/tests/clients/test_throttling.py, where the limits
can be set low without slowing every other test.)"""

from __future__ import annotations

import re

import requests

from tests.conftest import Deployment


def test_the_configured_budgets_are_exported_as_metrics(deployment: Deployment):
    text = requests.get(f"{deployment.producer_url}/metrics", timeout=15).text
    for limit in ("requests", "bulk_items"):
        for metric in ("bankflow_producer_api_rate_limit", "bankflow_producer_api_rate_burst"):
            (value,) = re.findall(rf'^{metric}{{limit="{limit}"}} (\S+)$', text, re.MULTILINE)
            assert float(value) > 0, (metric, limit)
    assert "bankflow_producer_api_rate_limit_unavailable_total" in text


def test_a_quick_series_of_requests_is_not_limited(deployment: Deployment):
    api = deployment.producer
    answers = [api.get("/api/v1/transactions/?limit=1").status_code for _ in range(30)]
    assert answers == [200] * 30
