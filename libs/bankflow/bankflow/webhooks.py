"""Standard Webhooks signing and verification (the ``standardwebhooks`` library).

Secrets are in the Standard Webhooks form (``whsec_`` + base64). Verification accepts any
of several secrets so that a secret can rotate without a window of refused deliveries;
the library itself accepts several space-separated signatures and enforces the 5-minute
timestamp tolerance.
"""

from __future__ import annotations

import base64
import json
import secrets as _secrets
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError

__all__ = ["WebhookVerificationError", "generate_secret", "sign", "verify"]


def generate_secret() -> str:
    return "whsec_" + base64.b64encode(_secrets.token_bytes(32)).decode()


def sign(
    secret: str, *, msg_id: str, body: str, timestamp: datetime | None = None
) -> dict[str, str]:
    """The three headers for one message."""
    when = timestamp or datetime.now(tz=UTC)
    signature = Webhook(secret).sign(msg_id, when, body)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": signature,
    }


_SIGNATURE_BYTES = 32  # HMAC-SHA256


def _canonical_signatures(header: str) -> str:
    """The header's ``v1`` signatures that are canonical base64 of 32 bytes, others dropped.

    The library compares decoded bytes after a lenient decode, which ignores the last
    character's spare bits and any extra padding: ``…9RE=`` and ``…9RF=`` would both
    verify. A signature must be the one string the signer wrote, or nothing.
    """
    kept = []
    for part in header.split(" "):
        version, _, encoded = part.partition(",")
        if version != "v1":
            continue
        try:
            raw = base64.b64decode(encoded, validate=True)
        except ValueError:
            continue
        if len(raw) == _SIGNATURE_BYTES and base64.b64encode(raw).decode() == encoded:
            kept.append(part)
    if not kept:
        raise WebhookVerificationError("No valid v1 signature")
    return " ".join(kept)


def verify(secrets: Iterable[str], *, headers: Mapping[str, str], body: bytes | str) -> Any:
    """The parsed JSON payload, or WebhookVerificationError.

    A malformed signature header (no comma, bad base64) or a body that is not UTF-8 is a
    verification failure too. A correctly signed body that is not JSON raises ValueError,
    so that the caller can tell "not from the sender" (401) from "malformed" (400).
    """
    wanted = {k.lower(): v for k, v in headers.items() if k.lower().startswith("webhook-")}
    wanted["webhook-signature"] = _canonical_signatures(wanted.get("webhook-signature", ""))
    last: Exception = WebhookVerificationError("No webhook secret configured")
    for secret in secrets:
        try:
            Webhook(secret).verify(body, wanted, json_parse=False)
        except WebhookVerificationError as exc:
            last = exc
        except ValueError:
            last = WebhookVerificationError("Malformed webhook headers or body")
        else:
            return json.loads(body)
    raise last
