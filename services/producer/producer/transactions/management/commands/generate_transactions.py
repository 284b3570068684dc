from __future__ import annotations

import sys
import time
from collections import Counter
from typing import Any, TextIO

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from bankflow.logging import new_correlation_id
from producer.clients.services import client_get_or_create
from producer.transactions.generator import Generator
from producer.transactions.inputs import TransactionInput
from producer.transactions.services import transaction_bulk_create

CHUNK = 1000
TICK_SECONDS = 0.1


def _progress_bar(stream: TextIO, *, total: int, mode: str) -> tqdm[Any]:
    """tqdm on ``stream``: count, rate and ETA; silent off a terminal unless asked."""
    disable = {"auto": not _isatty(stream), "always": False, "never": True}[mode]
    return tqdm(
        total=total, file=stream, disable=disable, unit="tx", desc="generating", smoothing=0.1
    )


def _isatty(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class Command(BaseCommand):
    help = (
        "Create realistic synthetic transactions through the same service as the API "
        "(bulk chunks of 1000, or paced to --rate per second) and print a summary."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--count", type=int, required=True, help="how many transactions to create (≥ 1)"
        )
        parser.add_argument(
            "--rate",
            type=float,
            default=None,
            help="transactions per second, paced (default: as fast as bulk chunks of 1000 go)",
        )
        parser.add_argument(
            "--client",
            default="generator",
            help="the client that owns them, created if missing (default: generator)",
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=None,
            help="random seed: the same seed gives the same transactions (default: random)",
        )
        parser.add_argument(
            "--progress",
            choices=("auto", "always", "never"),
            default="auto",
            help="a progress bar with an ETA on stderr: auto shows it on a terminal only",
        )

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
        # The stream itself, not self.stderr: Django's OutputWrapper ends every write with a
        # newline, which would print one bar per line.
        stream = options.get("stderr") or sys.stderr
        progress = _progress_bar(stream, total=count, mode=options["progress"])
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
            progress.update(size)
        progress.close()
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
