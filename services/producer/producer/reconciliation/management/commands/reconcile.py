"""uv run producer reconcile [--date YYYY-MM-DD]"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from producer.reconciliation.models import RunOutcome
from producer.reconciliation.services import default_days, describe, reconciliation_run


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--date must be YYYY-MM-DD, not {text!r}") from None


class Command(BaseCommand):
    help = (
        "Compare the producer's processed transactions with the consumer's, per UTC day "
        "(by created_at) and currency: count, amount sum, fee sum and the ids on one side "
        "only. Default: yesterday and today. Exit status 1 when anything is mismatched."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--date", action="append", default=[], metavar="YYYY-MM-DD", help="a UTC day"
        )

    def handle(self, *args: Any, date: list[str], **options: Any) -> None:
        days = [_day(text) for text in date] or default_days()
        run, results = reconciliation_run(days=days, trigger="command:reconcile")
        if run.outcome == RunOutcome.ERROR:
            raise CommandError(run.error)
        for day in results:
            if not day.comparisons:
                self.stdout.write(f"{day.day.isoformat()} nothing processed on either side")
            for comparison in day.comparisons:
                self.stdout.write(describe(day.day, comparison))
        summary = f"reconciliation: {run.matched} matched, {run.mismatched} mismatched"
        if run.mismatched:
            self.stdout.write(summary)
            raise SystemExit(1)
        self.stdout.write(summary)
