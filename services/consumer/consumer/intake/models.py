"""Transactions as the producer sent them, keyed by the producer's id."""

from __future__ import annotations

from django.db import models

from bankflow.audit import EventFields
from bankflow.wire import TransactionType


class Status(models.TextChoices):
    RECEIVED = "received"
    PROCESSING = "processing"
    PROCESSED = "processed"
    FAILED = "failed"


FINAL_STATUSES = (Status.PROCESSED, Status.FAILED)


class ReceivedTransaction(models.Model):
    # The producer's id is the primary key: a second delivery of the same transaction
    # can never become a second row.
    id = models.UUIDField(primary_key=True)
    reference = models.CharField(max_length=255, blank=True, default="")
    type = models.CharField(max_length=16, choices=TransactionType.choices)
    # Stored as sent (shape-checked only); the pipeline applies the currency's rules.
    amount = models.DecimalField(max_digits=24, decimal_places=6)
    currency = models.CharField(max_length=3)
    source_account = models.CharField(max_length=64, blank=True, default="")
    destination_account = models.CharField(max_length=64, blank=True, default="")
    description = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(null=True, blank=True, help_text="At the producer.")
    client_id = models.UUIDField(null=True, blank=True)
    correlation_id = models.CharField(max_length=128, blank=True, default="")

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RECEIVED)
    result = models.JSONField(null=True, blank=True)
    failure_reason = models.TextField(blank=True, default="")
    processed_at = models.DateTimeField(null=True, blank=True)
    # Which intake request inserted the row: after INSERT … ON CONFLICT DO NOTHING this
    # tells new ids from duplicates exactly, even when two requests race.
    intake_token = models.UUIDField(editable=False)
    received_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-received_at"]
        indexes = [
            models.Index(fields=["status", "updated_at"], name="received_status_updated"),
            # Reconciliation reads a day of processed ones by the producer's created_at;
            # partial, so that intake does not maintain it.
            models.Index(
                fields=["created_at"],
                condition=models.Q(status="processed"),
                name="received_processed_created",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=Status.values), name="received_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(type__in=TransactionType.values), name="received_type_valid"
            ),
            models.CheckConstraint(
                condition=~models.Q(status=Status.PROCESSED) | models.Q(result__isnull=False),
                name="received_processed_has_result",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.id} ({self.status})"


class EventKind(models.TextChoices):
    RECEIVED = "received"
    PROCESSING = "processing"
    DECIDED = "decided"
    FAILED = "failed"
    POSTED = "posted"
    WEBHOOK_ATTEMPT = "webhook_attempt"
    WEBHOOK_REDELIVERY = "webhook_redelivery"
    RESULT_RESENT = "result_resent"
    REVIEW_RESOLVED = "review_resolved"


class TransactionEvent(EventFields):
    """One change of a transaction, appended in the database transaction of the change.

    Append-only: the application never updates or deletes a row (``events.py`` only
    inserts; on PostgreSQL a trigger refuses UPDATE and DELETE). The other columns are
    ``bankflow.audit.EventFields``.
    """

    transaction = models.ForeignKey(
        ReceivedTransaction, on_delete=models.PROTECT, related_name="events"
    )
    kind = models.CharField(max_length=32, choices=EventKind.choices)

    class Meta(EventFields.Meta):
        indexes = [models.Index(fields=["transaction", "at", "id"], name="received_event_trail")]
