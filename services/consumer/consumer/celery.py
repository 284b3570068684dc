"""The consumer's Celery app (queues consumer.process and consumer.webhooks)."""

from bankflow.celery import make_app

app = make_app("consumer")
