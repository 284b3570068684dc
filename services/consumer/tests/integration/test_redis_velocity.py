import uuid
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from bankflow.redis import get_redis
from consumer.processing.signals import gather_signals
from consumer.processing.validation import ValidTransaction
from tests.factories import FR, iban
from tests.integration.conftest import redis

pytestmark = [redis]


def test_velocity_windows_live_in_the_real_redis(redis_prefix):
    source = iban(1)
    now = timezone.now()
    txs = [
        ValidTransaction(
            id=uuid.uuid4(),
            type="transfer",
            amount=Decimal("1.00"),
            currency="EUR",
            source=source,
            destination=FR,
            occurred_at=now - timedelta(seconds=100 - i),
        )
        for i in range(30)
    ]

    first = gather_signals(txs[:20], window_seconds=60, memory_days=1)
    second = gather_signals(txs, window_seconds=60, memory_days=1)

    assert "Redis" in type(get_redis()).__name__ and "Fake" not in type(get_redis()).__name__
    assert [first[t.id].velocity_count for t in txs[:3]] == [1, 2, 3]
    # 60 s window: at most the 60 transactions of the last 60 seconds, one per second.
    assert second[txs[-1].id].velocity_count == 30
    assert second[txs[0].id] == first[txs[0].id]  # a redelivery does not count twice
    key = f"{redis_prefix}velocity:{source}"
    assert get_redis().zcard(key) == 30
    assert 0 < get_redis().ttl(key) <= 120
