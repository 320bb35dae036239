"""Browser tests: Debian's Chromium driven by Playwright, one browser for the whole session,
a fresh context per test whose requests to any host but 127.0.0.1 are aborted and recorded.

Playwright's own browser download needs the internet, so it is never used: the browser is
the system's `/usr/bin/chromium` (.ci/run installs it with apt when it is missing). Without
it the browser tests fail, saying how to install it, rather than skip: a skip would let CI
pass without ever having looked at a page."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Browser, Page, Route, async_playwright, expect

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


@pytest.fixture
async def offline_page(browser: Browser) -> AsyncIterator[OfflinePage]:
    context = await browser.new_context()
    context.set_default_timeout(DEADLINE_MS)
    page = await context.new_page()
    offline = OfflinePage(page)

    async def only_local(route: Route) -> None:
        url = route.request.url
        offline.requests.append(url)
        if request_host(url) == LOCAL_HOST:
            await route.continue_()
        else:
            offline.left.append(url)
            await route.abort("internetdisconnected")

    await context.route("**/*", only_local)  # the context's: workers and popups too
    page.on("pageerror", lambda error: offline.errors.append(str(error)))
    yield offline
    await context.close()
