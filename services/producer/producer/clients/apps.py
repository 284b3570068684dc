from django.apps import AppConfig


class ClientsConfig(AppConfig):
    name = "producer.clients"
    label = "clients"
    verbose_name = "Clients and API keys"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from producer.clients.throttling import publish_configuration

        publish_configuration()
