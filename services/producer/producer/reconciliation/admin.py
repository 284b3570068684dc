from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from bankflow.admin import ReadOnlyAdmin
from producer.reconciliation.models import ReconciliationLine, ReconciliationRun


class LineInline(admin.TabularInline):
    model = ReconciliationLine
    extra = 0
    fields = (
        "day",
        "currency",
        "matched",
        "producer_count",
        "consumer_count",
        "producer_amount",
        "consumer_amount",
        "producer_fee",
        "consumer_fee",
        "only_producer",
        "only_consumer",
    )
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ReconciliationRun)
class ReconciliationRunAdmin(ReadOnlyAdmin):
    list_display = ("started_at", "trigger", "outcome", "matched", "mismatched", "days")
    list_filter = ("outcome", "trigger")
    date_hierarchy = "started_at"
    inlines = [LineInline]
