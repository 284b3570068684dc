from django.urls import include, path

from bankflow.urls import service_urlpatterns
from consumer.console.views import root

urlpatterns = [
    path("", root, name="root"),
    path("console/", include("consumer.console.urls")),
    *service_urlpatterns(api="consumer.api.urls", ready=("database", "broker")),
]
