"""Idempotency-Key: the first answer to a key is stored with the request's fingerprint and
replayed for the same key and body; a different body under the same key is a 409.

The key row is inserted in the same database transaction as the work it guards. On
PostgreSQL a concurrent request with the same key blocks on the unique index until the
first commits, then reads and replays its answer: exactly one transaction, no 500.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError
from django.db import transaction as db
from django.utils import timezone

from bankflow.errors import Conflict
from producer.clients.models import Client
from producer.transactions.models import IdempotencyKey

HEADER = "Idempotency-Key"
MAX_LENGTH = 255


@dataclass(frozen=True)
class Answer:
    status: int
    body: str  # the rendered JSON, replayed byte for byte
    replayed: bool


def fingerprint(*, method: str, path: str, data: Any) -> str:
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder)
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


def ttl() -> timedelta:
    return timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)


def idempotent(
    *, client: Client, key: str, fingerprint: str, action: Callable[[], tuple[int, str]]
) -> Answer:
    """Run ``action`` once per (client, key): its (status, rendered body) is stored and
    replayed."""
    now = timezone.now()
    with db.atomic():
        try:
            with db.atomic():
                record = IdempotencyKey.objects.create(
                    client=client, key=key, fingerprint=fingerprint, created_at=now
                )
        except IntegrityError:
            record = IdempotencyKey.objects.select_for_update().get(client=client, key=key)
            if record.created_at >= now - ttl():
                if record.fingerprint != fingerprint:
                    raise Conflict(
                        f"This {HEADER} was used with a different request body."
                    ) from None
                return Answer(record.response_status, record.response_body, replayed=True)
            record.fingerprint, record.created_at = fingerprint, now  # expired: start afresh
        status, body = action()
        record.response_status, record.response_body = status, body
        record.save()
    return Answer(status, body, replayed=False)


def idempotency_keys_purge() -> int:
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=timezone.now() - ttl()).delete()
    return deleted
