"""The producer's Celery app: ``celery -A producer worker -Q producer.dispatch``."""

from bankflow.celery import make_app

app = make_app("producer")
