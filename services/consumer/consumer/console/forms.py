"""The console's forms: input checked field by field, as everywhere else."""

from __future__ import annotations

from django import forms

from consumer.intake.models import Status
from consumer.review.models import Decision
from consumer.review.services import NOTE_MAX_LENGTH

DECISIONS = [("", "any decision"), ("approved", "approved"), ("declined", "declined"),
             ("review", "review")]  # fmt: skip


class TransactionSearchForm(forms.Form):
    q = forms.CharField(
        required=False,
        max_length=100,
        label="id, IBAN or reference",
        widget=forms.TextInput(attrs={"placeholder": "id, IBAN or reference", "autofocus": True}),
    )
    status = forms.ChoiceField(required=False, choices=[("", "any status"), *Status.choices])
    decision = forms.ChoiceField(required=False, choices=DECISIONS)
    date_from = forms.DateField(
        required=False, label="created from", widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        required=False, label="created to", widget=forms.DateInput(attrs={"type": "date"})
    )


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(choices=Decision.choices)
    note = forms.CharField(
        required=False,
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "why (kept with the decision)"}),
    )


class AccountSearchForm(forms.Form):
    q = forms.CharField(
        required=False,
        max_length=64,
        label="IBAN or account code",
        widget=forms.TextInput(attrs={"placeholder": "IBAN or account code"}),
    )
