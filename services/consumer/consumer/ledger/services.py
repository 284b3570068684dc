"""Writes to the ledger."""

from __future__ import annotations

from collections.abc import Sequence

from consumer.ledger.models import Account, Entry
from consumer.ledger.postings import Posting, check_balanced


def ledger_post(*, postings: Sequence[Posting]) -> int:
    """Write balanced postings in bulk; the caller's transaction makes them atomic.

    A leg that already exists raises IntegrityError (unique transaction_id + leg), which
    rolls the caller's whole batch back: nothing is ever posted twice.
    """
    if not postings:
        return 0
    check_balanced(list(postings))
    refs = {p.account.code: p.account for p in postings}
    Account.objects.bulk_create(
        [Account(code=r.code, kind=r.kind, currency=r.currency) for r in refs.values()],
        ignore_conflicts=True,
    )
    ids = dict(Account.objects.filter(code__in=refs).values_list("code", "id"))
    Entry.objects.bulk_create(
        [
            Entry(
                account_id=ids[p.account.code],
                currency=p.currency,
                amount=p.amount,
                transaction_id=p.transaction_id,
                leg=p.leg,
            )
            for p in postings
        ],
        batch_size=1000,
    )
    return len(postings)
