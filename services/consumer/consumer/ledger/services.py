"""Writes to the ledger."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils import timezone

from bankflow.db import copy_rows
from consumer.ledger.models import Account, Entry
from consumer.ledger.postings import AccountRef, Posting, check_balanced

# Accounts are never renamed or removed: once a code's id is known, it stays known.
_account_ids: dict[str, int] = {}


def ledger_post(*, postings: Sequence[Posting]) -> int:
    """Write balanced postings in bulk; the caller's transaction makes them atomic.

    A leg that already exists raises IntegrityError (unique transaction_id + leg), which
    rolls the caller's whole batch back: nothing is ever posted twice.
    """
    if not postings:
        return 0
    check_balanced(list(postings))
    ids = _account_ids_for({p.account.code: p.account for p in postings})
    now = timezone.now()
    copy_rows(
        Entry,
        (
            Entry(
                account_id=ids[p.account.code],
                currency=p.currency,
                amount=p.amount,
                transaction_id=p.transaction_id,
                leg=p.leg,
                created_at=now,
            )
            for p in postings
        ),
        ["account", "currency", "amount", "transaction_id", "leg", "created_at"],
    )
    return len(postings)


def _account_ids_for(refs: dict[str, AccountRef]) -> dict[str, int]:
    """The accounts' ids, creating the missing ones; known codes cost no query.

    Only ids read before this transaction wrote anything are remembered (they are
    committed): an account created here is remembered by the next batch that reads it, so
    a batch that rolls back leaves nothing behind in memory.
    """
    ids = {code: _account_ids[code] for code in refs if code in _account_ids}
    unknown = [code for code in refs if code not in ids]
    if unknown:
        existing = dict(Account.objects.filter(code__in=unknown).values_list("code", "id"))
        _account_ids.update(existing)
        ids.update(existing)
        missing = [refs[code] for code in unknown if code not in existing]
        if missing:
            Account.objects.bulk_create(
                [Account(code=r.code, kind=r.kind, currency=r.currency) for r in missing],
                ignore_conflicts=True,
            )
            ids.update(
                Account.objects.filter(code__in=[r.code for r in missing]).values_list("code", "id")
            )
    return ids
