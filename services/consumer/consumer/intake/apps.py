from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "consumer.intake"
    label = "intake"
    verbose_name = "Intake"
