from django.apps import AppConfig


class TransactionsConfig(AppConfig):
    name = "producer.transactions"
    label = "transactions"
    default_auto_field = "django.db.models.BigAutoField"
