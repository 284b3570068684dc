"""Append-only audit trails: the pieces both services' event tables share.

Each service keeps its own ``TransactionEvent`` table (the services share no models); this
module gives them its columns (``EventFields``), the writer (``Trail``: ``event`` builds an
unsaved row, ``record`` inserts one, ``record_many`` a batch in one COPY or multi-row
INSERT, so a batch of changes pays one statement for its events), the actor names, the
database guard and the admin inline. Call the writer inside the database transaction that
makes the change: the event commits or rolls back with it. The guard is a PostgreSQL
trigger that refuses UPDATE and DELETE on the table: it costs nothing on INSERT, and it
turns a bug (or a hand-written ``DELETE``) into an error instead of a silent gap in the
record. Elsewhere (SQLite in the embedded local mode) there is no guard; the application
never updates or deletes events in any case.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Generic, TypeVar

from django.contrib import admin
from django.db import migrations, models
from django.http import HttpRequest
from django.utils import timezone

from bankflow.db import copy_rows

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


class EventFields(models.Model):
    """The columns of an event table; each service adds ``transaction`` (its FK) and
    ``kind`` (its choices), and names its index."""

    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField(default=timezone.now)
    from_status = models.CharField(max_length=16, null=True, blank=True)  # noqa: DJ001 - none before the first
    to_status = models.CharField(max_length=16)
    detail = models.JSONField(default=dict, blank=True)
    correlation_id = models.CharField(max_length=128, blank=True, default="")
    # Who asked, for operator actions (the ``*_actor`` names below); empty for the system.
    actor = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        abstract = True
        ordering = ["at", "id"]

    def __str__(self) -> str:
        transaction_id = getattr(self, "transaction_id", None)
        kind = getattr(self, "kind", "")
        return f"{transaction_id} {kind} {self.from_status}->{self.to_status}"


EVENT_COLUMNS = [
    "transaction",
    "at",
    "kind",
    "from_status",
    "to_status",
    "detail",
    "correlation_id",
    "actor",
]

E = TypeVar("E", bound=models.Model)


class Trail(Generic[E]):
    """The writer of one event table. Nothing here updates or deletes an event (and on
    PostgreSQL the ``append_only`` trigger refuses both)."""

    def __init__(self, model: type[E]) -> None:
        self.model = model

    def event(
        self,
        transaction: Any,
        kind: str,
        *,
        previous: str | None,
        new: str,
        detail: dict[str, Any] | None = None,
        actor: str = "",
        at: datetime | None = None,
    ) -> E:
        """An unsaved event for ``record_many``; the correlation id is the transaction's."""
        return self.model(
            transaction_id=transaction.pk,
            at=at or timezone.now(),
            kind=str(kind),
            from_status=None if previous is None else str(previous),
            to_status=str(new),
            detail=detail or {},
            correlation_id=transaction.correlation_id or "",
            actor=actor,
        )

    def record(self, transaction: Any, kind: str, **fields: Any) -> E:
        """Append one event (one INSERT); ``fields`` as ``event``'s."""
        row = self.event(transaction, kind, **fields)
        row.save(force_insert=True)
        return row

    def record_many(self, rows: Iterable[E | Mapping[str, Any]]) -> int:
        """Append a batch of events in one statement; how many.

        Each row is an event built with ``event``, or a mapping of ``event``'s arguments
        (``{"transaction": tx, "kind": …, "previous": …, "new": …, "detail": …}``).
        """
        built = [row if isinstance(row, models.Model) else self.event(**row) for row in rows]
        if built:
            copy_rows(self.model, built, EVENT_COLUMNS)
        return len(built)


def client_actor(client: Any) -> str:
    return f"client:{client.pk}"


def staff_actor(user: Any) -> str:
    return f"staff:{user.get_username()}"


def reviewer_actor(name: str) -> str:
    return f"reviewer:{name}"


def command_actor(name: str) -> str:
    return f"command:{name}"
