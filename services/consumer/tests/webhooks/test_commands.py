import pytest
from django.core.management import CommandError, call_command

from consumer.webhooks.models import MessageState
from tests.factories import WebhookMessageFactory

pytestmark = pytest.mark.django_db


def test_redeliver_dead_sends_every_dead_message(
    producer, django_capture_on_commit_callbacks, capsys
):
    dead = WebhookMessageFactory.create_batch(2, state=MessageState.DEAD, next_attempt_at=None)

    with django_capture_on_commit_callbacks(execute=True):
        call_command("redeliver_webhooks", "--dead")

    out = capsys.readouterr().out
    assert "2 message(s) scheduled" in out
    for message in dead:
        message.refresh_from_db()
        assert message.state == MessageState.DELIVERED


def test_redeliver_one_message_by_id(producer, django_capture_on_commit_callbacks, capsys):
    chosen = WebhookMessageFactory(state=MessageState.DEAD)
    other = WebhookMessageFactory(state=MessageState.DEAD)

    with django_capture_on_commit_callbacks(execute=True):
        call_command("redeliver_webhooks", "--message", chosen.id, "--message", "msg_unknown")

    chosen.refresh_from_db()
    other.refresh_from_db()
    assert (chosen.state, other.state) == (MessageState.DELIVERED, MessageState.DEAD)
    assert "msg_unknown" in capsys.readouterr().err


def test_redeliver_needs_a_choice():
    with pytest.raises(CommandError):
        call_command("redeliver_webhooks")
