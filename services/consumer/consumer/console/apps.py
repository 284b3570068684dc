from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "consumer.console"
    label = "console"
    verbose_name = "Console"
