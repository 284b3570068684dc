"""Reviewers' decisions on transactions the rules held for review: one per transaction."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from consumer.intake.models import ReceivedTransaction


class Decision(models.TextChoices):
    APPROVED = "approved"
    DECLINED = "declined"


class ReviewDecision(models.Model):
    # The transaction is the primary key: a second decision can never become a second row,
    # whatever two reviewers (or a reviewer and the API) do at the same moment.
    transaction = models.OneToOneField(
        ReceivedTransaction, on_delete=models.PROTECT, primary_key=True, related_name="review"
    )
    decision = models.CharField(max_length=16, choices=Decision.choices)
    note = models.TextField(blank=True, default="")
    # Who decided: the staff user's name in the console, the caller's in the API.
    reviewer = models.CharField(max_length=150)
    reviewer_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="review_decisions",
    )
    initial_risk_score = models.PositiveSmallIntegerField()
    fee = models.DecimalField(max_digits=24, decimal_places=6)
    decided_at = models.DateTimeField()

    class Meta:
        ordering = ["-decided_at"]
        permissions = [
            ("decide_review", "Can approve or decline transactions held for review"),
            ("redeliver_webhooks", "Can send dead or retrying webhook messages again"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(decision__in=Decision.values), name="review_decision_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.transaction_id} {self.decision} by {self.reviewer}"
