import io

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db


def run(**kwargs):
    out = io.StringIO()
    call_command("console_user", stdout=out, **kwargs)
    return out.getvalue().strip().splitlines()


def test_local_mode_creates_a_staff_user_and_prints_its_password(settings):
    settings.LOCAL = True

    lines = run()

    assert lines[-2] == "console user: operator"
    user = authenticate(username="operator", password=lines[-1])
    assert user is not None and user.is_staff and user.has_perm("review.decide_review")


def test_each_run_gives_a_new_password(settings):
    settings.LOCAL = True
    first = run()[-1]

    second = run()[-1]

    assert first != second
    assert authenticate(username="operator", password=first) is None
    assert authenticate(username="operator", password=second) is not None


def test_outside_local_mode_it_refuses(settings):
    settings.LOCAL = False

    with pytest.raises(CommandError, match="local mode only"):
        run()
