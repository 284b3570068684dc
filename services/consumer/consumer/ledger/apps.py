from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "consumer.ledger"
    label = "ledger"
    verbose_name = "Ledger"
