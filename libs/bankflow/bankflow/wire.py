"""The wire between the two services, in one place (docs/pipeline.md).

- **Intake** (producer → consumer, ``POST /api/v1/transactions/``): one ``IntakeItem`` or a
  list of 1-1000. The body is a bare list, so its version travels in the
  ``Bankflow-Wire-Version`` header.
- **Results** (consumer → producer, the signed webhook): a ``ResultsMessage`` envelope
  carrying its own ``version``, so that a message stored and retried for a day still says
  which version it was written in.

Readers are tolerant: unknown fields are ignored, so a sender may add fields without
breaking an older reader; a missing version is version 1 (what was sent before messages
were versioned); a version the reader does not know is refused with ``UnsupportedVersion``
(400, ``code: unsupported_version``), which senders treat as "retry later", because the
reader will know it once it is upgraded. A breaking change gets a new version, and the
reader is deployed before the writer.

Amounts are decimal strings with exactly the currency's minor units; datetimes are RFC 3339
in UTC with a ``Z``. Types are the decoded (Python) form; ``msgspec`` validates and
converts on the way in and encodes on the way out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import (
    Annotated,
    Any,
    Literal,
    NotRequired,
    TypedDict,
    get_args,
    get_origin,
    get_type_hints,
)
from uuid import UUID

import msgspec
from django.db import models

from bankflow import money
from bankflow.errors import ApplicationError, Invalid

VERSION = 1
SUPPORTED_VERSIONS = frozenset({1})
VERSION_HEADER = "Bankflow-Wire-Version"
MAX_ITEMS = 1000

# --- transaction types and the accounts each one needs -------------------------------------


class TransactionType(models.TextChoices):
    """The four kinds of transaction (also the models' choices on both sides)."""

    TRANSFER = "transfer"
    PAYMENT = "payment"
    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"


NEEDS_SOURCE = frozenset(
    {TransactionType.TRANSFER, TransactionType.PAYMENT, TransactionType.WITHDRAWAL}
)
NEEDS_DESTINATION = frozenset(
    {TransactionType.TRANSFER, TransactionType.PAYMENT, TransactionType.DEPOSIT}
)

PROCESSED, FAILED = "processed", "failed"
DECISIONS = ("approved", "declined", "review")


def account_errors(kind: str, source: str | None, destination: str | None) -> dict[str, list[str]]:
    """Which accounts ``kind`` needs, and that they differ: {field: [messages]} per breach."""
    errors: dict[str, list[str]] = {}
    for field, value, needed in (
        ("source_account", source, kind in NEEDS_SOURCE),
        ("destination_account", destination, kind in NEEDS_DESTINATION),
    ):
        if needed and not value:
            errors[field] = [f"This field is required for a {kind}."]
        elif value and not needed:
            errors[field] = [f"Must be absent or null for a {kind}."]
    if source and source == destination:
        errors.setdefault("destination_account", []).append("Must differ from source_account.")
    return errors


# --- formats --------------------------------------------------------------------------------


def amount_text(amount: Decimal, currency: str) -> str:
    """The amount with exactly the currency's minor units ("125.50", "100", "1.250")."""
    return f"{money.round_money(amount, currency):f}"


def iso_datetime(value: datetime) -> str:
    """RFC 3339 in UTC with a ``Z`` (``2026-11-21T10:00:00.123456Z``)."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


# --- versions and errors --------------------------------------------------------------------


class UnsupportedVersion(ApplicationError):
    code = "unsupported_version"


class WireError(Invalid):
    """A malformed message: field errors, or ``{"<index>": {field: [...]}}`` for a list."""


def check_version(value: object) -> int:
    """The version a message says it is in (None: 1), or UnsupportedVersion."""
    if value is None or value == "":
        return 1
    try:
        version = int(str(value))
    except ValueError:
        version = -1
    if version not in SUPPORTED_VERSIONS:
        supported = ", ".join(map(str, sorted(SUPPORTED_VERSIONS)))
        raise UnsupportedVersion(
            f"Wire version {value!r} is not supported here (supported: {supported}); "
            "upgrade this service before its peer."
        )
    return version


_SEGMENT = re.compile(r"\[(\d+)\]|\.([A-Za-z_][A-Za-z0-9_]*)")
_MISSING = re.compile(r"Object missing required field `([^`]+)`")


def _errors(exc: msgspec.ValidationError) -> dict[str, Any]:
    """msgspec's ``Invalid decimal string - at `$.results[3].fee``` as the API's error shape:
    ``{"results": {"3": {"fee": ["Invalid decimal string."]}}}``."""
    message, _, path = str(exc).partition(" - at `$")
    keys = [index or name for index, name in _SEGMENT.findall(path.rstrip("`"))]
    missing = _MISSING.match(message)
    if missing:
        keys, message = [*keys, missing.group(1)], "This field is required"
    if not keys:
        keys = ["non_field_errors"]
    nested: Any = [message.rstrip(".") + "."]
    for key in reversed(keys):
        nested = {key: nested}
    return dict(nested)


# --- intake: producer → consumer ------------------------------------------------------------

Iban = Annotated[str, msgspec.Meta(max_length=64)]
Text = Annotated[str, msgspec.Meta(max_length=1000)]


class IntakeItem(TypedDict):
    id: UUID
    type: Literal["transfer", "payment", "deposit", "withdrawal"]
    amount: Decimal
    currency: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z]{3}$")]
    reference: NotRequired[Annotated[str, msgspec.Meta(max_length=255)] | None]
    source_account: NotRequired[Iban | None]
    destination_account: NotRequired[Iban | None]
    description: NotRequired[Text | None]
    created_at: NotRequired[Annotated[datetime, msgspec.Meta(tz=True)] | None]
    client_id: NotRequired[UUID | None]
    correlation_id: NotRequired[
        Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9._:-]{0,128}$")] | None
    ]


def intake_item(
    *,
    id: UUID,
    reference: str,
    type: str,
    amount: Decimal,
    currency: str,
    source_account: str | None,
    destination_account: str | None,
    description: str,
    created_at: datetime,
    client_id: UUID,
    correlation_id: str,
) -> IntakeItem:
    return {
        "id": id,
        "reference": reference,
        "type": type,  # type: ignore[typeddict-item]
        "amount": money.round_money(amount, currency),
        "currency": currency,
        "source_account": source_account,
        "destination_account": destination_account,
        "description": description,
        "created_at": created_at,
        "client_id": client_id,
        "correlation_id": correlation_id,
    }


def encode(message: Any) -> bytes:
    """The JSON bytes of any wire message (UUIDs, Decimals and datetimes as strings)."""
    return msgspec.json.encode(message, enc_hook=_enc_hook)


def _enc_hook(value: Any) -> Any:
    raise NotImplementedError(f"not a wire type: {type(value).__name__}")


_intake_item = msgspec.json.Decoder(IntakeItem)
_raw_list = msgspec.json.Decoder(list[msgspec.Raw])
_any = msgspec.json.Decoder()
# What the consumer stores: numeric(24, 6).
AMOUNT_MAX_DIGITS, AMOUNT_MAX_DECIMALS = 24, 6


def decode_intake(body: bytes) -> list[IntakeItem]:
    """The items of an intake body: one object, or a list of 1-1000.

    WireError names every bad field of every bad item (``{"3": {"amount": ["…"]}}``); a body
    with any bad item returns nothing. The fast path decodes and checks in one pass; only a
    bad item is looked at field by field to say everything that is wrong with it.
    """
    if not body.lstrip().startswith(b"["):
        try:
            return [_item(body)]
        except msgspec.ValidationError:  # (a DecodeError too: this clause comes first)
            raise WireError(_all_errors(IntakeItem, _any.decode(body))) from None
        except msgspec.DecodeError as exc:
            raise WireError({"non_field_errors": [f"The body is not JSON: {exc}."]}) from None
    try:
        raws = _raw_list.decode(body)
    except msgspec.DecodeError as exc:
        raise WireError({"non_field_errors": [f"The body is not JSON: {exc}."]}) from None
    if not 1 <= len(raws) <= MAX_ITEMS:
        raise WireError(
            {"non_field_errors": [f"Expected 1 to {MAX_ITEMS} transactions, got {len(raws)}."]}
        )
    items: list[IntakeItem] = []
    errors: dict[str, Any] = {}
    for index, raw in enumerate(raws):
        try:
            items.append(_item(raw))
        except msgspec.ValidationError:
            errors[str(index)] = _all_errors(IntakeItem, _any.decode(raw))
    if errors:
        raise WireError(errors)
    return items


def _item(raw: bytes | msgspec.Raw) -> IntakeItem:
    item = _intake_item.decode(raw)
    problem = _amount_problem(item["amount"])
    if problem:
        raise msgspec.ValidationError(f"{problem} - at `$.amount`")
    return item


def _amount_problem(amount: Decimal) -> str:
    if not amount.is_finite():
        return "Expected a finite decimal"
    sign_digits_exponent = amount.as_tuple()
    exponent = int(sign_digits_exponent.exponent)
    if -exponent > AMOUNT_MAX_DECIMALS or len(sign_digits_exponent.digits) > AMOUNT_MAX_DIGITS:
        return f"At most {AMOUNT_MAX_DIGITS} digits, {AMOUNT_MAX_DECIMALS} of them decimals"
    return ""


def _all_errors(kind: type, value: Any) -> dict[str, Any]:
    """Every field error of one object (the slow path, for a bad item only)."""
    if not isinstance(value, dict):
        return {"non_field_errors": ["Expected an object."]}
    hints = get_type_hints(kind, include_extras=True)
    errors: dict[str, Any] = {}
    for field, hint in hints.items():
        if field not in value:
            if get_origin(hint) is not NotRequired:
                errors[field] = ["This field is required."]
            continue
        try:
            converted = msgspec.convert(value[field], _unwrap(hint), strict=False)
        except msgspec.ValidationError as exc:
            errors[field] = [str(exc).partition(" - at `")[0].rstrip(".") + "."]
            continue
        if isinstance(converted, Decimal) and (problem := _amount_problem(converted)):
            errors[field] = [f"{problem}."]
    return errors


def _unwrap(hint: Any) -> Any:
    """``NotRequired[X]`` -> X (get_type_hints keeps it with include_extras)."""
    return get_args(hint)[0] if get_origin(hint) is NotRequired else hint


# --- results: consumer → producer -----------------------------------------------------------

RESULTS = "transaction.results"
# A reviewer's final decision on a transaction first scored ``review`` (its whole final
# result, with the review record): it replaces a ``review`` result once, or is applied as
# the final result to a transaction not final yet (it may overtake the first result).
REVIEW_RESOLVED = "transaction.review_resolved"
MESSAGE_TYPES = (RESULTS, REVIEW_RESOLVED)
REVIEW_DECISIONS = ("approved", "declined")
Reason = Annotated[str, msgspec.Meta(max_length=10_000)]


class ResultBody(TypedDict):
    """What the producer checks of a result; it stores the object as sent."""

    decision: Literal["approved", "declined", "review"]
    risk_score: Annotated[int, msgspec.Meta(ge=0, le=100)]
    reasons: NotRequired[list[str]]
    fee: NotRequired[Decimal]
    processed_at: NotRequired[Annotated[datetime, msgspec.Meta(tz=True)]]


class ReviewRecord(TypedDict):
    """Who decided a review, how, and what the first score was."""

    decision: Literal["approved", "declined"]
    note: Annotated[str, msgspec.Meta(max_length=10_000)]
    reviewer: Annotated[str, msgspec.Meta(min_length=1, max_length=150)]
    reviewed_at: Annotated[datetime, msgspec.Meta(tz=True)]
    initial_risk_score: Annotated[int, msgspec.Meta(ge=0, le=100)]
    # Who decided, for the audit trail: "staff:<username>" (the console) or
    # "reviewer:<name>" (the API); readers that do not know it ignore it.
    actor: NotRequired[Annotated[str, msgspec.Meta(max_length=200)]]


class ReviewedResultBody(TypedDict):
    """A ``transaction.review_resolved`` result: final, and carrying its review."""

    decision: Literal["approved", "declined"]
    risk_score: Annotated[int, msgspec.Meta(ge=0, le=100)]
    reasons: NotRequired[list[str]]
    fee: Decimal
    processed_at: Annotated[datetime, msgspec.Meta(tz=True)]
    review: ReviewRecord


class ResultItem(TypedDict):
    transaction_id: UUID
    status: Literal["processed", "failed"]
    result: NotRequired[dict[str, Any] | None]
    reason: NotRequired[Reason]
    correlation_id: NotRequired[Annotated[str, msgspec.Meta(max_length=128)]]


class ResultsMessage(TypedDict):
    type: Literal["transaction.results", "transaction.review_resolved"]
    results: Annotated[list[ResultItem], msgspec.Meta(min_length=1, max_length=MAX_ITEMS)]
    version: NotRequired[int]


def result_item(
    *,
    transaction_id: UUID,
    status: str,
    correlation_id: str,
    result: Mapping[str, Any] | None = None,
    reason: str = "",
) -> dict[str, Any]:
    """One entry of a results message: the result when processed, the reason when failed."""
    item: dict[str, Any] = {
        "transaction_id": str(transaction_id),
        "status": status,
        "correlation_id": correlation_id,  # a string, never null: readers want one
    }
    if status == PROCESSED:
        item["result"] = dict(result or {})
    else:
        item["reason"] = reason
    return item


def results_message(items: Iterable[Mapping[str, Any]], *, type: str = RESULTS) -> dict[str, Any]:
    """A results envelope in the current version (stored as JSON and retried as is);
    ``type=REVIEW_RESOLVED`` for reviewers' final decisions."""
    if type not in MESSAGE_TYPES:
        raise ValueError(f"not a results message type: {type}")
    return {"type": type, "version": VERSION, "results": list(items)}


def read_results(payload: Any) -> ResultsMessage:
    """A parsed (JSON) results message, checked; WireError or UnsupportedVersion otherwise.

    Every processed item must carry a result whose shape ``ResultBody`` accepts; in a
    ``transaction.review_resolved`` message, every item is processed with a final result
    and its review record (``ReviewedResultBody``).
    """
    if isinstance(payload, dict):
        check_version(payload.get("version"))
    try:
        message = msgspec.convert(payload, ResultsMessage, strict=False)
    except msgspec.ValidationError as exc:
        raise WireError(_errors(exc)) from None
    errors: dict[str, Any] = {}
    reviewed = message["type"] == REVIEW_RESOLVED
    body = ReviewedResultBody if reviewed else ResultBody
    for index, item in enumerate(message["results"]):
        result = item.get("result")
        if reviewed and item["status"] != PROCESSED:
            errors[str(index)] = {"status": ["A review resolution is always processed."]}
        elif item["status"] == PROCESSED and not result:
            errors[str(index)] = {"result": ["Required for a processed result."]}
        elif result is not None:
            try:
                msgspec.convert(result, body, strict=False)
            except msgspec.ValidationError as exc:
                errors[str(index)] = {"result": _errors(exc)}
    if errors:
        raise WireError({"results": errors})
    return message


# --- reconciliation: the consumer's totals of a day, asked by the producer -------------------


class ReconciliationTotals(TypedDict):
    """One currency of a day: how many, how much, which."""

    currency: str
    count: int
    amount_sum: Decimal
    fee_sum: Decimal
    ids: list[UUID]


class ReconciliationDay(TypedDict):
    """``GET /api/v1/reconciliation/?date=…`` on the consumer: the transactions it processed
    (whatever their decision) whose producer ``created_at`` falls on ``date`` (UTC), before
    ``created_before`` when the producer asked for a settle window."""

    date: str
    created_before: NotRequired[str | None]
    currencies: list[ReconciliationTotals]


def reconciliation_day(
    *, day: str, created_before: datetime | None, totals: Iterable[Mapping[str, Any]]
) -> dict[str, Any]:
    """The consumer's answer, from ``bankflow.reconciliation.totals``."""
    return {
        "date": day,
        "created_before": iso_datetime(created_before) if created_before else None,
        "currencies": [
            {
                "currency": t["currency"],
                "count": t["count"],
                "amount_sum": f"{t['amount_sum']:f}",
                "fee_sum": f"{t['fee_sum']:f}",
                "ids": [str(i) for i in t["ids"]],
            }
            for t in totals
        ],
    }


def read_reconciliation_day(payload: Any) -> ReconciliationDay:
    try:
        return msgspec.convert(payload, ReconciliationDay, strict=False)
    except msgspec.ValidationError as exc:
        raise WireError(_errors(exc)) from None
