from django.apps import AppConfig


class ProcessingConfig(AppConfig):
    name = "consumer.processing"
    label = "processing"
    verbose_name = "Processing"

    def ready(self) -> None:
        from consumer.processing import checks  # noqa: F401  (registers the system check)
