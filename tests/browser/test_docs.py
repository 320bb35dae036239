"""/docs in a real browser that can reach nothing but the API on 127.0.0.1: Swagger UI
renders Blanco's API from the assets the API serves itself, and works (an operation opens)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.async_api import expect

from api.app import create_app
from tests.api.conftest import SendGridKeys, api_config, inbound_secrets
from tests.api.served import serve
from tests.browser.conftest import OfflinePage

LEADS = "/v1/dealers/{dealer_id}/leads"


@pytest.fixture(scope="module")
def api_url() -> Iterator[str]:
    """The API served by uvicorn, without Temporal: the docs pages need none."""
    app = create_app(api_config("docs"), client=None, secrets=inbound_secrets(SendGridKeys()))
    with serve(app) as base_url:
        yield base_url


async def test_swagger_ui_renders_the_api_without_the_internet(
    offline_page: OfflinePage, api_url: str
) -> None:
    page = offline_page.page
    await page.goto(f"{api_url}/docs")
    await expect(page).to_have_title("Blanco - Swagger UI")
    info = page.locator(".information-container .info")
    await expect(info.locator(".title")).to_contain_text("Blanco")
    await expect(info).to_contain_text("OAS 3.1")  # the document FastAPI generates, read
    operation = page.locator(f'.opblock-summary-path[data-path="{LEADS}"]')
    await expect(operation).to_have_text(LEADS)
    await operation.click()  # the UI works, not only draws: the operation opens
    opened = page.locator(".opblock.is-open")
    await expect(opened.locator(".opblock-summary-path")).to_have_text(LEADS)
    await expect(opened.get_by_role("button", name="Try it out")).to_be_visible()

    assert offline_page.left == [], "the docs tried to leave 127.0.0.1"
    assert f"{api_url}/openapi.json" in offline_page.requests
    assets = {url.rsplit("/", 1)[-1] for url in offline_page.requests}
    assert {"swagger-ui-bundle.js", "swagger-ui.css"} <= assets, offline_page.requests
    assert offline_page.errors == []
