"""Consumer settings: the processing engine's own: intake, risk, fees, webhook delivery, the
ledger. The names both services share are in
``bankflow.base_settings``; all of them come from the environment (README, "Configuration").
"""

from __future__ import annotations

from bankflow import conf
from bankflow.base_settings import *  # noqa: F403
from bankflow.base_settings import (
    CELERY_BROKER_URL,
    DATA_DIR,
    DEBUG,
    DJANGO_APPS,
    LOCAL,
    LOG_FORMAT,
    LOG_LEVEL,
    env,
)
from bankflow.logging import configure as configure_logging

SERVICE = "consumer"
INSTALLED_APPS = [
    *DJANGO_APPS,
    "consumer.intake",
    "consumer.processing",
    "consumer.ledger",
    "consumer.webhooks",
    "consumer.review",
    "consumer.console",
]
ROOT_URLCONF = "consumer.urls"
WSGI_APPLICATION = "consumer.wsgi.application"
SECRET_KEY = conf.secret(
    env, "DJANGO_SECRET_KEY", local=LOCAL, local_default="local-only-insecure-consumer"
)
DATABASES = {"default": conf.database(env, service=SERVICE, local=LOCAL, data_dir=DATA_DIR)}
STATIC_ROOT = conf.static_root(env, service=SERVICE, local=LOCAL, data_dir=DATA_DIR)

REST_FRAMEWORK = conf.rest_framework(
    authentication=["consumer.api.authentication.ServiceTokenAuthentication"]
)
SPECTACULAR_SETTINGS = conf.spectacular(
    title="bankflow consumer API",
    description="The processing engine: intake, risk scoring, fees, the ledger and webhooks.",
)

# --- the pipeline ---------------------------------------------------------------------
# Comma-separated while the token rotates (`new,old`): the consumer accepts any of them.
CONSUMER_API_TOKENS = conf.token_list(
    conf.secret(env, "CONSUMER_API_TOKEN", local=LOCAL, local_default="local-only-consumer-token"),
    name="CONSUMER_API_TOKEN",
)
CONSUMER_API_TOKEN = CONSUMER_API_TOKENS[0]  # what this side's own tests present
PRODUCER_WEBHOOK_URL = env.str(
    "PRODUCER_WEBHOOK_URL", default="http://127.0.0.1:8000/api/v1/webhooks/consumer/"
)
# The secret this side signs with; the producer accepts it among its WEBHOOK_SECRETS.
WEBHOOK_SECRET = conf.secret(
    env,
    "WEBHOOK_SECRET",
    local=LOCAL,
    local_default=conf.LOCAL_WEBHOOK_SECRET,
)

QUEUE_PROCESS = "consumer.process"
QUEUE_WEBHOOKS = "consumer.webhooks"
CELERY_BROKER_TRANSPORT_OPTIONS = conf.broker_transport_options(
    CELERY_BROKER_URL, service=SERVICE, data_dir=DATA_DIR
)
CELERY_TASK_QUEUES = conf.celery_queues(SERVICE, [QUEUE_PROCESS, QUEUE_WEBHOOKS])
CELERY_TASK_DEFAULT_QUEUE = CELERY_TASK_DEFAULT_ROUTING_KEY = QUEUE_PROCESS
CELERY_TASK_DEFAULT_EXCHANGE = SERVICE
CELERY_TASK_ROUTES = conf.celery_routes(
    {
        "consumer.processing.tasks.*": QUEUE_PROCESS,
        "consumer.review.tasks.*": QUEUE_PROCESS,
        "consumer.webhooks.tasks.*": QUEUE_WEBHOOKS,
    }
)
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / f"{SERVICE}-celerybeat-schedule")
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "sweep-stuck-transactions": {
        "task": "consumer.processing.tasks.sweep_stuck",
        "schedule": env.float("PROCESSING_SWEEP_INTERVAL_SECONDS", default=30.0),
    },
    "measure-review-queue": {
        "task": "consumer.review.tasks.measure_queue",
        "schedule": env.float("REVIEW_MEASURE_INTERVAL_SECONDS", default=60.0),
    },
    "sweep-webhook-deliveries": {
        "task": "consumer.webhooks.tasks.sweep_deliveries",
        "schedule": env.float("WEBHOOK_SWEEP_INTERVAL_SECONDS", default=5.0),
    },
}

# --- processing (README, "Risk rules" and "Fees") ---------------------------------------
# Ids per process_batch task, from intake and from the sweep.
PROCESSING_BATCH_SIZE = env.int("PROCESSING_BATCH_SIZE", default=200)
# A row still received/processing this long after its last change is enqueued again.
PROCESSING_STUCK_AFTER_SECONDS = env.int("PROCESSING_STUCK_AFTER_SECONDS", default=120)
REDIS_KEY_PREFIX = env.str("REDIS_KEY_PREFIX", default="bankflow:consumer:")

RISK_REVIEW_THRESHOLD = env.int("RISK_REVIEW_THRESHOLD", default=50)
RISK_DECLINE_THRESHOLD = env.int("RISK_DECLINE_THRESHOLD", default=80)
# "Large" per currency, in major units; currencies not listed score "unlisted_currency".
RISK_LARGE_AMOUNTS = env.dict(
    "RISK_LARGE_AMOUNTS",
    default={
        "EUR": "10000", "USD": "10000", "GBP": "10000", "CHF": "10000", "CAD": "10000",
        "AUD": "15000", "NZD": "15000", "SGD": "15000", "SEK": "100000", "NOK": "100000",
        "DKK": "75000", "PLN": "40000", "CZK": "250000", "HUF": "4000000", "RON": "50000",
        "BGN": "20000", "JPY": "1000000", "CNY": "70000", "HKD": "80000", "INR": "800000",
        "TRY": "300000", "BHD": "4000", "KWD": "3000", "AED": "40000", "SAR": "40000",
    },
)  # fmt: skip
# FATF "call for action" countries and sanctions-exposed ones: an illustrative default,
# to be replaced by the compliance team's list.
RISK_HIGH_RISK_COUNTRIES = env.list(
    "RISK_HIGH_RISK_COUNTRIES", default=["IR", "KP", "MM", "SY", "YE", "RU", "BY", "LB", "VG"]
)
RISK_VELOCITY_WINDOW_SECONDS = env.int("RISK_VELOCITY_WINDOW_SECONDS", default=600)
RISK_VELOCITY_LIMIT = env.int("RISK_VELOCITY_LIMIT", default=20)
RISK_STRUCTURING_BAND = env.str("RISK_STRUCTURING_BAND", default="0.10")
RISK_COUNTERPARTY_MEMORY_DAYS = env.int("RISK_COUNTERPARTY_MEMORY_DAYS", default=365)
# Points per rule; unnamed rules keep their defaults (consumer.processing.risk.DEFAULT_POINTS).
RISK_POINTS = env.dict("RISK_POINTS", cast={"value": int}, default={})
# JSON {type: {currency or "*": {"percent", "fixed", "min", "max"}}}, amounts in major
# units; empty means consumer.processing.fees.DEFAULT_SCHEDULE.
FEE_SCHEDULE = env.json("FEE_SCHEDULE", default={})

# --- webhook delivery (README, "Webhooks") ------------------------------------------------
# Seconds to wait before each retry: 10 retries over about a day, then "dead".
WEBHOOK_RETRY_SCHEDULE = [
    int(s)
    for s in env.list(
        "WEBHOOK_RETRY_SCHEDULE",
        default=["5", "30", "120", "600", "1800", "3600", "7200", "14400", "28800", "28800"],
    )
]
WEBHOOK_RETRY_JITTER = env.float("WEBHOOK_RETRY_JITTER", default=0.2)  # +-20 %
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)

# --- review and the console (README, "The console") -------------------------------------
# A transaction held for review longer than this is overdue: counted in
# bankflow_consumer_review_queue_overdue and alerted on (ReviewQueueOverdue).
REVIEW_MAX_AGE_HOURS = env.float("REVIEW_MAX_AGE_HOURS", default=24.0)
LOGIN_URL = "console:login"
LOGIN_REDIRECT_URL = "console:overview"
# The console's session: a working day at most, gone with the browser, never readable by
# scripts; outside DEBUG and local mode the cookies travel over HTTPS only.
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_NAME = "bankflow_consumer_session"
CSRF_COOKIE_NAME = "bankflow_consumer_csrftoken"
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE", default=not (LOCAL or DEBUG))
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

METRICS_PORT = env.int("METRICS_PORT", default=9101)

LOGGING = configure_logging(service=SERVICE, level=LOG_LEVEL, fmt=LOG_FORMAT)
