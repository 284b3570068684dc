from django.apps import AppConfig


class ProcessingConfig(AppConfig):
    name = "consumer.processing"
    label = "processing"
    verbose_name = "Processing"
