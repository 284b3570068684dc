from django.contrib import admin

from bankflow.admin import ReadOnlyAdmin
from consumer.ledger.models import Account, Entry


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    """The ledger is append-only and written by the pipeline alone."""

    list_display = ("code", "kind", "currency", "created_at")
    list_filter = ("kind", "currency")
    search_fields = ("code",)


@admin.register(Entry)
class EntryAdmin(ReadOnlyAdmin):
    list_display = ("id", "transaction_id", "leg", "account", "amount", "currency", "created_at")
    list_filter = ("leg", "currency")
    search_fields = ("transaction_id", "account__code")
    list_select_related = ("account",)
    show_full_result_count = False
