"""The console: thin views over the console's selectors and the review and webhook services.

Every page needs a staff login (``staff_member_required``); deciding a review needs the
``review.decide_review`` permission (the ``reviewer`` group has it), redelivering webhooks
``review.redeliver_webhooks``. Every form posts with Django's CSRF token.
"""

from __future__ import annotations

import functools
from uuid import UUID

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.contrib.auth.models import User
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from bankflow.errors import ApplicationError, Invalid
from consumer.console import selectors
from consumer.console.forms import AccountSearchForm, ReviewForm, TransactionSearchForm
from consumer.intake.events import staff_actor
from consumer.ledger.models import Account
from consumer.review.selectors import review_queue
from consumer.review.services import review_decide
from consumer.webhooks.services import webhook_messages_redeliver

PAGE_SIZE = 50
# The console's own login page, not the admin's.
staff_member_required = functools.partial(staff_member_required, login_url="console:login")


def _page(request: HttpRequest, items: object, size: int = PAGE_SIZE) -> object:
    return Paginator(items, size).get_page(request.GET.get("page"))  # type: ignore[arg-type]


@require_GET
def root(request: HttpRequest) -> HttpResponse:
    return redirect("console:overview")


@staff_member_required
@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    return render(request, "console/overview.html", {"o": selectors.overview(), "nav": "overview"})


@staff_member_required
@require_GET
def overview_panel(request: HttpRequest) -> HttpResponse:
    """The overview's figures alone: the page fetches this every few seconds."""
    return render(request, "console/_overview_panel.html", {"o": selectors.overview()})


@staff_member_required
@require_GET
def transactions(request: HttpRequest) -> HttpResponse:
    form = TransactionSearchForm(request.GET or None)
    page = None
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        page = _page(
            request,
            selectors.transaction_search(
                query=data["q"],
                status=data["status"],
                decision=data["decision"],
                date_from=data["date_from"],
                date_to=data["date_to"],
            ),
        )
    elif not form.is_bound:
        page = _page(request, selectors.transaction_search())
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "console/transactions.html",
        {"form": form, "page": page, "query": query.urlencode(), "nav": "transactions"},
    )


@staff_member_required
@require_GET
def transaction_detail(request: HttpRequest, transaction_id: UUID) -> HttpResponse:
    page = selectors.transaction_page(transaction_id=transaction_id)
    if page is None:
        raise Http404("No such transaction.")
    return render(
        request,
        "console/transaction_detail.html",
        {"p": page, "tx": page.tx, "form": ReviewForm(), "nav": "transactions"},
    )


@staff_member_required
@require_GET
def reviews(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "console/reviews.html",
        {"page": _page(request, review_queue()), "form": ReviewForm(), "nav": "reviews"},
    )


@staff_member_required
@permission_required("review.decide_review", raise_exception=True)
@require_POST
def review_decision(request: HttpRequest, transaction_id: UUID) -> HttpResponse:
    form = ReviewForm(request.POST)
    back = request.POST.get("next") or ""
    if not form.is_valid():
        messages.error(request, f"Not decided: {_form_errors(form)}")
    else:
        user = request.user
        try:
            review_decide(
                transaction_id=transaction_id,
                decision=form.cleaned_data["decision"],
                note=form.cleaned_data["note"],
                reviewer=user.get_username(),
                user=user if isinstance(user, User) else None,
            )
        except Invalid as exc:
            messages.error(request, f"Not decided: {exc.message}")
        except ApplicationError as exc:  # not in review, already decided, not found
            messages.error(request, exc.message)
        else:
            messages.success(
                request,
                f"Transaction {transaction_id} {form.cleaned_data['decision']}; "
                "the producer is told.",
            )
    if back == "detail":
        return redirect("console:transaction", transaction_id=transaction_id)
    return redirect("console:reviews")


def _form_errors(form: ReviewForm) -> str:
    return "; ".join(f"{field}: {' '.join(map(str, errs))}" for field, errs in form.errors.items())


@staff_member_required
@require_GET
def webhooks(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "console/webhooks.html",
        {"page": _page(request, selectors.webhook_messages_needing_attention(), 25),
         "nav": "webhooks"},
    )  # fmt: skip


@staff_member_required
@permission_required("review.redeliver_webhooks", raise_exception=True)
@require_POST
def webhooks_redeliver(request: HttpRequest) -> HttpResponse:
    """One message (``message``) or every dead one (``all_dead``), sent again at once."""
    message_id = request.POST.get("message", "")
    actor = staff_actor(request.user)
    if request.POST.get("all_dead"):
        ids = webhook_messages_redeliver(dead=True, actor=actor)
    elif message_id:
        ids = webhook_messages_redeliver(message_ids=[message_id], actor=actor)
    else:
        ids = []
    if ids:
        messages.success(request, f"{len(ids)} message(s) scheduled for delivery.")
    else:
        messages.warning(request, "Nothing to redeliver (delivered or pending already).")
    return redirect("console:webhooks")


@staff_member_required
@require_GET
def accounts(request: HttpRequest) -> HttpResponse:
    form = AccountSearchForm(request.GET or None)
    query = form.cleaned_data["q"] if form.is_bound and form.is_valid() else ""
    page = _page(request, selectors.account_search(query=query))
    rows = selectors.balances_of(list(page.object_list))  # type: ignore[attr-defined]
    return render(
        request,
        "console/accounts.html",
        {"form": form, "page": page, "rows": rows, "q": query, "nav": "accounts"},
    )


@staff_member_required
@require_GET
def account_detail(request: HttpRequest, code: str) -> HttpResponse:
    account = get_object_or_404(Account, code=code)
    row = selectors.balances_of([account])[0]
    return render(
        request,
        "console/account_detail.html",
        {"row": row, "page": _page(request, selectors.account_entries(account=account)),
         "nav": "accounts"},
    )  # fmt: skip
