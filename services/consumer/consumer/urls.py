from bankflow.urls import service_urlpatterns

urlpatterns = service_urlpatterns(api="consumer.api.urls", ready=("database", "broker"))
