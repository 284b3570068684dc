from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from bankflow.admin import ReadOnlyAdmin
from bankflow.audit import EventInline
from producer.transactions.models import (
    IdempotencyKey,
    OutboxMessage,
    Transaction,
    TransactionEvent,
    WebhookReceipt,
)


class OutboxInline(admin.TabularInline):
    model = OutboxMessage
    extra = 0
    fields = ("state", "attempts", "available_at", "sent_at", "last_error")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class TransactionEventInline(EventInline):
    model = TransactionEvent


@admin.register(Transaction)
class TransactionAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "client",
        "reference",
        "type",
        "amount",
        "currency",
        "status",
        "created_at",
    )
    list_filter = ("status", "type", "currency", "created_at", "client")
    search_fields = ("id", "reference", "source_account", "destination_account", "correlation_id")
    list_select_related = ("client",)
    date_hierarchy = "created_at"
    show_full_result_count = False  # COUNT(*) on a big table on every page load
    inlines = [TransactionEventInline, OutboxInline]


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    list_display = ("id", "transaction_id", "state", "attempts", "available_at", "sent_at")
    list_filter = ("state",)
    search_fields = ("transaction__id",)
    show_full_result_count = False


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(ReadOnlyAdmin):
    list_display = ("key", "client", "response_status", "created_at")
    search_fields = ("key",)
    list_select_related = ("client",)
    exclude = ("response_body",)


@admin.register(WebhookReceipt)
class WebhookReceiptAdmin(ReadOnlyAdmin):
    list_display = ("msg_id", "received_at", "applied", "ignored")
    search_fields = ("msg_id",)
