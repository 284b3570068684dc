"""Fixtures for the deployment checks (``uv run pytest tests/deploy`` from the root)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from tests.deploy.deploylib import CHARTS, ROOT, ChartRenderer, load_values, value_sets


@pytest.fixture(scope="session")
def renderer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChartRenderer]:
    r = ChartRenderer(tmp_path_factory.mktemp("helm"))
    yield r
    r.close()


CASES = [(chart, vs) for chart in CHARTS for vs in value_sets(chart)]


@pytest.fixture(scope="session")
def rendered(renderer: ChartRenderer) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Every chart rendered with its default values and with each ci/*-values.yaml."""
    return {(c, vs): renderer.render(c, load_values(c, vs)) for c, vs in CASES}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "case" in metafunc.fixturenames:
        metafunc.parametrize("case", CASES, ids=[f"{c}-{vs}" for c, vs in CASES])
    if "chart" in metafunc.fixturenames:
        metafunc.parametrize("chart", CHARTS)


@pytest.fixture(scope="session")
def celery_queues() -> dict[str, list[str]]:
    """The queues each service's settings declare (CELERY_TASK_QUEUES), read in a
    subprocess per service since both are Django settings modules."""
    code = (
        "import json, django.conf as c; from django.conf import settings; "
        "print(json.dumps({'queues': [q.name for q in settings.CELERY_TASK_QUEUES], "
        "'named': {k: getattr(settings, k) for k in dir(settings) if k.startswith('QUEUE_')}}))"
    )
    out: dict[str, list[str]] = {}
    for service in CHARTS:
        env = {
            **os.environ,
            "BANKFLOW_ENV": "local",
            "DJANGO_SETTINGS_MODULE": f"{service}.settings",
        }
        for name in ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL"):
            env.pop(name, None)
        scratch = ROOT / ".local" / "deploy-tests"
        env["BANKFLOW_LOCAL_DIR"] = str(scratch)
        done = subprocess.run(
            [sys.executable, "-c", code],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        data = json.loads(done.stdout.strip().splitlines()[-1])
        assert sorted(data["queues"]) == sorted(data["named"].values())
        out[service] = data["queues"]
    return out
