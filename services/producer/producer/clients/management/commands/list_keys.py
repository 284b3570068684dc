"""uv run producer list_keys CLIENT: a client's API keys, their prefixes and last use."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from bankflow.errors import NotFound
from producer.clients.selectors import api_key_list, client_get


def _when(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M}" if value else "-"


class Command(BaseCommand):
    help = (
        "List the API keys of client CLIENT, newest first: prefix, created, last used "
        "(to within a few minutes) and revoked, one key per line. Keys themselves are "
        "never shown: they are stored hashed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("client", metavar="CLIENT", help="the client's name")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            client = client_get(name=options["client"])
        except NotFound as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"{'prefix':<14}{'created (UTC)':<18}{'last used':<18}{'revoked':<18}")
        for key in api_key_list(client=client):
            self.stdout.write(
                f"{key.prefix:<14}{_when(key.created_at):<18}{_when(key.last_used_at):<18}"
                f"{_when(key.revoked_at):<18}".rstrip()
            )
