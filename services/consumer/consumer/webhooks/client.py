"""The HTTP side of a delivery: one keep-alive session per process, signed requests."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import requests
from django.conf import settings

from bankflow import wire
from bankflow.logging import outgoing_headers
from bankflow.webhooks import sign

ERROR_TEXT_LIMIT = 500


@dataclass(frozen=True)
class Answer:
    status_code: int | None  # None: no answer (connection error, timeout)
    duration_ms: int
    error: str = ""
    code: str = ""  # an error body's "code"


@lru_cache(maxsize=4)
def _session(pid: int) -> requests.Session:
    # Keyed by pid: a session (and its pooled sockets) must not cross a fork.
    session = requests.Session()
    session.headers.update({"User-Agent": "bankflow-consumer", "Content-Type": "application/json"})
    return session


def session() -> requests.Session:
    return _session(os.getpid())


def post_signed(*, msg_id: str, payload: Any) -> Answer:
    body = wire.encode(payload).decode()
    headers = {**sign(settings.WEBHOOK_SECRET, msg_id=msg_id, body=body), **outgoing_headers()}
    started = time.perf_counter()
    try:
        response = session().post(
            settings.PRODUCER_WEBHOOK_URL,
            data=body.encode(),
            headers=headers,
            timeout=(min(3.05, settings.WEBHOOK_TIMEOUT_SECONDS), settings.WEBHOOK_TIMEOUT_SECONDS),
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        return Answer(None, _ms(started), f"{type(exc).__name__}: {exc}"[:ERROR_TEXT_LIMIT])
    if response.ok:
        return Answer(response.status_code, _ms(started))
    return Answer(
        response.status_code, _ms(started), response.text[:ERROR_TEXT_LIMIT], _code(response)
    )


def _code(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("code", "")) if isinstance(body, dict) else ""


def _ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
