"""structlog JSON logs with one correlation id from request to webhook.

``configure()`` routes the standard library's records (Django, gunicorn, Celery) through
structlog's formatter so that every line on stdout is one JSON object. The correlation id
lives in a contextvar: the middleware binds it per request, the Celery signals in
``bankflow.celery`` carry it in task headers, and outgoing HTTP calls send it in
``X-Correlation-ID``. IBANs are masked and secret-looking keys redacted on every line.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

import structlog
from structlog.contextvars import bind_contextvars, bound_contextvars, get_contextvars

CORRELATION_HEADER = "X-Correlation-ID"
_CORRELATION_META = "HTTP_X_CORRELATION_ID"
_VALID_CORRELATION = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

# Two letters, two check digits, 10-30 alphanumerics: loose on purpose, masking a false
# positive costs nothing, missing a real IBAN leaks one.
_IBAN = re.compile(r"\b([A-Z]{2}\d{2})([A-Z0-9]{6,26})([A-Z0-9]{4})\b")
_SECRET_KEYS = re.compile(
    r"(authorization|api[_-]?key|token|secret|password|signature|cookie)", re.IGNORECASE
)


def mask_iban(value: str) -> str:
    """``DE89370400440532013000`` -> ``DE89…3000``."""
    return _IBAN.sub(lambda m: f"{m.group(1)}…{m.group(3)}", value)


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return mask_iban(value)
    if isinstance(value, dict):
        return {
            k: ("[redacted]" if _SECRET_KEYS.search(str(k)) else _scrub(v))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    return value


def scrub_processor(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        if _SECRET_KEYS.search(key) and key != "event":
            event_dict[key] = "[redacted]"
        else:
            event_dict[key] = _scrub(event_dict[key])
    return event_dict


def configure(*, service: str, level: str = "INFO", fmt: str = "json") -> dict[str, Any]:
    """Configure structlog and return the LOGGING dict for Django's settings."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
        scrub_processor,
    ]
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )

    def add_service(_l: Any, _m: str, ed: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        ed.setdefault("service", service)
        return ed

    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "structured": {
                "()": structlog.stdlib.ProcessorFormatter,
                "processors": [
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    add_service,
                    renderer,
                ],
                "foreign_pre_chain": shared,
            }
        },
        "handlers": {"stdout": {"class": "logging.StreamHandler", "formatter": "structured"}},
        "root": {"handlers": ["stdout"], "level": level},
        "loggers": {
            "django.server": {"level": "WARNING"},
            "django.request": {"level": "ERROR"},
            "gunicorn.access": {"level": "WARNING"},
            "celery.worker.strategy": {"level": "WARNING"},
            "celery.app.trace": {"level": "WARNING"},
            "kombu": {"level": "WARNING"},
            "amqp": {"level": "WARNING"},
            "urllib3": {"level": "WARNING"},
        },
    }


def new_correlation_id() -> str:
    return uuid.uuid4().hex


def valid_correlation_id(value: str | None) -> str | None:
    if value and _VALID_CORRELATION.match(value):
        return value
    return None


def current_correlation_id() -> str | None:
    value = get_contextvars().get("correlation_id")
    return str(value) if value else None


@contextmanager
def correlation(correlation_id: str | None, **extra: Any) -> Iterator[str]:
    """Bind a correlation id (a new one if none) and extra keys for the block."""
    cid = valid_correlation_id(correlation_id) or new_correlation_id()
    with bound_contextvars(correlation_id=cid, **extra):
        yield cid


def outgoing_headers() -> dict[str, str]:
    cid = current_correlation_id()
    return {CORRELATION_HEADER: cid} if cid else {}


class CorrelationIdMiddleware:
    """Binds the request's correlation id (or a new one) and logs one line per request."""

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response
        self.log = structlog.get_logger("bankflow.request")

    def __call__(self, request: Any) -> Any:
        cid = valid_correlation_id(request.META.get(_CORRELATION_META)) or new_correlation_id()
        structlog.contextvars.clear_contextvars()
        bind_contextvars(correlation_id=cid)
        request.correlation_id = cid
        started = time.perf_counter()
        response = self.get_response(request)
        response[CORRELATION_HEADER] = cid
        path = request.path
        if path not in ("/healthz", "/readyz", "/metrics"):
            self.log.info(
                "http_request",
                method=request.method,
                path=path,
                status=response.status_code,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
            )
        structlog.contextvars.clear_contextvars()
        return response


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
