"""Rotating CONSUMER_API_TOKEN on the running stack, the way docs/api.md says to, with
no transaction refused on the way: consumer `new,old`, then producer `new`, then consumer
`new` alone. The real processes are restarted with each value."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from tests.conftest import Api, transaction_body, wait_terminal

pytestmark = pytest.mark.local_stack
NEW = "rotated-" + uuid.uuid4().hex
UNKNOWN_TX = f"/api/v1/transactions/{uuid.uuid4()}/"


def _restart(stack, names: list[str], token: str | None) -> None:
    """Restart processes with CONSUMER_API_TOKEN=token (None: unset, the local default)."""
    for name in names:
        stack.stop_process(name)
    if token is None:
        os.environ.pop("CONSUMER_API_TOKEN", None)
    else:
        os.environ["CONSUMER_API_TOKEN"] = token
    for name in names:
        stack.start_process(name)
    stack.wait_ready(["consumer", "producer"])


@pytest.fixture
def rotating(local_stack, deployment) -> Iterator[str]:
    before = os.environ.get("CONSUMER_API_TOKEN")
    try:
        yield deployment.consumer_token
    finally:  # the other tests get the stack as it was
        _restart(local_stack, ["consumer-web", "producer-worker"], before)


def _status(deployment, token: str) -> int:
    return Api(deployment.consumer_url, token).get(UNKNOWN_TX).status_code


def test_the_service_token_rotates_without_a_refused_dispatch(deployment, local_stack, rotating):
    old = rotating
    # 1. The consumer accepts the new token and the old one
    _restart(local_stack, ["consumer-web"], f"{NEW},{old}")
    assert _status(deployment, NEW) == 404  # authenticated; the id is unknown
    assert _status(deployment, old) == 404
    assert _status(deployment, "retired-token") == 401
    tx = deployment.producer.post("/api/v1/transactions/", json=transaction_body()).json()
    assert wait_terminal(deployment.producer, tx["id"], timeout=60)["status"] == "processed"
    # 2. The producer's dispatcher switches to the new one (it sends the first of its list)
    _restart(local_stack, ["producer-worker"], f"{NEW},{old}")
    # 3. The consumer drops the old one: the dispatcher still gets through
    _restart(local_stack, ["consumer-web"], NEW)
    assert _status(deployment, old) == 401
    assert _status(deployment, NEW) == 404
    tx = deployment.producer.post("/api/v1/transactions/", json=transaction_body()).json()
    assert wait_terminal(deployment.producer, tx["id"], timeout=60)["status"] == "processed"
