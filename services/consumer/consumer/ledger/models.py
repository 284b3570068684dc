"""The double-entry ledger: accounts and their signed entries.

An account's balance is the sum of its entries, per currency; the entries of every
transaction sum to zero per currency. Entries are never updated or deleted.
"""

from __future__ import annotations

from django.db import models


class AccountKind(models.TextChoices):
    CUSTOMER = "customer"  # an IBAN; one account holds every currency
    SETTLEMENT = "settlement"  # cash in/out of the system (deposits, withdrawals), per currency
    FEE_INCOME = "fee_income"  # fees earned, per currency


class Account(models.Model):
    # The IBAN for customer accounts; ``SETTLEMENT-EUR`` / ``FEES-EUR`` for internal ones.
    code = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=16, choices=AccountKind.choices)
    currency = models.CharField(max_length=3, blank=True, default="", help_text="Internal only.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=AccountKind.values), name="account_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.code


class Leg(models.TextChoices):
    DEBIT = "debit"  # principal leaves an account
    CREDIT = "credit"  # principal arrives in an account
    FEE_DEBIT = "fee_debit"  # the payer pays the fee
    FEE_CREDIT = "fee_credit"  # the fee income account earns it


class Entry(models.Model):
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="entries")
    currency = models.CharField(max_length=3)
    amount = models.DecimalField(max_digits=22, decimal_places=4)
    transaction_id = models.UUIDField()
    leg = models.CharField(max_length=16, choices=Leg.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["account", "currency"], name="entry_account_currency")]
        constraints = [
            # The last line of defence for exactly-once: a transaction's leg exists once,
            # whatever two workers or a redelivery try.
            models.UniqueConstraint(fields=["transaction_id", "leg"], name="entry_once_per_leg"),
            models.CheckConstraint(condition=~models.Q(amount=0), name="entry_amount_nonzero"),
            models.CheckConstraint(condition=models.Q(leg__in=Leg.values), name="entry_leg_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.transaction_id} {self.leg} {self.amount} {self.currency}"
