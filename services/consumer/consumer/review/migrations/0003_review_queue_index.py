"""A partial index for the review queue: only the rows held for review, oldest first.

The queue filters ``status = 'processed' AND result -> 'decision' = '"review"'`` and
orders by ``processed_at, id``; the index holds those few rows alone, so it costs the
pipeline's hot path (every other row) nothing. PostgreSQL only (the local SQLite mode
scans; its tables are small). The index lives on intake's table but is the review app's
concern, hence here and not in intake's migrations.
"""

from typing import Any

from django.db import migrations

NAME = "received_review_queue"
CREATE = f"""
CREATE INDEX IF NOT EXISTS {NAME} ON intake_receivedtransaction (processed_at, id)
WHERE status = 'processed' AND (result -> 'decision') = '"review"'::jsonb
"""


def create(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {NAME}")


class Migration(migrations.Migration):
    dependencies = [("review", "0002_reviewer_group")]

    operations = [migrations.RunPython(create, drop)]
