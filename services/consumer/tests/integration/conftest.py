"""Integration tests run against the real servers that scripts.testenv found; each is
skipped when its server is absent (embedded defaults: SQLite, fakeredis, filesystem)."""

from __future__ import annotations

import pytest
from django.conf import settings

postgres = pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
    reason="needs PostgreSQL (DATABASE_URL); row locks are what is under test",
)
rabbitmq = pytest.mark.skipif(
    not str(settings.CELERY_BROKER_URL).startswith(("amqp://", "pyamqp://")),
    reason="needs RabbitMQ (CELERY_BROKER_URL)",
)
redis = pytest.mark.skipif(not settings.REDIS_URL, reason="needs Redis (REDIS_URL)")


def pytest_collection_modifyitems(items):
    for item in items:
        if "/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)
