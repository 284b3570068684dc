"""gunicorn -c services/consumer/gunicorn.conf.py (the image's web command)."""

from bankflow.gunicorn import settings

globals().update(settings("consumer", default_port=8001))
