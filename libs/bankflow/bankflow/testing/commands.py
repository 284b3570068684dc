"""The management-command tests every service runs: each argument has ``--help`` text, and
every ``uv run <service> …`` line in the README and ``docs/`` names a real command with
arguments it takes.

A service's ``tests/test_command_help.py`` imports these and defines the ``service``
fixture (its name: ``producer`` or ``consumer``).
"""

from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path

from django.core.management import get_commands, load_command_class

ROOT = Path(__file__).resolve().parents[4]


def own_commands(service: str) -> list[str]:
    return sorted(name for name, app in get_commands().items() if app.startswith(f"{service}."))


def test_every_argument_of_every_own_command_has_help(service):
    names = own_commands(service)
    assert names, f"{service} has no commands of its own"
    for name in names:
        command = load_command_class(get_commands()[name], name)
        parser = command.create_parser(service, name)
        assert command.help, f"{name} has no help text"
        missing = [
            action.option_strings or [action.dest]
            for action in parser._actions
            if not isinstance(action, argparse._HelpAction)
            and (not action.help or action.help == argparse.SUPPRESS)
        ]
        assert not missing, f"{name}: arguments without help: {missing}"


def test_every_command_line_in_the_readme_and_docs_names_a_command_and_parses(service):
    """Words in capitals are placeholders and stand for one value."""
    texts = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    lines = {
        match.strip()
        for path in texts
        for match in re.findall(rf"uv run {service} ([a-z_][^`\n|#)]*)", path.read_text())
    }
    assert lines
    for line in sorted(lines):
        name, *args = shlex.split(line)
        if name == "help":  # manage.py's own: `help COMMAND`
            assert len(args) == 1
            continue
        assert name in get_commands(), f"uv run {service} {line}: no such command"
        command = load_command_class(get_commands()[name], name)
        args = ["x" if a.isupper() else a for a in args]
        command.create_parser(service, name).parse_args(args)
