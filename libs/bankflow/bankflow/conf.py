"""Settings helpers: one place that decides the embedded local defaults.

Every service's ``settings.py`` reads its environment through these helpers, so that the
local mode (no external server: SQLite, kombu's filesystem transport, an in-process Redis
stand-in) and the production mode (everything from the environment, secrets required)
behave the same way on both sides.
"""

from __future__ import annotations

import os
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
        config["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
        config["CONN_HEALTH_CHECKS"] = True
    return config


def broker_url(env: environ.Env, *, local: bool) -> str:
    return required_or_local(env, "CELERY_BROKER_URL", local=local, local_default="filesystem://")


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


def celery_settings(
    env: environ.Env,
    *,
    service: str,
    local: bool,
    data_dir: Path,
    queues: list[str],
    routes: dict[str, str],
) -> dict[str, Any]:
    """The CELERY_* settings every worker shares (DESIGN.md, task conventions)."""
    url = broker_url(env, local=local)
    exchange = Exchange(service, type="direct", durable=True)
    filesystem = url.startswith("filesystem://")
    return {
        "CELERY_BROKER_URL": url,
        "CELERY_BROKER_TRANSPORT_OPTIONS": broker_transport_options(
            url, service=service, data_dir=data_dir
        ),
        "CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP": True,
        "CELERY_TASK_QUEUES": tuple(
            Queue(name, exchange, routing_key=name, durable=True) for name in queues
        ),
        "CELERY_TASK_DEFAULT_QUEUE": queues[0],
        "CELERY_TASK_DEFAULT_EXCHANGE": service,
        "CELERY_TASK_DEFAULT_ROUTING_KEY": queues[0],
        "CELERY_TASK_CREATE_MISSING_QUEUES": False,
        "CELERY_TASK_ROUTES": {task: {"queue": q, "routing_key": q} for task, q in routes.items()},
        "CELERY_TASK_SERIALIZER": "json",
        "CELERY_RESULT_SERIALIZER": "json",
        "CELERY_ACCEPT_CONTENT": ["json"],
        "CELERY_TASK_IGNORE_RESULT": True,
        "CELERY_RESULT_BACKEND": None,
        "CELERY_TASK_ACKS_LATE": True,
        "CELERY_TASK_REJECT_ON_WORKER_LOST": True,
        "CELERY_WORKER_PREFETCH_MULTIPLIER": 1,
        "CELERY_TASK_TIME_LIMIT": env.int("CELERY_TASK_TIME_LIMIT", default=120),
        "CELERY_TASK_SOFT_TIME_LIMIT": env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=100),
        "CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT": env.float(
            "CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT", default=20.0
        ),
        "CELERY_WORKER_ENABLE_SOFT_SHUTDOWN_ON_IDLE": True,
        "CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS": True,
        "CELERY_WORKER_HIJACK_ROOT_LOGGER": False,
        "CELERY_WORKER_CONCURRENCY": env.int("CELERY_WORKER_CONCURRENCY", default=2),
        # The filesystem transport has no fanout exchange: remote control cannot work there.
        "CELERY_WORKER_ENABLE_REMOTE_CONTROL": not filesystem,
        "CELERY_TASK_ALWAYS_EAGER": env.bool("CELERY_TASK_ALWAYS_EAGER", default=False),
        "CELERY_BEAT_SCHEDULE_FILENAME": str(data_dir / f"{service}-celerybeat-schedule"),
    }


def cache(env: environ.Env) -> dict[str, Any]:
    url = env.str("REDIS_URL", default="")
    if url:
        return {
            "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
        }
    return {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


def secret(env: environ.Env, name: str, *, local: bool, local_default: str) -> str:
    """A secret: embedded default only in the local mode, never logged."""
    return required_or_local(env, name, local=local, local_default=local_default)


# The development-only webhook secret both sides embed in local mode (never in production).
LOCAL_WEBHOOK_SECRET = "whsec_bG9jYWwtb25seS13ZWJob29rLXNlY3JldC0zMmJ5dGVzISE="  # noqa: S105


def common_django(
    env: environ.Env, *, service: str, local: bool, data_dir: Path, apps: list[str]
) -> dict[str, Any]:
    """Django settings both services share; each settings.py names its own ``apps`` and
    adds its API and pipeline settings."""
    debug = env.bool("DJANGO_DEBUG", default=False)
    static_root = env.str("DJANGO_STATIC_ROOT", default=str(data_dir / "static" / service))
    if local:
        Path(static_root).mkdir(parents=True, exist_ok=True)  # WhiteNoise warns when absent
    secure_transport = env.bool("DJANGO_SECURE", default=not local)
    return {
        "DEBUG": debug,
        "SECRET_KEY": secret(
            env, "DJANGO_SECRET_KEY", local=local, local_default=f"local-only-insecure-{service}"
        ),
        "ALLOWED_HOSTS": env.list(
            "DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"]
        ),
        "CSRF_TRUSTED_ORIGINS": env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[]),
        "DATABASES": {"default": database(env, service=service, local=local, data_dir=data_dir)},
        "CACHES": cache(env),
        "REDIS_URL": env.str("REDIS_URL", default=""),
        "INSTALLED_APPS": [
            "django.contrib.admin",
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "django.contrib.messages",
            "django.contrib.staticfiles",
            "django_prometheus",
            "rest_framework",
            "drf_spectacular",
            *apps,
        ],
        "MIDDLEWARE": [
            "django_prometheus.middleware.PrometheusBeforeMiddleware",
            "bankflow.logging.CorrelationIdMiddleware",
            "django.middleware.security.SecurityMiddleware",
            "whitenoise.middleware.WhiteNoiseMiddleware",
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "django.contrib.messages.middleware.MessageMiddleware",
            "django.middleware.clickjacking.XFrameOptionsMiddleware",
            "django_prometheus.middleware.PrometheusAfterMiddleware",
        ],
        "ROOT_URLCONF": f"{service}.urls",
        "WSGI_APPLICATION": f"{service}.wsgi.application",
        "TEMPLATES": [
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "DIRS": [],
                "APP_DIRS": True,
                "OPTIONS": {
                    "context_processors": [
                        "django.template.context_processors.request",
                        "django.contrib.auth.context_processors.auth",
                        "django.contrib.messages.context_processors.messages",
                    ]
                },
            }
        ],
        "DEFAULT_AUTO_FIELD": "django.db.models.BigAutoField",
        "USE_TZ": True,
        "TIME_ZONE": "UTC",
        "LANGUAGE_CODE": "en-us",
        "USE_I18N": False,
        "STATIC_URL": "static/",
        "STATIC_ROOT": static_root,
        # WhiteNoise serves the admin's and the API docs' static files: from STATIC_ROOT
        # with its manifest (collectstatic at image build, which sets DJANGO_STATIC_MANIFEST
        # in local mode so that no secret is needed) in production, straight from the apps
        # locally.
        "STORAGES": {
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {
                "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
                if env.bool("DJANGO_STATIC_MANIFEST", default=not local)
                else "django.contrib.staticfiles.storage.StaticFilesStorage"
            },
        },
        "WHITENOISE_USE_FINDERS": local,
        # Security: on by default outside local mode; TLS terminates at the ingress, so
        # HSTS and secure cookies are on while the redirect stays with the ingress.
        "SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https"),
        "SECURE_CONTENT_TYPE_NOSNIFF": True,
        "SECURE_REFERRER_POLICY": "same-origin",
        "SECURE_CROSS_ORIGIN_OPENER_POLICY": "same-origin",
        "SECURE_HSTS_SECONDS": env.int("DJANGO_HSTS_SECONDS", default=0 if local else 31536000),
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": not local,
        "SECURE_SSL_REDIRECT": env.bool("DJANGO_SSL_REDIRECT", default=False),
        "SESSION_COOKIE_SECURE": secure_transport,
        "CSRF_COOKIE_SECURE": secure_transport,
        "SESSION_COOKIE_HTTPONLY": True,
        "X_FRAME_OPTIONS": "DENY",
        "DATA_UPLOAD_MAX_MEMORY_SIZE": 5 * 1024 * 1024,
        "PROMETHEUS_METRIC_NAMESPACE": "",
        "LOG_LEVEL": env.str("LOG_LEVEL", default="INFO"),
        "LOG_FORMAT": env.str("LOG_FORMAT", default="json"),
    }


def rest_framework(*, authentication: list[str]) -> dict[str, Any]:
    return {
        "DEFAULT_AUTHENTICATION_CLASSES": authentication,
        "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
        "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
        "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
        "EXCEPTION_HANDLER": "bankflow.api.exception_handler",
        "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
        "UNAUTHENTICATED_USER": None,
        "COERCE_DECIMAL_TO_STRING": True,
    }


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").lower() in ("1", "true", "yes", "on")
