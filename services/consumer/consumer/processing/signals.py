"""What the risk rules need from outside the transaction, gathered in one Redis round trip.

Velocity: one sorted set per account (the debited one; for a deposit the credited one),
member = transaction id, score = when it happened. Adding the same member again changes
nothing, so a redelivered batch does not count itself twice.

New counterparty: one key per (source, destination) pair holding the id of the first
transaction seen between them (SET NX). A transaction is "new" when the key holds its own
id, which a redelivery of that same transaction still finds.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from django.conf import settings

from bankflow.redis import get_redis
from consumer.processing.validation import ValidTransaction


@dataclass(frozen=True)
class Signals:
    velocity_count: int
    new_counterparty: bool


def velocity_account(tx: ValidTransaction) -> str | None:
    return tx.destination if tx.type == "deposit" else tx.source


def gather_signals(
    transactions: Sequence[ValidTransaction], *, window_seconds: int, memory_days: int
) -> dict[UUID, Signals]:
    if not transactions:
        return {}
    prefix = settings.REDIS_KEY_PREFIX
    horizon = time.time() - 2 * window_seconds  # older members can matter to no one
    pipe = get_redis().pipeline(transaction=False)
    plan: list[tuple[UUID, bool, bool]] = []
    # In the order they happened, so that the n-th from an account in a batch counts n.
    for tx in sorted(transactions, key=lambda t: (t.occurred_at, t.id)):
        account = velocity_account(tx)
        pair = tx.source and tx.destination
        if account:
            key = f"{prefix}velocity:{account}"
            at = tx.occurred_at.timestamp()
            pipe.zadd(key, {str(tx.id): at})
            pipe.zremrangebyscore(key, "-inf", f"({horizon}")
            pipe.zcount(key, f"({at - window_seconds}", at)
            pipe.expire(key, 2 * window_seconds)
        if pair:
            key = f"{prefix}counterparty:{tx.source}:{tx.destination}"
            pipe.set(key, str(tx.id), nx=True, ex=memory_days * 86400)
            pipe.get(key)
        plan.append((tx.id, bool(account), bool(pair)))
    replies = iter(pipe.execute())
    signals: dict[UUID, Signals] = {}
    for tx_id, has_account, has_pair in plan:
        count = new = 0
        if has_account:
            _, _, count, _ = next(replies), next(replies), next(replies), next(replies)
        if has_pair:
            _, first = next(replies), next(replies)
            new = _text(first) == str(tx_id)
        signals[tx_id] = Signals(velocity_count=int(count), new_counterparty=bool(new))
    return signals


def _text(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value
