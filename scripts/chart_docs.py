#!/usr/bin/env python3
"""The charts' README.md and values.schema.json descriptions, from annotated values.

    python -m scripts.chart_docs            write charts/<chart>/README.md and the schema
    python -m scripts.chart_docs --check    exit 1 when either is out of date (tests/deploy)

helm-docs conventions (helm-docs itself is a Go binary that no Python index ships): each
key of ``values.yaml`` that stands on a line of its own carries a ``# -- description``
comment on the line(s) above it, continued on further ``#`` lines; a key written inline
(``{cpu: 250m, ...}``) is documented by its parent, and list items by their list. The
README comes from ``README.md.gotmpl`` beside the chart with the helm-docs templates this
script knows (``chart.header``, ``chart.description``, ``chart.badgesSection``,
``chart.homepageLine``, ``chart.sourcesSection``, ``chart.requirementsSection``,
``chart.maintainersSection``, ``chart.valuesSection``), so that helm-docs renders the same
page. Each description is also written into ``values.schema.json`` at that key, so the
schema describes every key the values have.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
CHARTS = ("producer", "consumer")

_KEY = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z0-9_.\-/\"']+):(?P<rest>.*)$")
_ITEM = re.compile(r"^(?P<indent> *)- ")
_TEMPLATE = re.compile(r'\{\{-?\s*template\s+"(?P<name>[a-zA-Z.]+)"\s+\.\s*-?\}\}')


class DocsError(Exception):
    pass


@dataclass
class Key:
    path: str
    description: str
    line: int
    inline: bool  # its value is on the key's line (a scalar or a flow collection)


def parse_values(text: str, *, source: str = "values.yaml") -> list[Key]:
    """Every own-line key of a values file, in order, with its ``# --`` description."""
    keys: list[Key] = []
    stack: list[tuple[int, str]] = []  # (indent, path) of the open block mappings
    pending: list[str] | None = None
    sequence_indent: int | None = None  # inside a block sequence opened at this indent
    lines = text.splitlines()
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if not stripped:
            pending = None
            continue
        indent = len(line) - len(line.lstrip(" "))
        if sequence_indent is not None:
            if indent > sequence_indent or (indent == sequence_indent and _ITEM.match(line)):
                continue
            sequence_indent = None
        if stripped.startswith("#"):
            body = stripped[1:].strip()
            if body.startswith("--"):
                pending = [body[2:].strip()]
            elif pending is not None:
                pending.append(body)
            continue
        match = _KEY.match(line)
        if not match:
            raise DocsError(f"{source}:{number}: cannot read {line!r}")
        while stack and stack[-1][0] >= indent:
            stack.pop()
        key = match["key"].strip("\"'")
        path = f"{stack[-1][1]}.{key}" if stack else key
        rest = match["rest"].split(" #", 1)[0].strip()
        description = " ".join(part for part in (pending or []) if part)
        keys.append(Key(path, description, number, inline=bool(rest)))
        pending = None
        if not rest:
            following = next(
                (n for n in lines[number:] if n.strip() and not n.strip().startswith("#")), ""
            )
            if _ITEM.match(following):
                sequence_indent = indent
            else:
                stack.append((indent, path))
    return keys


def lookup(values: Any, path: str) -> Any:
    node = values
    for part in path.split("."):
        node = node[part]
    return node


def type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    return "object"


def default_text(value: Any) -> str:
    return "`" + json.dumps(value, separators=(",", ":")).replace("|", "\\|") + "`"


def values_table(keys: list[Key], values: dict[str, Any]) -> str:
    parents = {k.path.rsplit(".", 1)[0] for k in keys if "." in k.path}
    rows = ["| Key | Type | Default | Description |", "|-----|------|---------|-------------|"]
    for key in keys:
        value = lookup(values, key.path)
        default = "see below" if key.path in parents else default_text(value)
        description = key.description.replace("|", "\\|")
        rows.append(f"| {key.path} | {type_name(value)} | {default} | {description} |")
    return "\n".join(rows)


def render_readme(chart_dir: Path, keys: list[Key], values: dict[str, Any]) -> str:
    meta = yaml.safe_load((chart_dir / "Chart.yaml").read_text())
    badges = [
        f"![Version: {meta['version']}](https://img.shields.io/badge/Version-{meta['version']}"
        "-informational?style=flat-square) ",
        f"![Type: {meta.get('type', 'application')}](https://img.shields.io/badge/Type-"
        f"{meta.get('type', 'application')}-informational?style=flat-square) ",
    ]
    if meta.get("appVersion"):
        badges.append(
            f"![AppVersion: {meta['appVersion']}](https://img.shields.io/badge/AppVersion-"
            f"{meta['appVersion']}-informational?style=flat-square) "
        )
    requirements = ["## Requirements", ""]
    if meta.get("kubeVersion"):
        requirements += [f"Kubernetes: `{meta['kubeVersion']}`", ""]
    if meta.get("dependencies"):
        requirements += ["| Repository | Name | Version |", "|------------|------|---------|"]
        requirements += [
            f"| {d.get('repository', '')} | {d['name']} | {d['version']} |"
            for d in meta["dependencies"]
        ]
    sections = {
        "chart.header": f"# {meta['name']}",
        "chart.deprecationWarning": "",
        "chart.badgesSection": "".join(badges),
        "chart.description": meta.get("description", ""),
        "chart.homepageLine": f"**Homepage:** <{meta['home']}>" if meta.get("home") else "",
        "chart.maintainersSection": "\n".join(
            ["## Maintainers", "", "| Name | Email | Url |", "| ---- | ------ | --- |"]
            + [
                f"| {m['name']} | {m.get('email', '')} | {m.get('url', '')} |"
                for m in meta.get("maintainers", [])
            ]
        ),
        "chart.sourcesSection": "\n".join(
            ["## Source Code", ""] + [f"* <{s}>" for s in meta.get("sources", [])]
        ),
        "chart.requirementsSection": "\n".join(requirements),
        "chart.valuesSection": "## Values\n\n" + values_table(keys, values),
    }
    template = (chart_dir / "README.md.gotmpl").read_text()

    def expand(match: re.Match[str]) -> str:
        name = match["name"]
        if name not in sections:
            raise DocsError(f"{chart_dir.name}/README.md.gotmpl: unknown template {name!r}")
        return sections[name]

    text = _TEMPLATE.sub(expand, template)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def _schema_node(schema: dict[str, Any], path: str) -> dict[str, Any]:
    node = schema
    for part in path.split("."):
        properties = node.get("properties")
        if properties is not None and part in properties:
            node = properties[part]
            continue
        extra = node.get("additionalProperties")
        if isinstance(extra, dict):
            node.setdefault("properties", {})[part] = copy.deepcopy(extra)
            node = node["properties"][part]
            continue
        raise DocsError(f"values.schema.json has no property for {path} (at {part!r})")
    return node


def describe_schema(schema: dict[str, Any], keys: list[Key]) -> dict[str, Any]:
    described = copy.deepcopy(schema)
    for key in keys:
        _schema_node(described, key.path)["description"] = key.description
    return described


def missing_descriptions(keys: list[Key]) -> list[str]:
    return [f"line {k.line}: {k.path}" for k in keys if not k.description]


def generate(chart: str) -> dict[Path, str]:
    """What the chart's README.md and values.schema.json should contain."""
    chart_dir = ROOT / "charts" / chart
    text = (chart_dir / "values.yaml").read_text()
    keys = parse_values(text, source=f"charts/{chart}/values.yaml")
    missing = missing_descriptions(keys)
    if missing:
        raise DocsError(
            f"charts/{chart}/values.yaml: keys without a `# --` description: " + ", ".join(missing)
        )
    values = yaml.safe_load(text)
    schema_path = chart_dir / "values.schema.json"
    schema = describe_schema(json.loads(schema_path.read_text()), keys)
    return {
        chart_dir / "README.md": render_readme(chart_dir, keys, values),
        schema_path: json.dumps(schema, indent=2, ensure_ascii=False) + "\n",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report files out of date")
    args = parser.parse_args(argv)
    stale: list[str] = []
    try:
        for chart in CHARTS:
            for path, content in generate(chart).items():
                if path.exists() and path.read_text() == content:
                    continue
                stale.append(str(path.relative_to(ROOT)))
                if not args.check:
                    path.write_text(content)
    except DocsError as exc:
        print(f"chart_docs: {exc}", file=sys.stderr)
        return 2
    if stale and args.check:
        print("out of date (run `make chart-docs`): " + ", ".join(stale), file=sys.stderr)
        return 1
    for path in stale:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
