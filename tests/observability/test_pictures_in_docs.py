"""The pictures the docs show exist and are linked where people look (offline).

They are drawn by test_dashboards.py and test_alerts_live.py from a real run; `make
pictures` writes them to docs/img.
"""

from __future__ import annotations

import re

import pytest

from tests.deploy.deploylib import CHARTS
from tests.observability.promlib import ROOT, UNIT_TESTED_ONLY, alert_rules


def sections(markdown: str) -> dict[str, str]:
    parts = re.split(r"^## (.+)$", markdown, flags=re.MULTILINE)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def test_the_readme_shows_the_pipeline_overview_from_a_real_run():
    readme = (ROOT / "README.md").read_text()
    observability = sections(readme)["Observability"]
    assert "](docs/img/pipeline-overview.png)" in observability
    assert (ROOT / "docs" / "img" / "pipeline-overview.png").stat().st_size > 10_000


@pytest.mark.parametrize("chart", CHARTS)
def test_each_runbook_section_shows_its_alert(rules_by_chart, chart):
    runbooks = sections((ROOT / "docs" / "runbooks.md").read_text())
    for rule in alert_rules(rules_by_chart[chart]):
        name = rule["alert"]
        if name in UNIT_TESTED_ONLY:  # no live fault to draw it from: the section says so
            assert "unit-tested only" in runbooks.get(name, ""), f"docs/runbooks.md: {name}"
            continue
        picture = f"img/alerts/{name.lower()}.png"
        assert f"]({picture})" in runbooks.get(name, ""), f"docs/runbooks.md: {name} has no picture"
        assert (ROOT / "docs" / picture).exists(), f"docs/{picture} missing: run make pictures"
