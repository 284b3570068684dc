"""gunicorn -c services/producer/gunicorn.conf.py (the image's web command)."""

from bankflow.gunicorn import settings

globals().update(settings("producer", default_port=8000))
