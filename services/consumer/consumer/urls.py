from bankflow.urls import not_found, server_error, service_urlpatterns

urlpatterns = service_urlpatterns(api="consumer.api.urls", ready=("database", "broker"))

handler404 = not_found
handler500 = server_error
