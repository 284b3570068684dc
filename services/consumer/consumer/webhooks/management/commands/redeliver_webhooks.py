"""uv run consumer redeliver_webhooks --dead | --message ID [--message ID …]"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from consumer.intake import events
from consumer.webhooks.services import webhook_messages_redeliver


class Command(BaseCommand):
    help = (
        "Send webhook messages again with a fresh retry schedule: every dead message "
        "(--dead) and/or the named ones (--message, dead or retrying)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dead", action="store_true", help="every message in state dead")
        parser.add_argument(
            "--message", action="append", default=[], metavar="ID", help="a message id (msg_…)"
        )

    def handle(self, *args: Any, dead: bool, message: list[str], **options: Any) -> None:
        if not dead and not message:
            raise CommandError("Name messages with --message ID, or pass --dead.")
        ids = webhook_messages_redeliver(
            message_ids=message, dead=dead, actor=events.command_actor("redeliver_webhooks")
        )
        for message_id in ids:
            self.stdout.write(message_id)
        left = sorted(set(message) - set(ids))
        if left:
            self.stderr.write(f"left alone (unknown, pending or delivered): {', '.join(left)}")
        self.stdout.write(self.style.SUCCESS(f"{len(ids)} message(s) scheduled for delivery"))
