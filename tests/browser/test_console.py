"""The consumer's console in a real browser, against the stack started as processes: log
in, see the overview, find a transaction, decide a review (and see the producer's
transaction change), redeliver a dead webhook. Each page is saved as a PNG."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from playwright.sync_api import expect

from bankflow.webhooks import generate_secret
from tests.browser.conftest import VIEWPORT, log_in
from tests.conftest import ROOT, Deployment, transaction_body, unique_iban, wait_for, wait_terminal

pytestmark = pytest.mark.local_stack

# A transfer of 100 EUR to a high-risk country: the rules hold it for review.
RU = "RU0900000000000000000001111111111"


def test_the_root_asks_for_a_login_then_shows_the_overview(
    browser, console, deployment: Deployment, shots
):
    url, user, password = console
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    # Given someone who opens the consumer's address
    page.goto(f"{deployment.consumer_url}/")
    # Then they are asked to log in
    expect(page).to_have_url(re.compile(r"/console/login/\?next=/console/$"))
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    shots.take(page, "01-login")
    # When they log in with the printed credentials
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    # Then they see the overview with its figures
    expect(page).to_have_url(url)
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    for label in ("processed, last hour", "dead webhooks", "waiting for review", "By status"):
        expect(page.get_by_text(label).first).to_be_visible()
    context.close()


def test_a_wrong_password_is_refused(browser, console):
    url, user, _ = console
    page = browser.new_context(viewport=VIEWPORT).new_page()
    page.goto(url)
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", "not-the-password")
    page.click("button[type=submit]")
    expect(page.locator("p.error")).to_contain_text("correct username and password")
    page.context.close()


def test_the_overview_refreshes_itself(browser, console, deployment: Deployment, shots):
    page = log_in(browser, console)
    tile = page.locator(".tile", has_text="processed, last hour").locator("b")
    before = int(tile.inner_text())
    # When a transaction is processed while the page stays open
    tx = deployment.producer.post("/api/v1/transactions/", json=transaction_body()).json()
    wait_terminal(deployment.producer, tx["id"])
    # Then its figures change without a reload
    expect(tile).not_to_have_text(str(before), timeout=20_000)
    assert int(tile.inner_text()) > before
    shots.take(page, "02-overview")
    page.context.close()


def test_find_a_transaction_and_read_its_detail(browser, console, deployment: Deployment, shots):
    source = unique_iban()
    tx = deployment.producer.post(
        "/api/v1/transactions/", json=transaction_body(source_account=source)
    ).json()
    wait_terminal(deployment.producer, tx["id"])
    page = log_in(browser, console)
    # When the operator searches the transactions by the payer's IBAN
    page.click("nav >> text=Transactions")
    page.fill("input[name=q]", source)
    page.select_option("select[name=status]", "processed")
    page.click("form.search button[type=submit]")
    rows = page.locator("table.list tbody tr")
    expect(rows).to_have_count(1)
    shots.take(page, "03-transactions")
    # Then the one found opens on its result, ledger entries and webhook attempts
    rows.first.locator("a").click()
    expect(page.get_by_role("heading", name=re.compile(tx["id"]))).to_be_visible()
    expect(page.locator("table.kv").first).to_contain_text("processed")
    entries = page.locator("section", has_text="Ledger entries").locator("tbody tr")
    expect(entries).to_have_count(4)  # principal and fee, each on both sides
    webhooks = page.locator("section", has_text="Webhook messages to the producer")
    expect(webhooks).to_contain_text("delivered")
    shots.take(page, "04-transaction-detail")
    page.context.close()


def held_for_review(deployment: Deployment) -> dict[str, Any]:
    body = transaction_body(amount="100.00", destination_account=RU)
    tx = deployment.producer.post("/api/v1/transactions/", json=body).json()
    done = wait_terminal(deployment.producer, tx["id"])
    assert done["result"]["decision"] == "review", done
    return done


def test_decide_a_review_and_the_producer_gets_the_final_decision(
    browser, console, deployment: Deployment, shots
):
    # Given a transaction the rules held for review, and two reviewers looking at the queue
    tx = held_for_review(deployment)
    first, second = log_in(browser, console), log_in(browser, console)
    for page in (first, second):
        page.click("nav >> text=Review queue")
    card = f"#review-{tx['id']}"
    expect(first.locator(card)).to_contain_text(str(tx["result"]["risk_score"]))
    expect(first.locator(card)).to_contain_text("high_risk_country")
    shots.take(first, "05-review-queue")
    # When the first approves it with a note
    first.locator(card).locator("textarea").fill("Customer confirmed by phone.")
    first.locator(card).get_by_role("button", name="Approve").click()
    # Then it is decided and leaves the queue
    expect(first.locator(".messages")).to_contain_text(f"Transaction {tx['id']} approved")
    expect(first.locator(card)).to_have_count(0)
    shots.take(first, "06-review-decided")
    # And the second, pressing Decline on the page loaded before, is told it is decided
    second.locator(card).get_by_role("button", name="Decline").click()
    expect(second.locator(".messages")).to_contain_text("Already decided: approved by")
    shots.take(second, "07-review-already-decided")

    # And the producer's transaction carries the final decision and the review record
    def final() -> dict[str, Any] | None:
        body = deployment.producer.get(f"/api/v1/transactions/{tx['id']}/").json()
        return body if body["result"]["decision"] == "approved" else None

    result = wait_for(final, timeout=30)["result"]
    _, user, _ = console
    assert result["review"]["reviewer"] == user
    assert result["review"]["note"] == "Customer confirmed by phone."
    assert result["review"]["initial_risk_score"] == tx["result"]["risk_score"]
    assert float(result["fee"]) > 0
    # And the detail page shows the review and the posted ledger entries
    first.goto(f"{console[0]}transactions/{tx['id']}/")
    expect(first.locator("section", has_text="Ledger entries").locator("tbody tr")).to_have_count(4)
    expect(first.get_by_role("heading", name="Review", exact=True)).to_be_visible()
    trail = first.locator("section", has_text="Audit trail").locator("tbody tr")
    expect(trail.filter(has_text="review_resolved")).to_contain_text(f"staff:{user}")
    shots.take(first, "08-reviewed-transaction")
    # And the producer's own trail records the resolution, by the same reviewer
    events = deployment.producer.get(f"/api/v1/transactions/{tx['id']}/events/").json()
    resolved = [e for e in events["results"] if e["type"] == "review_resolved"]
    assert len(resolved) == 1 and resolved[0]["detail"]["decision"] == "approved"
    for page in (first, second):
        page.context.close()


# --- webhooks ----------------------------------------------------------------------------


@contextlib.contextmanager
def restarted(deployment: Deployment, process: str, **env: str) -> Iterator[None]:
    """The process running with ``env`` for the block, then as before."""
    stack = deployment.stack
    assert stack is not None
    restart(deployment, process, **env)
    try:
        yield
    finally:
        restart(deployment, process)


def restart(deployment: Deployment, process: str, **env: str) -> None:
    stack = deployment.stack
    assert stack is not None
    stack.stop_process(process)
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        stack.start_process(process)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    service = stack.specs[process][0]

    def ready() -> bool:
        with contextlib.suppress(requests.RequestException):
            return requests.get(f"{stack.url(service)}/readyz", timeout=2).status_code == 200
        return False

    wait_for(ready, timeout=60, interval=0.2)


def test_redeliver_a_dead_webhook(browser, console, deployment: Deployment, shots):
    # Given a result the producer refused (its webhook secret rotated the wrong way round)
    with restarted(deployment, "producer-web", WEBHOOK_SECRETS=generate_secret()):
        tx = deployment.producer.post("/api/v1/transactions/", json=transaction_body()).json()

        def dead() -> bool:
            body = deployment.consumer.get(f"/api/v1/transactions/{tx['id']}/").json()
            return (body.get("webhook") or {}).get("state") == "dead"

        wait_for(dead, timeout=60)
    assert deployment.producer.get(f"/api/v1/transactions/{tx['id']}/").json()["status"] != (
        "processed"
    )
    # When an operator redelivers it from the Webhooks page, once the secret is fixed
    page = log_in(browser, console)
    page.click("nav >> text=Webhooks")
    card = page.locator("section.message", has=page.locator(f"a[href*='{tx['id']}']"))
    expect(card).to_contain_text("dead")
    expect(card).to_contain_text("401")
    shots.take(page, "09-webhooks-dead")
    card.get_by_role("button", name="Redeliver").click()
    expect(page.locator(".messages")).to_contain_text("1 message(s) scheduled for delivery")
    # Then the producer applies the result
    done = wait_terminal(deployment.producer, tx["id"], timeout=60)
    assert done["status"] == "processed"
    page.reload()
    expect(
        page.locator("section.message", has=page.locator(f"a[href*='{tx['id']}']"))
    ).to_have_count(0)
    shots.take(page, "10-webhooks-redelivered")
    page.context.close()


def test_an_account_shows_its_balance_and_entries(browser, console, deployment: Deployment, shots):
    source = unique_iban()
    tx = deployment.producer.post(
        "/api/v1/transactions/", json=transaction_body(source_account=source, amount="10.00")
    ).json()
    wait_terminal(deployment.producer, tx["id"])
    page = log_in(browser, console)
    page.click("nav >> text=Accounts")
    page.fill("input[name=q]", source)
    page.click("form.search button[type=submit]")
    page.locator("table.list tbody tr a").first.click()
    expect(page.locator(".tile").first).to_contain_text("EUR balance")
    expect(page.locator("table.list tbody tr")).to_have_count(2)  # the transfer and its fee
    shots.take(page, "11-account")
    page.context.close()


def test_the_overview_after_the_run_is_the_readme_picture(
    browser, console, deployment: Deployment, shots
):
    """Last: the overview with what the tests above left, two reviews still waiting and a
    transaction that broke the consumer's rules (sent straight to its intake)."""
    for _ in range(2):
        held_for_review(deployment)
    item = transaction_body(type="deposit", amount="40.00", source_account=unique_iban())
    item.update({"id": str(uuid.uuid4()), "created_at": "2026-11-21T10:00:00Z"})
    deployment.consumer.post("/api/v1/transactions/", json=[item])
    wait_for(
        lambda: (
            deployment.consumer.get(f"/api/v1/transactions/{item['id']}/").json()["status"]
            == "failed"
        )
    )
    page = log_in(browser, console)
    waiting = page.locator(".tile", has_text="waiting for review").locator("b")
    expect(waiting).to_have_text(re.compile(r"^[1-9]"))
    expect(page.locator(".tile", has_text="failed, last hour").locator("b")).not_to_have_text("0")
    path = shots.take(page, "12-overview-after-the-run")
    if os.environ.get("BANKFLOW_UPDATE_PICTURES"):
        shutil.copy(path, ROOT / "docs" / "img" / "console-overview.png")
    page.context.close()
