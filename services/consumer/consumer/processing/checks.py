"""System checks: a risk or fee configuration that cannot work stops `migrate` (and so
`make run` and the charts' migration Job) instead of every batch that meets it."""

from __future__ import annotations

from typing import Any

from django.core import checks

from consumer.processing.fees import FeeSchedule
from consumer.processing.risk import RiskConfig


@checks.register()
def processing_configuration(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    for name, build in (
        ("RISK_*", RiskConfig.from_settings),
        ("FEE_SCHEDULE", FeeSchedule.from_settings),
    ):
        try:
            build()
        except (ValueError, TypeError, AttributeError) as exc:
            errors.append(checks.Error(f"{name}: {exc}", id="processing.E001"))
    return errors
