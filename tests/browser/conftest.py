"""Browser tests: Debian's Chromium driven by Playwright, one browser for the whole session,
a fresh context per test whose requests to any host but 127.0.0.1 are aborted and recorded.

Playwright's own browser download needs the internet, so it is never used: the browser is
the system's `/usr/bin/chromium` (.ci/run installs it with apt when it is missing). Without
it the browser tests fail, saying how to install it, rather than skip: a skip would let CI
pass without ever having looked at a page."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Browser, Page, Route, async_playwright, expect
from temporalio.client import Client
from temporalio.service import RPCError

from leads.config import Config
from tests.api.conftest import api_config
from workflows.sign_in import workflow_id

CHROMIUM = Path("/usr/bin/chromium")
MISSING = (
    f"{CHROMIUM} is missing: the browser tests (tests/browser) drive Debian's Chromium. "
    "Install it with `sudo apt-get install chromium` (.ci/run does this on CI); "
    "`playwright install` does not work without internet."
)
# Headless, and none of the browser's own traffic (sync, updates, QUIC probes to Google):
# the only requests are the pages'.
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL_HOST = "127.0.0.1"  # where tests/api/served.py serves the app
# Every wait polls until this deadline: far above a page's render time on a busy CI machine.
DEADLINE_MS = 30_000

expect.set_options(timeout=DEADLINE_MS)


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(MISSING, pytrace=False)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        await browser.close()


def request_host(url: str) -> str | None:
    """The host a request goes to; a blob's is its origin's, inline data has none to leave to."""
    parts = urlsplit(url)
    if parts.scheme == "blob":
        return request_host(parts.path)
    if parts.scheme in ("data", "about"):
        return LOCAL_HOST
    return parts.hostname


@dataclass
class OfflinePage:
    """A page that can reach only 127.0.0.1, and what it asked for."""

    page: Page
    requests: list[str] = field(default_factory=list)  # every URL, in the order asked
    left: list[str] = field(default_factory=list)  # those for another host: aborted
    errors: list[str] = field(default_factory=list)  # uncaught exceptions in the page's JS
    console: list[str] = field(default_factory=list)  # console errors (CSP violations land here)


@asynccontextmanager
async def offline(browser: Browser, **context_options: Any) -> AsyncIterator[OfflinePage]:
    """A fresh context (`context_options`: Playwright's, e.g. a viewport) and its page."""
    context = await browser.new_context(**context_options)
    context.set_default_timeout(DEADLINE_MS)
    page = await context.new_page()
    found = OfflinePage(page)

    async def only_local(route: Route) -> None:
        url = route.request.url
        found.requests.append(url)
        if request_host(url) == LOCAL_HOST:
            await route.continue_()
        else:
            found.left.append(url)
            await route.abort("internetdisconnected")

    await context.route("**/*", only_local)  # the context's: workers and popups too
    page.on("pageerror", lambda error: found.errors.append(str(error)))
    page.on(
        "console",
        lambda message: found.console.append(message.text) if message.type == "error" else None,
    )
    try:
        yield found
    finally:
        await context.close()


@pytest.fixture
async def offline_page(browser: Browser) -> AsyncIterator[OfflinePage]:
    async with offline(browser) as page:
        yield page


PHONE = {"width": 390, "height": 844}  # a common phone's viewport, in CSS pixels


@pytest.fixture
async def phone_page(browser: Browser) -> AsyncIterator[OfflinePage]:
    """The same, on a phone: 390×844, touch, the mobile viewport meta tag honoured."""
    async with offline(browser, viewport=PHONE, is_mobile=True, has_touch=True) as page:
        yield page


# --- the inbox ------------------------------------------------------------------------------
# Shared by tests/browser/test_inbox.py and tests/api/test_inbox_*.py: the API tests' config
# with the e-mail addresses sign-in links go to, and the links file the API writes them to
# when no provider is configured.


def inbox_config(task_queue: str, public_base: str | None = None) -> Config:
    """tests/api's config, with an e-mail address for every salesperson (and a public base
    URL of the test's choosing: its scheme decides whether cookies are Secure)."""
    base = api_config(task_queue)
    dealers = tuple(
        dealer.model_copy(
            update={
                "salespeople": tuple(
                    person.model_copy(update={"email": f"{person.id}@{dealer.id}.nl"})
                    for person in dealer.salespeople
                )
            }
        )
        for dealer in base.dealers
    )
    api = base.api.model_copy(update={"public_base_url": public_base or base.api.public_base_url})
    return base.model_copy(update={"dealers": dealers, "api": api})


def sign_in_links(path: Path) -> list[dict[str, Any]]:
    """The lines the API wrote to its links file, oldest first."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def link_token(line: Mapping[str, Any]) -> str:
    return str(line["url"]).rsplit("/", 1)[-1]


async def end_sign_ins(client: Client, config: Config) -> None:
    """Terminate the salespeople's SignIn workflows: their ids (`signin-<dealer>-<id>`) are
    the same in every test module on the shared dev server, and a live one stays bound to
    the task queue of the module that started it, whose worker is gone."""
    for dealer in config.dealers:
        for person in dealer.salespeople:
            handle = client.get_workflow_handle(workflow_id(dealer.id, person.id))
            with contextlib.suppress(RPCError):
                await handle.terminate("test module done")
