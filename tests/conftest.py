"""The deployment under test, for tests/e2e and tests/pipeline.

With ``PRODUCER_URL`` set, the tests run against that deployment (the kind workflow sets
``PRODUCER_URL``, ``CONSUMER_URL``, ``PRODUCER_API_KEY`` and ``CONSUMER_API_TOKEN``).
Without it they start the whole stack here as local processes (``scripts.stack``) on
free ports, with fresh databases / vhost / Redis db when ``scripts.testenv`` chose the
real servers, and embedded defaults otherwise.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from scripts.stack import Stack
from scripts.testenv import reset_backing_servers

ROOT = Path(__file__).resolve().parents[1]


LOCAL_CONSUMER_TOKEN = "local-only-consumer-token"


def first_token(value: str | None) -> str | None:
    """CONSUMER_API_TOKEN may list several while it rotates; the producer presents the first."""
    if not value:
        return None
    return value.split(",")[0].strip() or None


class Api:
    """A tiny JSON client bound to one base URL and one bearer token."""

    def __init__(self, base_url: str, token: str | None) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 15)
        return self.session.request(method, f"{self.base_url}{path}", **kwargs)

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> requests.Response:
        return self.request("POST", path, **kw)

    def patch(self, path: str, **kw: Any) -> requests.Response:
        return self.request("PATCH", path, **kw)

    def delete(self, path: str, **kw: Any) -> requests.Response:
        return self.request("DELETE", path, **kw)


@dataclass
class Deployment:
    producer_url: str
    consumer_url: str
    api_key: str
    consumer_token: str | None
    stack: Stack | None = None

    @property
    def producer(self) -> Api:
        return Api(self.producer_url, self.api_key)

    @property
    def consumer(self) -> Api:
        return Api(self.consumer_url, self.consumer_token)

    def anonymous(self, service: str = "producer") -> Api:
        return Api(self.producer_url if service == "producer" else self.consumer_url, None)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    if os.environ.get("PRODUCER_URL"):
        yield Deployment(
            producer_url=os.environ["PRODUCER_URL"],
            consumer_url=os.environ.get("CONSUMER_URL", "http://127.0.0.1:8001"),
            api_key=os.environ["PRODUCER_API_KEY"],
            consumer_token=first_token(os.environ.get("CONSUMER_API_TOKEN")),
        )
        return
    reset_backing_servers()
    data_dir = tmp_path_factory.mktemp("stack")
    log_dir = Path(os.environ.get("BANKFLOW_E2E_LOG_DIR", str(ROOT / ".local" / "e2e-logs")))
    if log_dir.exists():
        for old in log_dir.glob("*.log"):
            old.unlink()
    stack = Stack(
        producer_port=free_port(),
        consumer_port=free_port(),
        producer_metrics_port=free_port(),
        consumer_metrics_port=free_port(),
        consumer_webhooks_metrics_port=free_port(),
        data_dir=data_dir,
        log_dir=log_dir,
    )
    stack.start()
    try:
        yield Deployment(
            producer_url=stack.url("producer"),
            consumer_url=stack.url("consumer"),
            api_key=stack.demo_key,
            consumer_token=first_token(os.environ.get("CONSUMER_API_TOKEN", LOCAL_CONSUMER_TOKEN)),
            stack=stack,
        )
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def local_stack(deployment: Deployment) -> Stack:
    if deployment.stack is None:
        pytest.skip("needs the local stack's processes (PRODUCER_URL points at a deployment)")
    return deployment.stack


def wait_for(predicate: Callable[[], Any], *, timeout: float = 30.0, interval: float = 0.1) -> Any:
    """Poll until predicate() is truthy; return its value or fail with the last one."""
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"condition not met within {timeout}s (last value: {value!r})")


def unique_iban(country: str = "DE") -> str:
    """A valid IBAN no other test uses, so balances start at zero."""
    from schwifty import IBAN

    if country == "DE":
        return IBAN.generate(
            "DE", bank_code="37040044", account_code=str(uuid.uuid4().int % 10**10)
        ).compact
    return IBAN.generate(
        "NL", bank_code="ABNA", account_code=str(uuid.uuid4().int % 10**10)
    ).compact


def transaction_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "reference": f"E2E-{uuid.uuid4().hex[:10]}",
        "type": "transfer",
        "amount": "125.50",
        "currency": "EUR",
        "source_account": unique_iban(),
        "destination_account": unique_iban(),
        "description": "e2e",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


TERMINAL = {"processed", "failed", "cancelled"}


def wait_terminal(api: Api, tx_id: str, timeout: float = 30.0) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        body = api.get(f"/api/v1/transactions/{tx_id}/").json()
        return body if body.get("status") in TERMINAL else None

    result: dict[str, Any] = wait_for(done, timeout=timeout)
    return result
