"""Workers keep their database connections across tasks (a new one costs ~10 ms)."""

from __future__ import annotations

import pytest
from celery.fixups.django import DjangoWorkerFixup
from django.db import connection

from bankflow import celery as bankflow_celery
from producer.celery import app

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql" or not connection.settings_dict["CONN_MAX_AGE"]:
        pytest.skip("persistent connections are a PostgreSQL setting (CONN_MAX_AGE)")


def raw_connection():
    connection.ensure_connection()
    return connection.connection


def test_celerys_django_fixup_keeps_the_connection_around_tasks():
    before = raw_connection()
    fixup = DjangoWorkerFixup(app)

    for _ in range(10):  # prerun + postrun of five tasks
        fixup.close_database()

    assert raw_connection() is before


def test_a_healthy_connection_survives_the_task_boundary_and_a_broken_one_is_replaced():
    before = raw_connection()

    bankflow_celery._close_old_connections(None)
    assert raw_connection() is before

    before.close()  # the server went away under us ...
    connection.errors_occurred = True  # ... and the next query failed
    bankflow_celery._close_old_connections(None)
    assert raw_connection() is not before
