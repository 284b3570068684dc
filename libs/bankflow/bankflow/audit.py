"""Append-only audit trails: the pieces both services' event tables share.

Each service keeps its own ``TransactionEvent`` table (the services share no models); this
module gives them the database guard and the admin inline. The guard is a PostgreSQL
trigger that refuses UPDATE and DELETE on the table: it costs nothing on INSERT, and it
turns a bug (or a hand-written ``DELETE``) into an error instead of a silent gap in the
record. Elsewhere (SQLite in the embedded local mode) there is no guard; the application
never updates or deletes events in any case.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import migrations
from django.http import HttpRequest

GUARD_FUNCTION = "bankflow_append_only"

_FUNCTION_SQL = f"""
CREATE OR REPLACE FUNCTION {GUARD_FUNCTION}() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'table % is append-only (% refused)', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql
"""


def append_only(table: str) -> migrations.RunPython:
    """A migration operation that makes ``table`` append-only on PostgreSQL."""
    trigger = f'"{table}_append_only"'

    def forward(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        schema_editor.execute(_FUNCTION_SQL, params=None)  # its % are plpgsql's
        schema_editor.execute(
            f'CREATE TRIGGER {trigger} BEFORE UPDATE OR DELETE ON "{table}"'
            f" FOR EACH ROW EXECUTE FUNCTION {GUARD_FUNCTION}()"
        )

    def backward(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        schema_editor.execute(f'DROP TRIGGER IF EXISTS {trigger} ON "{table}"')

    return migrations.RunPython(forward, backward, elidable=False)


class EventInline(admin.TabularInline):
    """A transaction's events, oldest first, read-only."""

    extra = 0
    fields = ("at", "kind", "from_status", "to_status", "detail", "actor", "correlation_id")
    readonly_fields = fields
    ordering = ("at", "id")
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
