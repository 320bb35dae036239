"""The manager's results page in a real Chromium on a phone (390×844), against the API served
by uvicorn with a generated month in a real SQLite results store: Marieke signs in, opens
Results from the bar, sees the funnel (table and SVG charts) and the perception audit, the
page never scrolls sideways, and printing drops the controls but keeps the figures.

`BLANCO_SCREENSHOTS=1` writes the funnel and the audit to docs/screenshots/.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Page, expect
from temporalio.testing import WorkflowEnvironment

from tests.api.conftest import TOKENS
from tests.browser.conftest import OfflinePage
from tests.browser.test_inbox import assert_stayed_local, screenshot_path
from tests.results_month import LEADS, OTHER_SOURCE, served_month

PUBLIC_BASE = "http://blanco.test"  # plain HTTP, like the server: Chromium keeps the cookie


@pytest.fixture(scope="module")
async def url(
    dev_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    folder = tmp_path_factory.mktemp("results-browser")
    async with served_month(dev_env, folder, PUBLIC_BASE) as served:
        yield served


async def sign_in(page: Page, url: str, who: str) -> None:
    await page.goto(f"{url}/inbox/sign-in")
    await page.locator("details.fallback summary").click()
    await page.locator("#token").fill(TOKENS[who])
    await page.get_by_role("button", name="Inloggen met token").click()
    await expect(page).to_have_url(f"{url}/inbox/tasks")


async def assert_no_sideways_scroll(page: Page) -> None:
    """Nothing wider than the phone: the table scrolls inside its own box, if at all. Asked
    once the page's stylesheet has loaded (before it, the table has its natural width)."""
    await page.wait_for_load_state("load")
    wide = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert wide <= 0, f"the page is {wide}px wider than the phone"


async def test_a_manager_reads_the_funnel_and_the_audit_on_a_phone(
    phone_page: OfflinePage, url: str, tmp_path: Path
) -> None:
    page = phone_page.page
    await sign_in(page, url, "marieke")
    await page.get_by_role("link", name="Resultaten").click()
    await expect(page).to_have_url(f"{url}/inbox/results")
    await expect(page.locator("#summary")).to_contain_text(f"{LEADS} leads binnengekomen")

    funnel = page.locator("#funnel")
    await expect(funnel.locator("table.funnel tbody tr")).to_have_count(4)
    website = funnel.locator("tbody tr", has_text="website")
    await expect(website.locator("td").first).to_have_text("36")
    await expect(funnel.locator("svg.chart")).to_have_count(3)
    await expect(funnel.locator("svg.chart").first).to_be_visible()
    assert await funnel.locator("svg.chart .whisker").count() == 3 * 4 * 3
    await expect(page.locator("main")).not_to_contain_text(OTHER_SOURCE)
    await assert_no_sideways_scroll(page)
    await funnel.evaluate("section => section.scrollIntoView({block: 'start'})")
    await page.screenshot(path=screenshot_path("results-funnel.png", tmp_path))

    audit = page.locator("#audit")
    quality = audit.locator("article", has_text="Nummer als 0000000000 of geen telefoon")
    await expect(quality.locator(".verdict").first).to_have_text(
        "Geen bewijs dat deze soort lead slechter converteert."
    )
    await expect(audit.locator("article", has_text="autotrader tegenover")).to_contain_text(
        "Te weinig leads om te vergelijken"
    )
    await expect(audit.locator(".verdict.worse").first).to_be_visible()
    await audit.evaluate("section => section.scrollIntoView({block: 'start'})")
    await assert_no_sideways_scroll(page)
    await page.screenshot(path=screenshot_path("results-audit.png", tmp_path))

    # Another grouping with the plain form (no script needed).
    await page.locator("#by").select_option("kind")
    await page.get_by_role("button", name="Tonen").click()
    await expect(page.locator("#funnel h2")).to_have_text("Funnel per soort")
    await expect(page.locator("#funnel tbody tr", has_text="brochure")).to_be_visible()
    await assert_no_sideways_scroll(page)

    # Printed: the bar and the form go, the figures stay.
    await page.emulate_media(media="print")
    await expect(page.locator("header.bar")).to_be_hidden()
    await expect(page.locator("form.period")).to_be_hidden()
    await expect(page.locator("#funnel svg.chart").first).to_be_visible()
    await expect(page.locator("#audit .verdict").first).to_be_visible()
    assert_stayed_local(phone_page)


async def test_a_salesperson_is_refused_the_results_page(phone_page: OfflinePage, url: str) -> None:
    page = phone_page.page
    await sign_in(page, url, "jan")
    await expect(page.get_by_role("link", name="Resultaten")).to_have_count(0)
    response = await page.goto(f"{url}/inbox/results")
    assert response is not None and response.status == 403
    await expect(page.locator("main")).to_contain_text("Alleen een manager kan dit.")
    assert_stayed_local(phone_page)
