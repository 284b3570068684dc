from __future__ import annotations

import uuid

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from bankflow.audit import EventFields
from bankflow.money import MAX_AMOUNT
from bankflow.wire import TransactionType
from producer.clients.models import Client

IBAN_MAX_LENGTH = 34


class Status(models.TextChoices):
    PENDING = "pending"
    DISPATCHED = "dispatched"
    PROCESSED = "processed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Transaction(models.Model):
    """The system of record. Status changes go through ``states`` only."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="transactions")
    reference = models.CharField(max_length=128)
    type = models.CharField(max_length=16, choices=TransactionType.choices)
    # Quantized to the currency's minor units (at most 3) before it is stored.
    amount = models.DecimalField(max_digits=18, decimal_places=3)
    currency = models.CharField(max_length=3)
    # NULL, not "", is the honest value for "this side has no account" and what the
    # type check constraint tests.
    source_account = models.CharField(max_length=IBAN_MAX_LENGTH, null=True, blank=True)  # noqa: DJ001
    destination_account = models.CharField(max_length=IBAN_MAX_LENGTH, null=True, blank=True)  # noqa: DJ001
    description = models.CharField(max_length=500, blank=True, default="")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    result = models.JSONField(null=True, blank=True)
    failure_reason = models.CharField(max_length=500, blank=True, default="")
    correlation_id = models.CharField(max_length=128, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The cursor: a client's transactions newest first.
            models.Index(fields=["client", "-created_at", "-id"], name="tx_client_created"),
            models.Index(fields=["client", "status", "-created_at"], name="tx_client_status"),
            models.Index(fields=["client", "source_account"], name="tx_client_source"),
            # Reconciliation reads a day of processed ones (partial: creating costs nothing).
            models.Index(
                fields=["created_at"],
                condition=Q(status="processed"),
                name="tx_processed_created",
            ),
            models.Index(fields=["client", "destination_account"], name="tx_client_destination"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0) & Q(amount__lte=MAX_AMOUNT), name="tx_amount_range"
            ),
            models.CheckConstraint(condition=Q(status__in=Status.values), name="tx_status_valid"),
            models.CheckConstraint(
                condition=Q(type__in=TransactionType.values), name="tx_type_valid"
            ),
            models.CheckConstraint(
                condition=(
                    Q(
                        type__in=[TransactionType.TRANSFER, TransactionType.PAYMENT],
                        source_account__isnull=False,
                        destination_account__isnull=False,
                    )
                    | Q(
                        type=TransactionType.DEPOSIT,
                        source_account__isnull=True,
                        destination_account__isnull=False,
                    )
                    | Q(
                        type=TransactionType.WITHDRAWAL,
                        source_account__isnull=False,
                        destination_account__isnull=True,
                    )
                ),
                name="tx_accounts_match_type",
            ),
            models.CheckConstraint(
                condition=Q(source_account__isnull=True)
                | Q(destination_account__isnull=True)
                | ~Q(source_account=F("destination_account")),
                name="tx_accounts_differ",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.type} {self.amount} {self.currency} {self.status}"


class OutboxState(models.TextChoices):
    PENDING = "pending"
    IN_FLIGHT = "in_flight"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


ACTIVE_OUTBOX_STATES = [OutboxState.PENDING, OutboxState.IN_FLIGHT]


class OutboxMessage(models.Model):
    """One dispatch of one transaction to the consumer, written with the transaction."""

    transaction = models.ForeignKey(
        Transaction, on_delete=models.PROTECT, related_name="outbox_messages"
    )
    state = models.CharField(
        max_length=16, choices=OutboxState.choices, default=OutboxState.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    available_at = models.DateTimeField(default=timezone.now)
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            # Only live rows are ever scanned by the dispatcher and the sweep.
            models.Index(
                fields=["state", "available_at"],
                condition=Q(state__in=ACTIVE_OUTBOX_STATES),
                name="outbox_due",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=OutboxState.values), name="outbox_state_valid"
            ),
            models.UniqueConstraint(
                fields=["transaction"],
                condition=Q(state__in=ACTIVE_OUTBOX_STATES),
                name="outbox_one_live_per_transaction",
            ),
        ]

    def __str__(self) -> str:
        return f"outbox {self.pk} {self.state} ({self.transaction_id})"


class IdempotencyKey(models.Model):
    """The first answer to a POST with an Idempotency-Key, replayed for the same key."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(default=0)
    # The rendered JSON text, so that a replay is byte-for-byte the first answer.
    response_body = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client", "key"], name="idempotency_key_per_client")
        ]

    def __str__(self) -> str:
        return f"{self.client_id}:{self.key}"


class WebhookReceipt(models.Model):
    """A consumer webhook message already applied (dedupe on ``webhook-id``)."""

    msg_id = models.CharField(max_length=255, unique=True)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    applied = models.PositiveIntegerField(default=0)
    ignored = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return self.msg_id


class EventKind(models.TextChoices):
    CREATED = "created"
    UPDATED = "updated"
    DISPATCHED = "dispatched"
    DISPATCH_FAILED = "dispatch_failed"
    RESULT_APPLIED = "result_applied"
    FAILED = "failed"
    CANCELLED = "cancelled"
    RETRIED = "retried"
    REVIEW_RESOLVED = "review_resolved"


class TransactionEvent(EventFields):
    """One change of a transaction, appended in the database transaction of the change.

    Append-only: the application never updates or deletes a row (``events.py`` only
    inserts; on PostgreSQL a trigger refuses UPDATE and DELETE). The other columns are
    ``bankflow.audit.EventFields``.
    """

    transaction = models.ForeignKey(Transaction, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=32, choices=EventKind.choices)

    class Meta(EventFields.Meta):
        indexes = [models.Index(fields=["transaction", "at", "id"], name="tx_event_trail")]
