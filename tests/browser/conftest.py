"""Browser tests: Playwright for Python driving Debian's Chromium (``/usr/bin/chromium``,
installed by ``make test-tools``; a browser is never downloaded) against the local stack
of tests/conftest.py. Every page visited is saved as a PNG under the run's output folder
(``.local/test-output/browser/``, or ``BANKFLOW_TEST_OUTPUT``); with
``BANKFLOW_UPDATE_PICTURES=1`` the overview is also written to docs/img for the README.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, Deployment

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",  # the tests run as root in CI containers
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1440, "height": 900}  # a laptop screen


@pytest.fixture(scope="session")
def screenshots() -> Path:
    base = Path(os.environ.get("BANKFLOW_TEST_OUTPUT", str(ROOT / ".local" / "test-output")))
    folder = base / "browser"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} missing: `make test-tools` installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def console(deployment: Deployment) -> tuple[str, str, str]:
    """(console URL, user, password): the staff user ``make run`` creates and prints."""
    stack = deployment.stack
    if stack is None or not stack.console_password:
        pytest.skip("needs the local stack, whose start creates the console's staff user")
    return f"{deployment.consumer_url}/console/", stack.console_user, stack.console_password


class Shots:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def take(self, page: Any, name: str) -> Path:
        path = self.folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def shots(screenshots: Path) -> Shots:
    return Shots(screenshots)


def log_in(browser: Any, console: tuple[str, str, str]) -> Any:
    """A fresh browser context (its own cookies), logged in; its page."""
    url, user, password = console
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(url)
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(url)
    return page
