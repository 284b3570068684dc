"""Every argument of every consumer management command says what it is in --help."""

import argparse

import pytest
from django.core.management import get_commands, load_command_class

OWN = sorted(name for name, app in get_commands().items() if app.startswith("consumer."))


def test_the_service_has_commands_of_its_own():
    assert OWN


@pytest.mark.parametrize("name", OWN)
def test_every_argument_has_help(name):
    command = load_command_class(get_commands()[name], name)
    parser = command.create_parser("consumer", name)
    assert command.help, f"{name} has no help text"
    missing = [
        action.option_strings or [action.dest]
        for action in parser._actions
        if not isinstance(action, argparse._HelpAction)
        and (not action.help or action.help == argparse.SUPPRESS)
    ]
    assert not missing, f"{name}: arguments without help: {missing}"


def test_every_command_line_in_the_readme_and_docs_names_a_command_and_parses():
    """`uv run consumer …` in the README and docs/: a real command, with arguments it takes
    (words in capitals are placeholders and stand for one value)."""
    import re
    import shlex
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    texts = [root / "README.md", *sorted((root / "docs").glob("*.md"))]
    lines = {
        match.strip()
        for path in texts
        for match in re.findall(r"uv run consumer ([a-z_][^`\n|#)]*)", path.read_text())
    }
    assert lines
    for line in sorted(lines):
        name, *args = shlex.split(line)
        if name == "help":  # manage.py's own: `help COMMAND`
            assert len(args) == 1
            continue
        assert name in get_commands(), f"uv run consumer {line}: no such command"
        command = load_command_class(get_commands()[name], name)
        args = ["x" if a.isupper() else a for a in args]
        command.create_parser("consumer", name).parse_args(args)
