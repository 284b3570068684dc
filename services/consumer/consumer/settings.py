"""Consumer settings: everything from the environment (README, "Configuration").

BANKFLOW_ENV=local (the default) embeds what a laptop needs: SQLite and the broker's
filesystem transport under .local/, an in-process Redis stand-in, and development-only
secrets. BANKFLOW_ENV=production requires every URL and secret to be set.
"""

from __future__ import annotations

from bankflow import conf
from bankflow.logging import configure as configure_logging

SERVICE = "consumer"
env = conf.make_env()
LOCAL = conf.runtime_mode(env) == conf.LOCAL
DATA_DIR = conf.local_dir(env) if LOCAL else conf.repo_root()

_common = conf.common_django(env, service=SERVICE, local=LOCAL, data_dir=DATA_DIR)
globals().update(_common)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_prometheus",
    "rest_framework",
    "drf_spectacular",
    "consumer.intake",
    "consumer.processing",
    "consumer.ledger",
    "consumer.webhooks",
]

MIDDLEWARE = [
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
]

ROOT_URLCONF = "consumer.urls"
WSGI_APPLICATION = "consumer.wsgi.application"

TEMPLATES = [
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
]

REST_FRAMEWORK = conf.rest_framework(
    authentication=["consumer.intake.authentication.ServiceTokenAuthentication"]
)
SPECTACULAR_SETTINGS = {
    "TITLE": "bankflow consumer API",
    "DESCRIPTION": "The processing engine: intake, risk scoring, fees, the ledger and webhooks.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- the pipeline ---------------------------------------------------------------------
CONSUMER_API_TOKEN = conf.secret(
    env, "CONSUMER_API_TOKEN", local=LOCAL, local_default="local-only-consumer-token"
)
PRODUCER_WEBHOOK_URL = env.str(
    "PRODUCER_WEBHOOK_URL", default="http://127.0.0.1:8000/api/v1/webhooks/consumer/"
)
# The secret this side signs with; the producer accepts it among its WEBHOOK_SECRETS.
WEBHOOK_SECRET = conf.secret(
    env,
    "WEBHOOK_SECRET",
    local=LOCAL,
    local_default="whsec_bG9jYWwtb25seS13ZWJob29rLXNlY3JldC0zMmJ5dGVzISE=",
)

QUEUE_PROCESS = "consumer.process"
QUEUE_WEBHOOKS = "consumer.webhooks"
globals().update(
    conf.celery_settings(
        env,
        service=SERVICE,
        local=LOCAL,
        data_dir=DATA_DIR,
        queues=[QUEUE_PROCESS, QUEUE_WEBHOOKS],
        routes={
            "consumer.processing.tasks.*": QUEUE_PROCESS,
            "consumer.webhooks.tasks.*": QUEUE_WEBHOOKS,
        },
    )
)
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {}

METRICS_PORT = env.int("METRICS_PORT", default=9101)

LOGGING = configure_logging(service=SERVICE, level=_common["LOG_LEVEL"], fmt=_common["LOG_FORMAT"])
