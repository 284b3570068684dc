"""Producer settings: the system of record's own: clients and API keys, transactions, the outbox
dispatcher, the results webhook. The names both services share are in
``bankflow.base_settings``; all of them come from the environment (README, "Configuration").
"""

from __future__ import annotations

from bankflow import conf
from bankflow.base_settings import *  # noqa: F403
from bankflow.base_settings import (
    CELERY_BROKER_URL,
    DATA_DIR,
    DJANGO_APPS,
    LOCAL,
    LOG_FORMAT,
    LOG_LEVEL,
    env,
)
from bankflow.logging import configure as configure_logging

SERVICE = "producer"
INSTALLED_APPS = [
    *DJANGO_APPS,
    "producer.clients",
    "producer.transactions",
    "producer.reconciliation",
]
ROOT_URLCONF = "producer.urls"
WSGI_APPLICATION = "producer.wsgi.application"
SECRET_KEY = conf.secret(
    env, "DJANGO_SECRET_KEY", local=LOCAL, local_default="local-only-insecure-producer"
)
DATABASES = {"default": conf.database(env, service=SERVICE, local=LOCAL, data_dir=DATA_DIR)}
STATIC_ROOT = conf.static_root(env, service=SERVICE, local=LOCAL, data_dir=DATA_DIR)

REST_FRAMEWORK = {
    **conf.rest_framework(authentication=["producer.clients.authentication.ApiKeyAuthentication"]),
    "DEFAULT_THROTTLE_CLASSES": ["producer.clients.throttling.ClientRateThrottle"],
}
# Per-client budgets, shared by every web process through Redis (0 turns a limit off). The
# local defaults leave `make run`, the tests and `make bench` alone; production's are the
# charts' (docs/api.md, "Rate limits").
API_RATE_LIMIT = env.float("API_RATE_LIMIT", default=1000.0 if LOCAL else 100.0)
API_RATE_BURST = env.int("API_RATE_BURST", default=2000 if LOCAL else 200)
API_BULK_ITEMS_RATE_LIMIT = env.float(
    "API_BULK_ITEMS_RATE_LIMIT", default=100_000.0 if LOCAL else 5000.0
)
# At least one full bulk request (1000 items), whatever is set.
API_BULK_ITEMS_BURST = env.int("API_BULK_ITEMS_BURST", default=200_000 if LOCAL else 10_000)
SPECTACULAR_SETTINGS = {
    **conf.spectacular(
        title="bankflow producer API",
        description="The system of record: create, list, update and cancel bank transactions.",
    ),
    # One name per choice set: a transaction's status appears in transactions and events.
    "ENUM_NAME_OVERRIDES": {
        "TransactionStatusEnum": "producer.transactions.models.Status",
        "TransactionTypeEnum": "bankflow.wire.TransactionType",
        "EventTypeEnum": "producer.transactions.models.EventKind",
    },
}

# --- the pipeline ---------------------------------------------------------------------
CONSUMER_URL = env.str("CONSUMER_URL", default="http://127.0.0.1:8001")
# Comma-separated while the token rotates (`new,old`): the producer sends the first.
CONSUMER_API_TOKENS = conf.token_list(
    conf.secret(env, "CONSUMER_API_TOKEN", local=LOCAL, local_default="local-only-consumer-token"),
    name="CONSUMER_API_TOKEN",
)
CONSUMER_API_TOKEN = CONSUMER_API_TOKENS[0]
# Several secrets, comma separated, so the consumer's signing secret can rotate.
WEBHOOK_SECRETS = env.list(
    "WEBHOOK_SECRETS",
    default=[conf.LOCAL_WEBHOOK_SECRET] if LOCAL else [],
)
if not WEBHOOK_SECRETS:
    raise conf.environ.ImproperlyConfigured(
        "WEBHOOK_SECRETS must be set when BANKFLOW_ENV=production"
    )
IDEMPOTENCY_KEY_TTL_HOURS = env.int("IDEMPOTENCY_KEY_TTL_HOURS", default=48)
# A valid API key is remembered this long per process: a revocation takes effect within it.
API_KEY_CACHE_SECONDS = env.float("API_KEY_CACHE_SECONDS", default=10.0)
DISPATCH_BATCH_SIZE = env.int("DISPATCH_BATCH_SIZE", default=500)
# A dispatch starts this long after the first commit it carries (README, "Batching").
DISPATCH_LINGER_MS = env.int("DISPATCH_LINGER_MS", default=300)
DISPATCH_MAX_ATTEMPTS = env.int("DISPATCH_MAX_ATTEMPTS", default=8)
DISPATCH_STUCK_AFTER_SECONDS = env.int("DISPATCH_STUCK_AFTER_SECONDS", default=30)
DISPATCH_HTTP_TIMEOUT_SECONDS = env.float("DISPATCH_HTTP_TIMEOUT_SECONDS", default=10.0)
# Retry delay after attempt n: min(MAX, BASE * 2**(n-1)), half of it jittered.
DISPATCH_BACKOFF_BASE_SECONDS = env.float("DISPATCH_BACKOFF_BASE_SECONDS", default=1.0)
DISPATCH_BACKOFF_MAX_SECONDS = env.float("DISPATCH_BACKOFF_MAX_SECONDS", default=60.0)
# Applied webhook-ids are remembered this long (the consumer's retries end far sooner).
WEBHOOK_RECEIPT_TTL_HOURS = env.int("WEBHOOK_RECEIPT_TTL_HOURS", default=168)
# Reconciliation leaves out what was created this recently: work in flight is no mismatch.
RECONCILIATION_SETTLE_SECONDS = env.int("RECONCILIATION_SETTLE_SECONDS", default=300)
RECONCILIATION_HTTP_TIMEOUT_SECONDS = env.float("RECONCILIATION_HTTP_TIMEOUT_SECONDS", default=60.0)

QUEUE_DISPATCH = "producer.dispatch"
CELERY_BROKER_TRANSPORT_OPTIONS = conf.broker_transport_options(
    CELERY_BROKER_URL, service=SERVICE, data_dir=DATA_DIR
)
CELERY_TASK_QUEUES = conf.celery_queues(SERVICE, [QUEUE_DISPATCH])
CELERY_TASK_DEFAULT_QUEUE = CELERY_TASK_DEFAULT_ROUTING_KEY = QUEUE_DISPATCH
CELERY_TASK_DEFAULT_EXCHANGE = SERVICE
CELERY_TASK_ROUTES = conf.celery_routes(
    {
        "producer.transactions.tasks.*": QUEUE_DISPATCH,
        "producer.reconciliation.tasks.*": QUEUE_DISPATCH,
    }
)
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / f"{SERVICE}-celerybeat-schedule")
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "sweep-outbox": {
        "task": "producer.transactions.tasks.sweep_outbox",
        "schedule": env.float("OUTBOX_SWEEP_SECONDS", default=5.0),
        "options": {"expires": 10},
    },
    "reconcile": {
        "task": "producer.reconciliation.tasks.reconcile",
        "schedule": env.float("RECONCILIATION_INTERVAL_SECONDS", default=3600.0),
        "options": {"expires": 1800},
    },
    "purge-idempotency-keys": {
        "task": "producer.transactions.tasks.purge_idempotency_keys",
        "schedule": 3600.0,
        "options": {"expires": 1800},
    },
}

METRICS_PORT = env.int("METRICS_PORT", default=9100)

LOGGING = configure_logging(service=SERVICE, level=LOG_LEVEL, fmt=LOG_FORMAT)
