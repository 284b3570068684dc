from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from bankflow.admin import ReadOnlyAdmin
from consumer.intake import events
from consumer.webhooks.models import WebhookAttempt, WebhookMessage
from consumer.webhooks.services import webhook_messages_redeliver


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    fields = ("created_at", "outcome", "status_code", "duration_ms", "error")
    readonly_fields = fields
    extra = 0
    can_delete = False
    max_num = 0  # no adding from the admin


@admin.register(WebhookMessage)
class WebhookMessageAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "state",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "delivered_at",
        "created_at",
    )
    list_filter = ("state",)
    search_fields = ("id", "correlation_id")
    readonly_fields = (
        "id",
        "state",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "last_error",
        "delivered_at",
        "correlation_id",
        "payload",
        "created_at",
        "updated_at",
    )
    exclude = ("transactions",)
    inlines = (WebhookAttemptInline,)
    actions = ("redeliver",)
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Redeliver the selected dead or retrying messages now")
    def redeliver(self, request: HttpRequest, queryset: QuerySet[WebhookMessage]) -> None:
        ids = webhook_messages_redeliver(
            message_ids=queryset.values_list("id", flat=True),
            actor=events.staff_actor(request.user),
        )
        skipped = queryset.count() - len(ids)
        self.message_user(request, f"{len(ids)} message(s) scheduled for delivery.")
        if skipped:
            self.message_user(
                request, f"{skipped} delivered or pending message(s) left alone.", messages.WARNING
            )


@admin.register(WebhookAttempt)
class WebhookAttemptAdmin(ReadOnlyAdmin):
    list_display = ("id", "message", "outcome", "status_code", "duration_ms", "created_at")
    list_filter = ("outcome",)
    search_fields = ("message__id",)
    show_full_result_count = False
