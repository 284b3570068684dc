"""structlog JSON logs with one correlation id from request to webhook.

``configure()`` makes every line on stdout one JSON object: structlog's own events are
rendered and written directly (no stdlib LogRecord, handler or formatter in between: a
third of the cost of a line), and the standard library's records (Django, gunicorn,
Celery) go through structlog's formatter with the same processors. The correlation id
lives in a contextvar: the middleware binds it per request, the Celery signals in
``bankflow.celery`` carry it in task headers, and outgoing HTTP calls send it in
``X-Correlation-ID``. IBANs are masked and secret-looking keys redacted on every line.
"""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterator, MutableMapping
from contextlib import contextmanager
from functools import lru_cache
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


# The shortest text the IBAN pattern can match.
_IBAN_MIN_LENGTH = 14


def mask_iban(value: str) -> str:
    """``DE89370400440532013000`` -> ``DE89…3000``."""
    if len(value) < _IBAN_MIN_LENGTH:
        return value
    return _IBAN.sub(lambda m: f"{m.group(1)}…{m.group(3)}", value)


@lru_cache(maxsize=4096)
def _secret_key(key: str) -> bool:
    return bool(_SECRET_KEYS.search(key))


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return mask_iban(value)
    if isinstance(value, dict):
        return {k: ("[redacted]" if _secret_key(str(k)) else _scrub(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    return value


# Keys whose values this code base fills with ids, names and times, never with client
# text: masking is skipped for them (it ran a regular expression over every UUID).
_SAFE_KEYS = frozenset({"event", "level", "timestamp", "service", "transaction_id", "task_id"})


def scrub_processor(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key, value in event_dict.items():
        if key in _SAFE_KEYS:
            continue
        if _secret_key(key):
            event_dict[key] = "[redacted]"
        elif isinstance(value, str):
            if len(value) >= _IBAN_MIN_LENGTH:
                event_dict[key] = mask_iban(value)
        elif isinstance(value, dict | list | tuple):
            event_dict[key] = _scrub(value)
    return event_dict


def configure(*, service: str, level: str = "INFO", fmt: str = "json") -> dict[str, Any]:
    """Configure structlog and return the LOGGING dict for Django's settings."""

    def add_service(_l: Any, _m: str, ed: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        ed.setdefault("service", service)
        return ed

    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
        scrub_processor,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[_add_logger_name, *shared, add_service, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
        ),
        logger_factory=_StdoutLoggerFactory(),
        cache_logger_on_first_use=True,
    )
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
                "foreign_pre_chain": [structlog.stdlib.add_logger_name, *shared],
            }
        },
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "formatter": "structured",
                "stream": "ext://sys.stdout",
            }
        },
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


class _NamedWriteLogger(structlog.WriteLogger):
    """structlog's WriteLogger, on whatever sys.stdout is when it is first used, with the
    name ``get_logger`` gave it."""

    def __init__(self, name: str) -> None:
        super().__init__(sys.stdout)
        self.name = name


class _StdoutLoggerFactory:
    def __call__(self, *args: Any) -> _NamedWriteLogger:
        return _NamedWriteLogger(str(args[0]) if args else "")


def _add_logger_name(
    logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    event_dict.setdefault("logger", getattr(logger, "name", ""))
    return event_dict


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
        self.log = get_logger("bankflow.request")

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
    """A structlog logger whose lines say ``"logger": name``."""
    return structlog.get_logger(name)
