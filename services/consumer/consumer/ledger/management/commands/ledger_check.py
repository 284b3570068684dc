"""uv run consumer ledger_check: the double-entry invariant, for operators and tests.

Prints one JSON object (the sum of entries per currency, how many entries and posted
transactions there are) and exits 1 when any currency does not sum to zero.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from consumer.ledger.models import Entry
from consumer.ledger.selectors import ledger_totals


class Command(BaseCommand):
    help = "Check that the ledger's entries sum to zero in every currency."

    def handle(self, *args: Any, **options: Any) -> None:
        totals = ledger_totals()
        report = {
            "totals": {currency: f"{total:.4f}" for currency, total in totals.items()},
            "entries": Entry.objects.count(),
            "transactions": Entry.objects.values("transaction_id").distinct().count(),
            "balanced": all(total == 0 for total in totals.values()),
        }
        self.stdout.write(json.dumps(report, sort_keys=True))
        if not report["balanced"]:
            raise CommandError("the ledger does not balance")
