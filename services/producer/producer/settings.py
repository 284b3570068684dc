"""Producer settings: everything from the environment (README, "Configuration").

BANKFLOW_ENV=local (the default) embeds what a laptop needs: SQLite and the broker's
filesystem transport under .local/, an in-process Redis stand-in, and development-only
secrets. BANKFLOW_ENV=production requires every URL and secret to be set.
"""

from __future__ import annotations

from bankflow import conf
from bankflow.logging import configure as configure_logging

SERVICE = "producer"
env = conf.make_env()
LOCAL = conf.runtime_mode(env) == conf.LOCAL
DATA_DIR = conf.data_dir(env, local=LOCAL)

_common = conf.common_django(
    env,
    service=SERVICE,
    local=LOCAL,
    data_dir=DATA_DIR,
    apps=["producer.clients", "producer.transactions"],
)
globals().update(_common)

REST_FRAMEWORK = conf.rest_framework(
    authentication=["producer.clients.authentication.ApiKeyAuthentication"]
)
SPECTACULAR_SETTINGS = {
    "TITLE": "bankflow producer API",
    "DESCRIPTION": "The system of record: create, list, update and cancel bank transactions.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- the pipeline ---------------------------------------------------------------------
CONSUMER_URL = env.str("CONSUMER_URL", default="http://127.0.0.1:8001")
CONSUMER_API_TOKEN = conf.secret(
    env, "CONSUMER_API_TOKEN", local=LOCAL, local_default="local-only-consumer-token"
)
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
DISPATCH_BATCH_SIZE = env.int("DISPATCH_BATCH_SIZE", default=500)
DISPATCH_MAX_ATTEMPTS = env.int("DISPATCH_MAX_ATTEMPTS", default=8)
DISPATCH_STUCK_AFTER_SECONDS = env.int("DISPATCH_STUCK_AFTER_SECONDS", default=30)
DISPATCH_HTTP_TIMEOUT_SECONDS = env.float("DISPATCH_HTTP_TIMEOUT_SECONDS", default=10.0)
# Retry delay after attempt n: min(MAX, BASE * 2**(n-1)), half of it jittered.
DISPATCH_BACKOFF_BASE_SECONDS = env.float("DISPATCH_BACKOFF_BASE_SECONDS", default=1.0)
DISPATCH_BACKOFF_MAX_SECONDS = env.float("DISPATCH_BACKOFF_MAX_SECONDS", default=60.0)
# Applied webhook-ids are remembered this long (the consumer's retries end far sooner).
WEBHOOK_RECEIPT_TTL_HOURS = env.int("WEBHOOK_RECEIPT_TTL_HOURS", default=168)

QUEUE_DISPATCH = "producer.dispatch"
globals().update(
    conf.celery_settings(
        env,
        service=SERVICE,
        local=LOCAL,
        data_dir=DATA_DIR,
        queues=[QUEUE_DISPATCH],
        routes={"producer.transactions.tasks.*": QUEUE_DISPATCH},
    )
)
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "sweep-outbox": {
        "task": "producer.transactions.tasks.sweep_outbox",
        "schedule": env.float("OUTBOX_SWEEP_SECONDS", default=5.0),
        "options": {"expires": 10},
    },
    "purge-idempotency-keys": {
        "task": "producer.transactions.tasks.purge_idempotency_keys",
        "schedule": 3600.0,
        "options": {"expires": 1800},
    },
}

METRICS_PORT = env.int("METRICS_PORT", default=9100)

LOGGING = configure_logging(service=SERVICE, level=_common["LOG_LEVEL"], fmt=_common["LOG_FORMAT"])
