from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from bankflow.health import healthz, readyz_view

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz_view(required=("database", "broker")), name="readyz"),
    path("", include("django_prometheus.urls")),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("api/v1/", include("consumer.intake.urls")),
]
