"""What the console's pages read: a few aggregate queries per page, nothing written."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from uuid import UUID

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from bankflow.money import round_money
from consumer.intake.models import ReceivedTransaction, Status, TransactionEvent
from consumer.ledger.models import Account, Entry
from consumer.review.models import ReviewDecision
from consumer.review.selectors import QueueSummary, review_queue_summary
from consumer.webhooks.models import MessageState, WebhookMessage

OPEN_STATUSES = (Status.RECEIVED, Status.PROCESSING)


@dataclass(frozen=True)
class Overview:
    by_status: dict[str, int]
    by_decision: dict[str, int]
    processed_last_hour: int
    failed_last_hour: int
    backlog: int  # received or processing: waiting for a worker
    webhooks_by_state: dict[str, int]
    review: QueueSummary
    at: datetime

    @property
    def total(self) -> int:
        return sum(self.by_status.values())

    @property
    def webhooks_dead(self) -> int:
        return self.webhooks_by_state.get(MessageState.DEAD, 0)

    @property
    def webhooks_waiting(self) -> int:
        return self.webhooks_by_state.get(MessageState.PENDING, 0) + self.webhooks_by_state.get(
            MessageState.RETRYING, 0
        )


def overview(*, now: datetime | None = None) -> Overview:
    now = now or timezone.now()
    hour_ago = now - timedelta(hours=1)
    by_status = dict.fromkeys(Status.values, 0)
    statuses = ReceivedTransaction.objects.values_list("status").annotate(n=Count("id"))
    for status, n in statuses.order_by():
        by_status[status] = n
    by_decision = dict.fromkeys(("approved", "declined", "review"), 0)
    decisions = (
        ReceivedTransaction.objects.filter(status=Status.PROCESSED)
        .values_list("result__decision")
        .annotate(n=Count("id"))
        .order_by()
    )
    for decision, n in decisions:
        by_decision[str(decision)] = n
    last_hour = ReceivedTransaction.objects.filter(processed_at__gte=hour_ago).aggregate(
        processed=Count("id", filter=Q(status=Status.PROCESSED)),
        failed=Count("id", filter=Q(status=Status.FAILED)),
    )
    webhooks = dict.fromkeys(MessageState.values, 0)
    for state, n in WebhookMessage.objects.values_list("state").annotate(n=Count("id")).order_by():
        webhooks[state] = n
    return Overview(
        by_status=by_status,
        by_decision=by_decision,
        processed_last_hour=last_hour["processed"],
        failed_last_hour=last_hour["failed"],
        backlog=by_status[Status.RECEIVED] + by_status[Status.PROCESSING],
        webhooks_by_state=webhooks,
        review=review_queue_summary(now=now),
        at=now,
    )


def transaction_search(
    *,
    query: str = "",
    status: str = "",
    decision: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
) -> QuerySet[ReceivedTransaction]:
    """Newest first. ``query`` is an id, an IBAN (either side) or a reference; the dates
    are the producer's ``created_at`` days (UTC), both included."""
    qs = ReceivedTransaction.objects.all()
    query = query.strip()
    if query:
        compact = query.replace(" ", "").upper()
        match = Q(source_account=compact) | Q(destination_account=compact) | Q(reference=query)
        with contextlib.suppress(ValueError):  # not an id: the other fields decide
            match |= Q(id=UUID(query))
        qs = qs.filter(match)
    if status:
        qs = qs.filter(status=status)
    if decision:
        qs = qs.filter(status=Status.PROCESSED, result__decision=decision)
    if date_from:
        qs = qs.filter(created_at__gte=_day_start(date_from))
    if date_to:
        qs = qs.filter(created_at__lt=_day_start(date_to + timedelta(days=1)))
    return qs.order_by("-received_at", "-id")


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


@dataclass(frozen=True)
class TransactionPage:
    tx: ReceivedTransaction
    entries: list[Entry]
    messages: list[WebhookMessage]
    review: ReviewDecision | None
    events: list[TransactionEvent]


def transaction_page(*, transaction_id: UUID) -> TransactionPage | None:
    tx = ReceivedTransaction.objects.filter(id=transaction_id).first()
    if tx is None:
        return None
    return TransactionPage(
        tx=tx,
        entries=list(
            Entry.objects.filter(transaction_id=tx.id).select_related("account").order_by("id")
        ),
        messages=list(tx.webhook_messages.prefetch_related("attempt_log").order_by("created_at")),
        review=ReviewDecision.objects.filter(transaction=tx).first(),
        events=list(tx.events.all()),  # oldest first
    )


def webhook_messages_needing_attention() -> QuerySet[WebhookMessage]:
    """Dead and retrying messages, the oldest first, with their attempts."""
    return (
        WebhookMessage.objects.filter(state__in=(MessageState.DEAD, MessageState.RETRYING))
        .prefetch_related("attempt_log")
        .order_by("created_at", "id")
    )


@dataclass(frozen=True)
class AccountRow:
    account: Account
    balances: dict[str, Decimal]


def account_search(*, query: str = "") -> QuerySet[Account]:
    qs = Account.objects.all()
    query = query.strip().replace(" ", "").upper()
    if query:
        qs = qs.filter(code__icontains=query)
    return qs.order_by("kind", "code")


def balances_of(accounts: list[Account]) -> list[AccountRow]:
    """Balance per currency of each account, in one query."""
    totals: dict[int, dict[str, Decimal]] = {a.id: {} for a in accounts}
    rows = (
        Entry.objects.filter(account__in=accounts)
        .values("account_id", "currency")
        .annotate(total=Sum("amount"))
        .order_by("currency")
    )
    for row in rows:
        totals[row["account_id"]][row["currency"]] = round_money(row["total"], row["currency"])
    return [AccountRow(account=a, balances=totals[a.id]) for a in accounts]


def account_entries(*, account: Account) -> QuerySet[Entry]:
    return Entry.objects.filter(account=account).order_by("-id")
