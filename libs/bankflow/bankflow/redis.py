"""One Redis client per process: the real server when REDIS_URL is set, else fakeredis.

fakeredis is process-local, which is what the embedded local mode can offer without a
server; state such as velocity windows is then per worker process (documented).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.conf import settings


@lru_cache(maxsize=1)
def get_redis() -> Any:
    url = getattr(settings, "REDIS_URL", "")
    if url:
        import redis

        return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    import fakeredis

    return fakeredis.FakeRedis()
