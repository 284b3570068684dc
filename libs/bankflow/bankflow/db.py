"""Bulk writes for the hot paths, built from the models' own metadata.

Django's ``bulk_update`` writes ``SET col = CASE WHEN id = … THEN … END`` and builds an
expression object per row and field to get there: in a profile of the consumer's batches it
was the largest single cost. ``update_rows`` says the same in one
``UPDATE … FROM unnest(…)`` with one array parameter per column, ``insert_new_rows`` inserts
the same way, and ``copy_rows`` inserts with PostgreSQL's COPY. Elsewhere
(SQLite in the embedded local mode) both fall back to the ORM. Table and column names come
from ``_meta`` and every value is a parameter: nothing from outside reaches the SQL text.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connections
from django.db.models import Field, Model

CHUNK = 1000


def _quote(name: object) -> str:
    text = str(name)
    return '"' + text.replace('"', '""') + '"'


def _fields(model: type[Model], names: Sequence[str]) -> list[Field[Any, Any]]:
    by_name = {f.name: f for f in model._meta.concrete_fields}
    return [by_name[name] for name in names]


def _arrays(
    columns: Sequence[Field[Any, Any]], objs: Sequence[Model], connection: Any
) -> tuple[str, list[list[Any]]]:
    """``unnest(%s::type[], …)`` and one list per column: a statement with one parameter
    per column whatever the number of rows (the driver's client-side binding parses the SQL
    text for placeholders on every call, which with a placeholder per value was more than
    half of the intake's CPU)."""
    arrays = ", ".join(f"%s::{c.db_type(connection)}[]" for c in columns)
    values = [
        [c.get_db_prep_save(getattr(obj, c.attname), connection) for obj in objs] for c in columns
    ]
    return f"unnest({arrays})", values


def update_rows(model: type[Model], objs: Sequence[Model], fields: Sequence[str]) -> int:
    """Write ``fields`` of each object to its row, in one statement per 1000 objects."""
    if not objs:
        return 0
    connection = connections["default"]
    if connection.vendor != "postgresql":
        return model._default_manager.bulk_update(objs, list(fields), batch_size=CHUNK)
    meta = model._meta
    pk = meta.pk
    assert pk is not None  # noqa: S101 - every concrete model has one
    columns = [pk, *_fields(model, fields)]
    names = ", ".join(_quote(c.column) for c in columns)
    sets = ", ".join(f"{_quote(c.column)} = v.{_quote(c.column)}" for c in columns[1:])
    where = f"t.{_quote(pk.column)} = v.{_quote(pk.column)}"
    updated = 0
    for start in range(0, len(objs), CHUNK):
        source, params = _arrays(columns, objs[start : start + CHUNK], connection)
        sql = (
            f"UPDATE {_quote(meta.db_table)} AS t SET {sets}"  # noqa: S608 - names from _meta
            f" FROM {source} AS v({names}) WHERE {where}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            updated += cursor.rowcount
    return updated


def copy_rows(model: type[Model], objs: Iterable[Model], fields: Sequence[str]) -> None:
    """Insert the objects' ``fields`` (the others take their database defaults, or NULL)
    with COPY; the caller's database transaction makes it atomic."""
    connection = connections["default"]
    meta = model._meta
    columns = _fields(model, fields)
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create(list(objs), batch_size=CHUNK)
        return
    names = ", ".join(_quote(c.column) for c in columns)
    # The driver's own COPY: wrap its errors as Django does for queries (IntegrityError, …).
    with (
        connection.wrap_database_errors,
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {_quote(meta.db_table)} ({names}) FROM STDIN") as copy,
    ):
        for obj in objs:
            copy.write_row(
                [c.get_db_prep_save(getattr(obj, c.attname), connection) for c in columns]
            )


def insert_new_rows(model: type[Model], objs: Sequence[Model], fields: Sequence[str]) -> set[Any]:
    """``INSERT … ON CONFLICT DO NOTHING RETURNING pk``, 1000 rows a statement: the primary
    keys this call inserted. A row whose key exists already, or that a concurrent statement
    inserts first, is left out, exactly."""
    if not objs:
        return set()
    connection = connections["default"]
    meta = model._meta
    pk = meta.pk
    assert pk is not None  # noqa: S101 - every concrete model has one
    columns = _fields(model, fields)
    names = ", ".join(_quote(c.column) for c in columns)
    inserted: set[Any] = set()
    for start in range(0, len(objs), CHUNK):
        chunk = objs[start : start + CHUNK]
        if connection.vendor == "postgresql":
            source, params = _arrays(columns, chunk, connection)
            rows = f"SELECT * FROM {source}"  # noqa: S608 - names from _meta
        else:  # SQLite (the embedded local mode) has no unnest: a VALUES row per object
            rows = "VALUES " + ", ".join(
                ["(" + ", ".join(["%s"] * len(columns)) + ")"] * len(chunk)
            )
            params = [
                c.get_db_prep_save(getattr(o, c.attname), connection)
                for o in chunk
                for c in columns
            ]
        sql = (
            f"INSERT INTO {_quote(meta.db_table)} ({names}) {rows}"
            f" ON CONFLICT DO NOTHING RETURNING {_quote(pk.column)}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            inserted.update(pk.to_python(value) for (value,) in cursor.fetchall())
    return inserted
