"""uv run consumer console_user [--username NAME]: a local staff user with a new password.

Local mode only (``make run`` calls it): creates the user, or gives it a fresh password,
makes it a superuser of this local consumer (it may decide reviews and redeliver
webhooks) and prints the password as the last line. Anywhere else use
``createsuperuser`` and the ``reviewer`` group.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Local mode only: create (or reset) a console staff user and print its password."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--username", default="operator", help="the staff user to create or reset (operator)"
        )

    def handle(self, *args: Any, username: str, **options: Any) -> None:
        if not settings.LOCAL:
            raise CommandError(
                "console_user is for local mode only; use createsuperuser and the reviewer group."
            )
        password = secrets.token_urlsafe(12)
        user, _ = User.objects.get_or_create(username=username)
        user.is_staff = user.is_superuser = user.is_active = True
        user.set_password(password)
        user.save()
        self.stdout.write(f"console user: {username}")
        self.stdout.write(password)
