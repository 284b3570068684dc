"""Result messages to the producer and every attempt to deliver them."""

from __future__ import annotations

from django.db import models

from consumer.intake.models import ReceivedTransaction


class MessageState(models.TextChoices):
    PENDING = "pending"
    RETRYING = "retrying"
    DELIVERED = "delivered"
    DEAD = "dead"


DELIVERABLE_STATES = (MessageState.PENDING, MessageState.RETRYING)


class WebhookMessage(models.Model):
    # msg_<uuid>: the stable webhook-id the producer deduplicates on.
    id = models.CharField(max_length=64, primary_key=True)
    payload = models.JSONField()
    state = models.CharField(
        max_length=16, choices=MessageState.choices, default=MessageState.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    delivered_at = models.DateTimeField(null=True, blank=True)
    correlation_id = models.CharField(max_length=128, blank=True, default="")
    transactions = models.ManyToManyField(ReceivedTransaction, related_name="webhook_messages")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="webhook_state_due")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(state__in=MessageState.values), name="webhook_state_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.id} ({self.state})"

    @property
    def result_count(self) -> int:
        return len(self.payload.get("results", []))


class WebhookAttempt(models.Model):
    message = models.ForeignKey(
        WebhookMessage, on_delete=models.CASCADE, related_name="attempt_log"
    )
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=16)  # delivered | retry | dead
    duration_ms = models.PositiveIntegerField()
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.message_id} {self.outcome} {self.status_code or '-'}"
