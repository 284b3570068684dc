from collections import Counter
from io import StringIO

import pytest
from django.core.management import call_command

from bankflow.money import minor_units
from producer.transactions.generator import HIGH_RISK_COUNTRIES, Generator
from producer.transactions.models import OutboxMessage, Transaction
from producer.transactions.serializers import TransactionInputSerializer


def as_api_body(data):
    return {**data, "amount": str(data["amount"])}


def test_generated_transactions_pass_the_api_validation_unchanged():
    items = [data for data, _risky in Generator(seed=7).items(2000)]
    serializer = TransactionInputSerializer(data=[as_api_body(i) for i in items], many=True)
    assert serializer.is_valid(), [e for e in serializer.errors if e][:3]
    for given, validated in zip(items, serializer.validated_data, strict=True):
        assert validated["amount"] == given["amount"]
        assert validated["source_account"] == given["source_account"]
        exponent = given["amount"].as_tuple().exponent
        assert -exponent <= minor_units(given["currency"])


def test_the_mix_is_realistic():
    items = list(Generator(seed=3).items(5000))
    types = Counter(d["type"] for d, _ in items)
    currencies = Counter(d["currency"] for d, _ in items)
    countries = {(d["source_account"] or d["destination_account"])[:2] for d, _ in items}
    assert set(types) == {"transfer", "payment", "deposit", "withdrawal"}
    assert currencies.most_common(1)[0][0] == "EUR"
    assert {"JPY", "BHD", "GBP", "USD"} <= set(currencies)
    assert len(countries) >= 8
    assert countries & set(HIGH_RISK_COUNTRIES)
    assert any(d["amount"] >= 100_000 for d, _ in items)
    risky = sum(r for _, r in items)
    assert 0.02 * len(items) < risky < 0.3 * len(items)


def test_the_same_seed_gives_the_same_transactions():
    assert list(Generator(seed=1).items(50)) == list(Generator(seed=1).items(50))


@pytest.mark.django_db
def test_the_command_creates_through_the_service_and_prints_a_summary():
    out = StringIO()
    call_command("generate_transactions", "--count", "1200", "--seed", "5", stdout=out)
    assert Transaction.objects.filter(client__name="generator").count() == 1200
    assert OutboxMessage.objects.count() == 1200
    assert "Created 1200 transactions" in out.getvalue()


@pytest.mark.django_db
def test_the_command_paces_to_the_rate():
    out = StringIO()
    call_command("generate_transactions", "--count", "30", "--rate", "100", stdout=out)
    assert Transaction.objects.count() == 30
    # 30 at 100/s take about 0.3 s: the summary's rate is near 100, not thousands
    rate = float(out.getvalue().split("(")[1].split("/s")[0])
    assert rate < 150


class FakeTerminal(StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.django_db
def test_on_a_terminal_the_command_shows_progress_with_an_eta():
    err = FakeTerminal()
    call_command("generate_transactions", "--count", "1500", stdout=StringIO(), stderr=err)
    shown = err.getvalue()
    assert "generating" in shown and "1500/1500" in shown
    assert "<" in shown and "tx/s" in shown  # tqdm's "elapsed<remaining, rate"


@pytest.mark.django_db
def test_off_a_terminal_the_command_is_quiet_unless_asked():
    err = StringIO()
    call_command("generate_transactions", "--count", "10", stdout=StringIO(), stderr=err)
    assert err.getvalue() == ""
    call_command(
        "generate_transactions", "--count", "10", "--progress", "always",
        stdout=StringIO(), stderr=err,
    )  # fmt: skip
    assert "10/10" in err.getvalue()
