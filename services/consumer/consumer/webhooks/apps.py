from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "consumer.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks"
