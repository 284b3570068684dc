"""The routes every service serves besides its API: health, metrics, admin, API docs."""

from __future__ import annotations

from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from bankflow.health import healthz, readyz_view


def service_urlpatterns(*, api: str, ready: tuple[str, ...]) -> list[URLPattern | URLResolver]:
    """The common routes, and the service's API (a URLconf module) under ``/api/v1/``;
    ``/readyz`` fails only on the ``ready`` checks (the others are reported)."""
    return [
        path("healthz", healthz, name="healthz"),
        path("readyz", readyz_view(required=ready), name="readyz"),
        path("", include("django_prometheus.urls")),
        path("admin/", admin.site.urls),
        path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
        path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
        path("api/v1/", include(api)),
    ]
