"""The routes every service serves besides its API: health, metrics, admin, API docs
(Swagger UI at ``/api/docs/``, Redoc at ``/api/redoc/``, both from local static files)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import engines
from django.urls import URLPattern, URLResolver, include, path
from django.views import defaults
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerView,
)
from rest_framework.request import Request

from bankflow.health import healthz, readyz_view

# drf-spectacular's Redoc page also loads Google's web fonts: the same page without them
# (Redoc falls back to the system's fonts), so that nothing leaves the cluster.
_REDOC_OFFLINE = engines["django"].from_string(
    '{% extends "drf_spectacular/redoc.html" %}{% block head %}'
    '<title>{{ title|default:"Redoc" }}</title><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1">'
    "<style>body { margin: 0; padding: 0; }</style>{% endblock head %}"
)


class OfflineRedocView(SpectacularRedocView):
    @extend_schema(exclude=True)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
        data = super().get(request, *args, **kwargs).data
        return HttpResponse(_REDOC_OFFLINE.render(data, request))


def _api_error(status: int, code: str, detail: str) -> Callable[..., HttpResponse]:
    """Django's own 404/500 pages under ``/api/`` in the API's error shape (a path the router
    does not match never reaches DRF); elsewhere (admin, console) Django's pages."""
    html_view: Callable[..., HttpResponse] = (
        defaults.page_not_found if status == 404 else defaults.server_error
    )

    def view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": detail, "code": code}, status=status)
        return html_view(request, *args, **kwargs)

    return view


# Each service's URLconf names these (``handler404 = bankflow.urls.not_found``).
not_found = _api_error(404, "not_found", "Not found.")
server_error = _api_error(500, "server_error", "Server error.")


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
        path("api/redoc/", OfflineRedocView.as_view(url_name="schema"), name="redoc"),
        path("api/v1/", include(api)),
    ]
