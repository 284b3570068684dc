from django.urls import include, path

from bankflow.urls import not_found, server_error, service_urlpatterns
from consumer.console.views import root

urlpatterns = [
    path("", root, name="root"),
    path("console/", include("consumer.console.urls")),
    *service_urlpatterns(api="consumer.api.urls", ready=("database", "broker")),
]

handler404 = not_found
handler500 = server_error
