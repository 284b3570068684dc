from __future__ import annotations

from decimal import Decimal

import factory

from bankflow.wire import TransactionType
from producer.clients.models import Client
from producer.transactions.models import OutboxMessage, Status, Transaction

DE = "DE89370400440532013000"
FR = "FR1420041010050500013M02606"
GB = "GB82WEST12345698765432"


class ClientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Client

    name = factory.Sequence(lambda n: f"client-{n}")


class TransactionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Transaction

    client = factory.SubFactory(ClientFactory)
    reference = factory.Sequence(lambda n: f"INV-{n}")
    type = TransactionType.TRANSFER
    amount = Decimal("125.50")
    currency = "EUR"
    source_account = DE
    destination_account = FR
    description = "rent"
    status = Status.PENDING
    correlation_id = factory.Faker("hexify", text="^" * 32)


class OutboxMessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OutboxMessage

    transaction = factory.SubFactory(TransactionFactory)


def transfer(**overrides: object) -> dict[str, object]:
    """A valid API body for one transfer."""
    body: dict[str, object] = {
        "reference": "INV-1001",
        "type": "transfer",
        "amount": "125.50",
        "currency": "EUR",
        "source_account": DE,
        "destination_account": FR,
        "description": "rent",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not ...}
