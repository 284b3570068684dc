"""The demo generator tells the truth: what it calls risky is what the consumer flags.

Generated transactions go through the whole pipeline; every one the generator labels
risky must carry one of the risk reasons its patterns aim at (high-risk country, large
amount, velocity), and none of the others may. The sample is one bulk request of 200, one
processing batch, with a seed whose sample holds a burst beyond the velocity limit.
"""

from __future__ import annotations

import pytest

from producer.transactions.generator import BURST_LENGTH, Generator
from tests.conftest import wait_terminal

pytestmark = pytest.mark.local_stack  # the consumer's default risk settings

FLAGS = ("high_risk_country", "high_velocity", "large_amount", "very_large_amount")


def flagged(result: dict) -> bool:
    return any(reason.split(":")[0] in FLAGS for reason in result["reasons"])


def test_every_risky_label_is_a_consumer_flag_and_no_other_is(deployment, local_stack):
    sample = list(Generator(seed=1).items(200))
    accounts = [d["source_account"] or d["destination_account"] for d, _ in sample]
    assert max(accounts.count(a) for a in accounts) >= BURST_LENGTH  # the seed holds a burst
    body = [{**data, "amount": str(data["amount"])} for data, _ in sample]

    response = deployment.producer.post("/api/v1/transactions/bulk/", json=body)
    assert response.status_code == 201, response.text

    wrong = []
    for created, (data, risky) in zip(response.json(), sample, strict=True):
        result = wait_terminal(deployment.producer, created["id"], timeout=60)["result"]
        if flagged(result) != risky:
            wrong.append((data["type"], data["amount"], data["currency"], risky, result["reasons"]))
    assert not wrong, wrong
    assert sum(risky for _, risky in sample) >= 10
