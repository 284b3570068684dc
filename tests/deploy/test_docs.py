"""The README documents every environment variable the code reads."""

from __future__ import annotations

import re

from tests.deploy.deploylib import ROOT

SOURCES = [
    *ROOT.glob("libs/bankflow/bankflow/*.py"),
    *ROOT.glob("services/*/*/settings.py"),
]
# env.str("NAME", …), env.list(\n "NAME", …), conf.secret(env, "NAME", …),
# required_or_local(env, "NAME", …), os.environ.get("NAME")
_READS = re.compile(
    r"(?:env\.\w+\(\s*|(?:secret|required_or_local)\(\s*env,\s*|environ(?:\.get)?[(\[]\s*)"
    r'"([A-Z][A-Z0-9_]+)"'
)
NOT_SETTINGS = {"DJANGO_SETTINGS_MODULE"}


def variables_read() -> set[str]:
    found: set[str] = set()
    for path in SOURCES:
        found.update(_READS.findall(path.read_text()))
    return found - NOT_SETTINGS


def test_the_extractor_sees_the_multi_line_reads():
    names = variables_read()
    assert {"DATABASE_URL", "DJANGO_SECRET_KEY", "WEBHOOK_SECRETS", "WEBHOOK_SECRET"} <= names
    assert {"RISK_LARGE_AMOUNTS", "WEBHOOK_RETRY_SCHEDULE", "METRICS_PORT"} <= names


def test_every_variable_is_in_the_readme_configuration_tables():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", section))
    missing = sorted(variables_read() - documented)
    assert not missing, f"read by the code but not in README's Configuration: {missing}"
