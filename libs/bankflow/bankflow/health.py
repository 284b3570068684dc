"""Liveness and readiness views shared by both services.

``/healthz`` touches nothing: it answers while the process can serve. ``/readyz`` checks
the database and the broker (and Redis when one is configured) with short timeouts and
names what failed; error texts are reduced to the exception's class so that no URL with a
password ever reaches a response.

Each service says which checks it *needs* (docs/api.md, "/readyz"): a failed needed check
answers 503 and takes the pod out of its Service; any other failed check is reported in
the body ("degraded") while the answer stays 200. The producer needs only its database,
because its outbox holds the work through a broker outage; the consumer needs its
database and its broker.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.conf import settings
from django.db import connections
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from kombu import Connection

CHECK_TIMEOUT_SECONDS = 2


def check_database() -> None:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 1")


def check_broker() -> None:
    with Connection(
        settings.CELERY_BROKER_URL,
        transport_options=getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}),
        connect_timeout=CHECK_TIMEOUT_SECONDS,
    ) as conn:
        conn.ensure_connection(max_retries=1, timeout=CHECK_TIMEOUT_SECONDS)


def check_redis() -> None:
    from bankflow.redis import get_redis

    get_redis().ping()


def readiness_checks() -> dict[str, Callable[[], None]]:
    checks: dict[str, Callable[[], None]] = {"database": check_database, "broker": check_broker}
    if getattr(settings, "REDIS_URL", ""):
        checks["redis"] = check_redis
    return checks


@never_cache
@require_GET
def healthz(_request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def readiness(*, required: Iterable[str]) -> tuple[int, dict[str, object]]:
    """Run every check; 503 only when one of ``required`` failed."""
    needed = sorted(set(required))
    results: dict[str, str] = {}
    for name, check in readiness_checks().items():
        try:
            check()
        except Exception as exc:
            results[name] = f"error: {type(exc).__name__}"
        else:
            results[name] = "ok"
    failed = sorted(name for name, state in results.items() if state != "ok")
    blocking = [name for name in failed if name in needed]
    status = "unavailable" if blocking else "degraded" if failed else "ok"
    body: dict[str, object] = {
        "status": status,
        "checks": results,
        "failed": failed,
        "required": needed,
    }
    return (503 if blocking else 200), body


def readyz_view(*, required: Iterable[str]) -> Callable[[HttpRequest], JsonResponse]:
    """The ``/readyz`` view of a service that needs the ``required`` checks."""
    needed = tuple(required)
    unknown = set(needed) - {"database", "broker", "redis"}
    if unknown:
        raise ValueError(f"unknown readiness checks: {sorted(unknown)}")

    @never_cache
    @require_GET
    def readyz(_request: HttpRequest) -> JsonResponse:
        status, body = readiness(required=needed)
        return JsonResponse(body, status=status)

    return readyz
