"""The API docs of a running deployment load nothing from another host, and every asset
they name is served (by WhiteNoise, from the image's collected static files)."""

from __future__ import annotations

import re

import pytest
import requests

from tests.conftest import Deployment

ASSET = re.compile(r"""(?:src|href)=["']([^"']+)["']""")
ABSOLUTE = re.compile(r"(?:https?:)?//[\w.-]+")


@pytest.mark.parametrize("service", ["producer", "consumer"])
@pytest.mark.parametrize("page", ["/api/docs/", "/api/redoc/"])
def test_the_api_docs_work_offline(deployment: Deployment, service, page):
    base = deployment.producer_url if service == "producer" else deployment.consumer_url
    response = requests.get(f"{base}{page}", timeout=15)
    assert response.status_code == 200
    html = response.text
    assert not ABSOLUTE.findall(html.replace("</", "<")), "the page names another host"
    assets = ASSET.findall(html)
    assert assets
    for asset in assets:
        assert asset.startswith("/static/"), asset
        got = requests.get(f"{base}{asset}", timeout=15)
        assert got.status_code == 200, asset
        assert len(got.content) > 100, asset
    schema = requests.get(f"{base}/api/schema/", timeout=15, headers={"Accept": "application/json"})
    assert schema.status_code == 200 and schema.json()["openapi"].startswith("3.")
