"""The README documents every environment variable the code reads."""

from __future__ import annotations

import json
import re

import yaml

from scripts import chart_docs
from tests.deploy.deploylib import CHARTS, ROOT

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


# ---- the charts' READMEs and schema descriptions ---------------------------------------
def test_chart_readmes_and_schema_descriptions_are_generated_from_the_values():
    """`make chart-docs` writes them; a values.yaml edited without it fails here."""
    for chart in CHARTS:
        for path, content in chart_docs.generate(chart).items():
            assert path.read_text() == content, f"{path.relative_to(ROOT)}: run `make chart-docs`"


def test_every_values_key_has_a_description_in_readme_and_schema():
    for chart in CHARTS:
        values_text = (ROOT / "charts" / chart / "values.yaml").read_text()
        keys = chart_docs.parse_values(values_text)
        assert len(keys) > 150
        schema = json.loads((ROOT / "charts" / chart / "values.schema.json").read_text())
        readme = (ROOT / "charts" / chart / "README.md").read_text()
        values = yaml.safe_load(values_text)
        own_line = {k.path for k in keys}
        for path in _all_paths(values):
            # A key written inline ({cpu: 1}) is documented by the nearest own-line parent.
            documented = path
            while documented not in own_line:
                documented = documented.rsplit(".", 1)[0]
            assert f"| {documented} |" in readme, path
            node = schema
            for part in documented.split("."):
                node = node["properties"][part]
            assert node.get("description"), f"{chart}: {documented} has no schema description"


def _all_paths(values, prefix=""):
    for key, value in values.items():
        path = f"{prefix}{key}"
        yield path
        if isinstance(value, dict):
            yield from _all_paths(value, path + ".")


def test_the_values_parser_reads_helm_docs_comments():
    text = (
        "# -- the first\nfirst: 1\n# -- a map\nmap:\n  # -- its key,\n  # continued\n"
        "  key: {a: 1}\n  # -- a list\n  items:\n    - name: x\n      deep: 1\nlast: 2\n"
    )
    keys = chart_docs.parse_values(text)
    assert [(k.path, k.description) for k in keys] == [
        ("first", "the first"),
        ("map", "a map"),
        ("map.key", "its key, continued"),
        ("map.items", "a list"),
        ("last", ""),
    ]
    assert chart_docs.missing_descriptions(keys) == ["line 12: last"]


def test_the_schemas_of_both_charts_have_one_structure():
    """Descriptions differ per chart; what the schema accepts does not."""

    def structure(node):
        if isinstance(node, list):
            return [structure(n) for n in node]
        if not isinstance(node, dict):
            return node
        out = {k: structure(v) for k, v in node.items() if k not in ("description", "title")}
        extra = out.get("additionalProperties")
        if isinstance(extra, dict) and "properties" in out:
            # Keys one chart documents inside a free map (app.config.*, secretEnv.*).
            out["properties"] = {k: v for k, v in out["properties"].items() if v != extra}
            if not out["properties"]:
                del out["properties"]
        return out

    producer, consumer = (
        json.loads((ROOT / "charts" / c / "values.schema.json").read_text()) for c in CHARTS
    )
    assert structure(producer) == structure(consumer)


def test_charts_name_their_icon_and_sources():
    for chart in (*CHARTS, "bankflow-common"):
        meta = yaml.safe_load((ROOT / "charts" / chart / "Chart.yaml").read_text())
        prefix = "https://raw.githubusercontent.com/bankflow/bankflow/main/"
        assert meta["icon"].startswith(prefix)
        assert (ROOT / meta["icon"].removeprefix(prefix)).exists(), meta["icon"]
        assert meta["sources"][0] == meta["home"]
        assert meta["sources"][-1].endswith(f"/charts/{chart}")


# ---- docs/kubernetes.md tells the path CI takes ------------------------------------------
def test_the_kubernetes_guide_describes_the_path_the_workflow_takes():
    guide = (ROOT / "docs" / "kubernetes.md").read_text()
    assert "skaffold run -p e2e" not in guide  # not what CI runs
    assert "make e2e-kind" in guide and "scripts/e2e-kind.sh" in guide
    section = guide.split("## The end-to-end run", 1)[1].split("\n### ", 1)[0]
    steps = re.findall(r"^\d+\. \*\*(\w+)\*\*", section, re.MULTILINE)
    script = (ROOT / "scripts" / "e2e-kind.sh").read_text()
    (line,) = re.findall(r"^STEPS=\((.*)\)$", script, re.MULTILINE)
    assert steps == line.split()
    assert "services/*/Dockerfile" not in guide
    assert "--build-arg SERVICE=producer" in guide


# ---- the repository stands alone: README and docs/ link only inside it --------------------
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# [text](target) and ![alt](target), not inside `code`; <a href="…"> is not used here
_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def _links(path):
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.DOTALL)  # code blocks
    text = re.sub(r"`[^`\n]*`", "", text)  # inline code
    return _LINK.findall(text)


def _anchors(path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.DOTALL)
    headings = re.findall(r"^#{1,6}\s+(.+?)\s*$", text, re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in headings}


def test_the_link_checker_sees_links_and_skips_code():
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "p.md"
        page.write_text('[a](x.md) ![i](img/y.png "t") `[no](z.md)`\n```\n[no](w.md)\n```\n')
        assert _links(page) == ["x.md", "img/y.png"]
    assert "where-each-concern-lives" in _anchors(ROOT / "README.md")


def test_no_link_in_readme_or_docs_leaves_the_repository():
    for path in DOCS:
        for target in _links(path):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto: …
                assert "shared/" not in target, f"{path.name}: {target}"
                continue
            file_part = target.split("#", 1)[0]
            resolved = (path.parent / file_part).resolve()
            assert resolved.is_relative_to(ROOT), f"{path.name}: {target} leaves the repository"
    for path in DOCS:  # nor does the text send readers to a folder outside the repository
        assert "../shared" not in path.read_text(), path.name


def test_every_relative_link_in_readme_and_docs_resolves():
    for path in DOCS:
        for target in _links(path):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target):
                continue
            file_part, _, anchor = target.partition("#")
            linked = (path.parent / file_part).resolve() if file_part else path
            assert linked.exists(), f"{path.relative_to(ROOT)}: {target} does not exist"
            if anchor and linked.suffix == ".md":
                assert anchor in _anchors(linked), (
                    f"{path.relative_to(ROOT)}: #{anchor} not in {linked.name}"
                )


def test_the_readme_links_the_api_reference_and_the_architecture():
    readme = (ROOT / "README.md").read_text()
    assert "](docs/api.md)" in readme and "](docs/architecture.md)" in readme


# ---- the failover drill ---------------------------------------------------------------
def test_make_test_runs_the_short_drill_and_make_drill_the_long_one():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^test:.* test-drill .*## ", makefile, re.MULTILINE)
    assert re.search(r"^test-drill:.*\n\t\$\(PYTEST\) tests/drill$", makefile, re.MULTILINE)
    assert re.search(
        r"^drill:.*\n\t\$\(UV\) run python -m scripts\.drill \$\(DRILL_ARGS\)$",
        makefile,
        re.MULTILINE,
    )


def test_the_readme_quotes_a_full_drill_run_that_lost_and_doubled_nothing():
    drill = (ROOT / "README.md").read_text().split("## Failover drill", 1)[1].split("\n## ", 1)[0]
    last = drill.split("### Last run", 1)[1]
    assert "make drill" in drill and "DRILL_ARGS" in drill
    assert "600 s of load" in last  # the full 10 minutes, not the short drill
    assert "0 lost" in last and "0 ledger legs posted twice" in last
    assert "](docs/img/drill-timeline.png)" in last
    assert (ROOT / "docs" / "img" / "drill-timeline.png").stat().st_size > 10_000
