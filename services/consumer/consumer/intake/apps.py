from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "consumer.intake"
    label = "intake"
    verbose_name = "Intake"

    def ready(self) -> None:
        from consumer.intake import schema  # noqa: F401 - registers the OpenAPI extension
