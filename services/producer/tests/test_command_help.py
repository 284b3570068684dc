"""Every argument of every producer management command says what it is in --help."""

import argparse

import pytest
from django.core.management import get_commands, load_command_class

OWN = sorted(name for name, app in get_commands().items() if app.startswith("producer."))


def test_the_service_has_commands_of_its_own():
    assert OWN


@pytest.mark.parametrize("name", OWN)
def test_every_argument_has_help(name):
    command = load_command_class(get_commands()[name], name)
    parser = command.create_parser("producer", name)
    assert command.help, f"{name} has no help text"
    missing = [
        action.option_strings or [action.dest]
        for action in parser._actions
        if not isinstance(action, argparse._HelpAction)
        and (not action.help or action.help == argparse.SUPPRESS)
    ]
    assert not missing, f"{name}: arguments without help: {missing}"
