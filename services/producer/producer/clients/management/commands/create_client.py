from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from producer.clients.models import Client
from producer.clients.services import client_create_or_add_key


class Command(BaseCommand):
    help = (
        "Create the client NAME if missing, or add a new API key to it (keys rotate). "
        "The new key is printed as the last line; it is stored hashed and cannot be shown again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", metavar="NAME", help="the client's name (1 to 100 characters)")

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["name"].strip()
        max_length = Client._meta.get_field("name").max_length or 100
        if not name or len(name) > max_length:
            raise CommandError(f"NAME must be 1 to {max_length} characters.")
        client, created, raw_key = client_create_or_add_key(name=name)
        verb = "Created client" if created else "Added a new key to client"
        self.stdout.write(f"{verb} {client.name} ({client.id}). API key:")
        self.stdout.write(raw_key)
