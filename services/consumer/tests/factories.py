from __future__ import annotations

import uuid
from decimal import Decimal

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory
from schwifty import IBAN

from consumer.intake.models import ReceivedTransaction, Status
from consumer.webhooks.models import WebhookMessage

DE = "DE89370400440532013000"
FR = "FR1420041010050500013M02606"
GB = "GB82WEST12345698765432"


def iban(n: int, country: str = "DE") -> str:
    """The n-th valid IBAN of a country, for tests that need many accounts."""
    codes = {"DE": ("37040044", 10), "FR": ("2004101005", 11), "NL": ("ABNA", 10)}
    bank, width = codes[country]
    return IBAN.generate(country, bank_code=bank, account_code=str(n).zfill(width)).compact


class ReceivedTransactionFactory(DjangoModelFactory):
    class Meta:
        model = ReceivedTransaction

    id = factory.LazyFunction(uuid.uuid4)
    reference = factory.Sequence(lambda n: f"INV-{n}")
    type = "transfer"
    amount = Decimal("125.50")
    currency = "EUR"
    source_account = DE
    destination_account = FR
    created_at = factory.LazyFunction(timezone.now)
    correlation_id = factory.Sequence(lambda n: f"corr-{n}")
    intake_token = factory.LazyFunction(uuid.uuid4)
    updated_at = factory.LazyFunction(timezone.now)

    class Params:
        processed = factory.Trait(
            status=Status.PROCESSED,
            result={
                "decision": "approved",
                "risk_score": 15,
                "reasons": ["cross_border", "new_counterparty"],
                "fee": "0.50",
                "processed_at": "2026-11-21T10:00:01Z",
            },
        )
        failed = factory.Trait(status=Status.FAILED, failure_reason="amount: Must be > 0.")


class WebhookMessageFactory(DjangoModelFactory):
    class Meta:
        model = WebhookMessage

    id = factory.LazyFunction(lambda: f"msg_{uuid.uuid4()}")
    payload = factory.LazyFunction(lambda: {"type": "transaction.results", "results": []})
    next_attempt_at = factory.LazyFunction(timezone.now)
    correlation_id = "corr-msg"
