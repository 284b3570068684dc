"""uv run producer revoke_key PREFIX: stop accepting one API key."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from bankflow.errors import NotFound
from producer.clients.selectors import api_key_get
from producer.clients.services import api_key_revoke


class Command(BaseCommand):
    help = (
        "Revoke the API key with this prefix (the part after bf_, as list_keys shows it). "
        "Every web process refuses it within API_KEY_CACHE_SECONDS."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "prefix",
            metavar="PREFIX",
            help="the key's prefix (12 hex digits), or the whole key bf_<prefix>_…",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            api_key = api_key_get(prefix=options["prefix"].strip())
        except NotFound as exc:
            raise CommandError(exc.message) from None
        if api_key.is_revoked:
            self.stdout.write(
                f"Key {api_key.prefix} of client {api_key.client.name} was already revoked "
                f"at {api_key.revoked_at:%Y-%m-%d %H:%M:%S} UTC."
            )
            return
        api_key_revoke(api_key=api_key)
        self.stdout.write(
            f"Revoked key {api_key.prefix} of client {api_key.client.name}: refused by every "
            f"web process within {settings.API_KEY_CACHE_SECONDS:g} s."
        )
