from django.contrib import admin

from bankflow.admin import ReadOnlyAdmin
from bankflow.audit import EventInline
from consumer.intake.models import ReceivedTransaction, TransactionEvent


class TransactionEventInline(EventInline):
    model = TransactionEvent


@admin.register(ReceivedTransaction)
class ReceivedTransactionAdmin(ReadOnlyAdmin):
    """Read-only: every change of state goes through the pipeline."""

    list_display = ("id", "type", "amount", "currency", "status", "decision", "received_at")
    list_filter = ("status", "type", "currency")
    search_fields = ("id", "reference", "correlation_id", "source_account", "destination_account")
    date_hierarchy = "received_at"
    show_full_result_count = False
    inlines = [TransactionEventInline]

    @admin.display(description="decision")
    def decision(self, obj: ReceivedTransaction) -> str:
        return (obj.result or {}).get("decision", "")
