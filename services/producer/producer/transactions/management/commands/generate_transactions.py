from __future__ import annotations

import time
from collections import Counter
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from bankflow.logging import new_correlation_id
from producer.clients.services import client_get_or_create
from producer.transactions.generator import Generator
from producer.transactions.inputs import TransactionInput
from producer.transactions.services import transaction_bulk_create

CHUNK = 1000
TICK_SECONDS = 0.1


class Command(BaseCommand):
    help = (
        "Create realistic synthetic transactions through the same service as the API "
        "(bulk chunks of 1000, or paced to --rate per second) and print a summary."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--count", type=int, required=True)
        parser.add_argument("--rate", type=float, default=None, help="transactions per second")
        parser.add_argument("--client", default="generator", help="client name (created)")
        parser.add_argument("--seed", type=int, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        count, rate = options["count"], options["rate"]
        if count < 1:
            raise CommandError("--count must be at least 1.")
        if rate is not None and rate <= 0:
            raise CommandError("--rate must be positive.")
        client = client_get_or_create(name=options["client"])
        generator = Generator(seed=options["seed"])
        correlation_id = new_correlation_id()
        by_type: Counter[str] = Counter()
        by_currency: Counter[str] = Counter()
        risky = 0
        started = time.monotonic()
        created = 0
        while created < count:
            if rate is None:
                size = min(CHUNK, count - created)
            else:  # as many as are due by now, at most a chunk
                due = int((time.monotonic() - started) * rate) + 1 - created
                if due <= 0:
                    time.sleep(min(TICK_SECONDS, 1 / rate))
                    continue
                size = min(due, CHUNK, count - created)
            chunk: list[TransactionInput] = []
            for data, is_risky in generator.items(size):
                chunk.append(data)
                by_type[data["type"]] += 1
                by_currency[data["currency"]] += 1
                risky += is_risky
            transaction_bulk_create(client=client, items=chunk, correlation_id=correlation_id)
            created += size
        elapsed = time.monotonic() - started
        self.stdout.write(
            f"Created {created} transactions for client {client.name} in {elapsed:.2f}s "
            f"({created / max(elapsed, 1e-9):.0f}/s), correlation id {correlation_id}"
        )
        self.stdout.write(
            "  by type:     " + ", ".join(f"{k} {v}" for k, v in by_type.most_common())
        )
        self.stdout.write(
            "  by currency: " + ", ".join(f"{k} {v}" for k, v in by_currency.most_common())
        )
        self.stdout.write(f"  risky patterns: {risky}")
