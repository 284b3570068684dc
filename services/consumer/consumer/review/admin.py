from django.contrib import admin

from bankflow.admin import ReadOnlyAdmin
from consumer.review.models import ReviewDecision


@admin.register(ReviewDecision)
class ReviewDecisionAdmin(ReadOnlyAdmin):
    """Read-only: decisions are made in the console (or the API), never edited."""

    list_display = ("transaction", "decision", "reviewer", "fee", "decided_at")
    list_filter = ("decision",)
    search_fields = ("transaction__id", "reviewer")
