"""Settings helpers: one place that decides the embedded local defaults.

``bankflow.base_settings`` and each service's ``settings.py`` read the environment through
these, so that the local mode (no external server: SQLite, kombu's filesystem transport, an
in-process Redis stand-in) and the production mode (everything from the environment,
secrets required) behave the same way on both sides.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import environ
from kombu import Exchange, Queue

LOCAL = "local"
PRODUCTION = "production"


def repo_root() -> Path:
    """The repository root when running from a checkout (libs/bankflow/bankflow/conf.py)."""
    return Path(__file__).resolve().parents[3]


def make_env() -> environ.Env:
    return environ.Env()


def runtime_mode(env: environ.Env) -> str:
    mode = env.str("BANKFLOW_ENV", default=LOCAL)
    if mode not in (LOCAL, PRODUCTION):
        raise environ.ImproperlyConfigured(
            f"BANKFLOW_ENV must be '{LOCAL}' or '{PRODUCTION}', not {mode!r}"
        )
    return mode


def data_dir(env: environ.Env, *, local: bool) -> Path:
    """Where a process may write: .local/ in a checkout, the temp dir in a pod."""
    if not local:
        return Path(tempfile.gettempdir())
    path = Path(env.str("BANKFLOW_LOCAL_DIR", default=str(repo_root() / ".local")))
    path.mkdir(parents=True, exist_ok=True)
    return path


def required_or_local(env: environ.Env, name: str, *, local: bool, local_default: str) -> str:
    """A value that production must set explicitly and the local mode may default."""
    if local:
        return env.str(name, default=local_default)
    value = env.str(name, default="")
    if not value:
        raise environ.ImproperlyConfigured(f"{name} must be set when BANKFLOW_ENV=production")
    return value


def database(env: environ.Env, *, service: str, local: bool, data_dir: Path) -> dict[str, Any]:
    url = required_or_local(
        env, "DATABASE_URL", local=local, local_default=f"sqlite:///{data_dir / service}.sqlite3"
    )
    config: dict[str, Any] = environ.Env.db_url_config(url)
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # Several local processes share the file: WAL lets readers run beside one writer,
        # IMMEDIATE takes the write lock up front instead of failing half-way.
        config["OPTIONS"] = {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    else:
        config["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=600)
        config["CONN_HEALTH_CHECKS"] = True
    return config


def broker_transport_options(url: str, *, service: str, data_dir: Path) -> dict[str, Any]:
    if url.startswith("filesystem://"):
        folder = data_dir / "broker" / service
        for sub in ("queue", "processed", "control"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        return {
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"),
            # Exchange bindings; kombu's default is "control" in the working directory.
            "control_folder": str(folder / "control"),
            "store_processed": False,
            "polling_interval": 0.05,
        }
    if url.startswith(("amqp://", "amqps://", "pyamqp://")):
        return {"confirm_publish": True, "max_retries": 3}
    return {}


def celery_queues(service: str, queues: list[str]) -> tuple[Queue, ...]:
    """Durable queues on the service's own direct exchange, routed by their names."""
    exchange = Exchange(service, type="direct", durable=True)
    return tuple(Queue(name, exchange, routing_key=name, durable=True) for name in queues)


def celery_routes(routes: dict[str, str]) -> dict[str, dict[str, str]]:
    """Task name pattern -> queue, as CELERY_TASK_ROUTES wants it."""
    return {task: {"queue": q, "routing_key": q} for task, q in routes.items()}


def cache(redis_url: str) -> dict[str, Any]:
    if redis_url:
        return {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": redis_url,
            }
        }
    return {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


def static_root(env: environ.Env, *, service: str, local: bool, data_dir: Path) -> str:
    path = env.str("DJANGO_STATIC_ROOT", default=str(data_dir / "static" / service))
    if local:
        Path(path).mkdir(parents=True, exist_ok=True)  # WhiteNoise warns when it is absent
    return path


def secret(env: environ.Env, name: str, *, local: bool, local_default: str) -> str:
    """A secret: embedded default only in the local mode, never logged."""
    return required_or_local(env, name, local=local, local_default=local_default)


def token_list(value: str, *, name: str) -> list[str]:
    """A comma-separated list of tokens (``new,old`` while one rotates), blanks dropped.

    The first is the one a sender presents; a receiver accepts any of them.
    """
    tokens = [t.strip() for t in value.split(",") if t.strip()]
    if not tokens:
        raise environ.ImproperlyConfigured(f"{name} holds no token")
    return tokens


# The development-only webhook secret both sides embed in local mode (never in production).
LOCAL_WEBHOOK_SECRET = "whsec_bG9jYWwtb25seS13ZWJob29rLXNlY3JldC0zMmJ5dGVzISE="  # noqa: S105


def rest_framework(*, authentication: list[str]) -> dict[str, Any]:
    return {
        "DEFAULT_AUTHENTICATION_CLASSES": authentication,
        "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
        "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
        "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
        "EXCEPTION_HANDLER": "bankflow.api.exception_handler",
        "DEFAULT_SCHEMA_CLASS": "bankflow.schema.AutoSchema",
        "UNAUTHENTICATED_USER": None,
        "COERCE_DECIMAL_TO_STRING": True,
    }


def spectacular(*, title: str, description: str) -> dict[str, Any]:
    """drf-spectacular's settings: the API docs' assets served from our own static files
    (drf-spectacular-sidecar, pinned by the lock, so the docs work in an air-gapped cluster),
    and the error answers documented the same way on every operation (``bankflow.schema``).
    """
    return {
        "TITLE": title,
        "DESCRIPTION": description,
        "VERSION": "1.0.0",
        "SERVE_INCLUDE_SCHEMA": False,
        "COMPONENT_SPLIT_REQUEST": True,
        "SWAGGER_UI_DIST": "SIDECAR",
        "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
        "REDOC_DIST": "SIDECAR",
    }
