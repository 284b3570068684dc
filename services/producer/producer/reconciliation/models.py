"""Each reconciliation run, and what it found per (day, currency)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class RunOutcome(models.TextChoices):
    MATCHED = "matched"
    MISMATCHED = "mismatched"
    ERROR = "error"  # the consumer could not be asked: nothing was compared


class ReconciliationRun(models.Model):
    started_at = models.DateTimeField(default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Who ran it: "command:reconcile", "beat".
    trigger = models.CharField(max_length=64, blank=True, default="")
    days = models.JSONField(default=list, help_text="The UTC days compared (YYYY-MM-DD).")
    # What was created from here on was left out: work in flight is not a mismatch.
    created_before = models.DateTimeField()
    outcome = models.CharField(max_length=16, choices=RunOutcome.choices)
    matched = models.PositiveIntegerField(default=0)
    mismatched = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"reconciliation {self.started_at:%Y-%m-%d %H:%M} {self.outcome}"


class ReconciliationLine(models.Model):
    """One (day, currency) of a run: both sides' count and sums, the ids on one side only
    (at most 100 per side)."""

    run = models.ForeignKey(ReconciliationRun, on_delete=models.CASCADE, related_name="lines")
    day = models.DateField()
    currency = models.CharField(max_length=3)
    matched = models.BooleanField()
    producer_count = models.PositiveIntegerField()
    consumer_count = models.PositiveIntegerField()
    producer_amount = models.DecimalField(max_digits=30, decimal_places=6)
    consumer_amount = models.DecimalField(max_digits=30, decimal_places=6)
    producer_fee = models.DecimalField(max_digits=30, decimal_places=6)
    consumer_fee = models.DecimalField(max_digits=30, decimal_places=6)
    only_producer = models.JSONField(default=list, blank=True)
    only_consumer = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["day", "currency"]
        constraints = [
            models.UniqueConstraint(fields=["run", "day", "currency"], name="recon_line_once"),
        ]

    def __str__(self) -> str:
        state = "matched" if self.matched else "MISMATCHED"
        return f"{self.day} {self.currency} {state}"
