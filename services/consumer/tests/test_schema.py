from django.core.management import call_command

from bankflow.testing.schema import *  # noqa: F403 - the error answers every service documents


def test_openapi_schema_validates_without_warnings(tmp_path):
    # --fail-on-warn turns drf-spectacular's warnings (an authenticator it cannot
    # describe, an unresolvable serializer) into a failure
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yaml"))
    assert "ServiceToken" in (tmp_path / "s.yaml").read_text()
