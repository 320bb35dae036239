"""The guard the browser tests rely on: a request for another host is aborted and recorded,
so a page that needs the internet shows up as such instead of passing on a connected
machine."""

from __future__ import annotations

from playwright.async_api import expect

from tests.browser.conftest import OfflinePage, request_host

CDN_SCRIPT = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui-bundle.js"


async def test_a_request_for_another_host_is_aborted_and_recorded(
    offline_page: OfflinePage,
) -> None:
    page = offline_page.page
    await page.set_content(
        f'<script src="{CDN_SCRIPT}" onerror="document.title = \'refused\'"></script>'
    )
    await expect(page).to_have_title("refused")  # the script never loaded
    assert offline_page.left == [CDN_SCRIPT]
    assert offline_page.requests == [CDN_SCRIPT]


def test_the_host_of_a_request() -> None:
    assert request_host("http://127.0.0.1:8000/docs") == "127.0.0.1"
    assert request_host("blob:http://127.0.0.1:8000/0b6f") == "127.0.0.1"
    assert request_host("blob:https://cdn.example/0b6f") == "cdn.example"
    assert request_host("data:image/png;base64,AAAA") == "127.0.0.1"
    assert request_host("https://fonts.googleapis.com/css?family=Roboto") == "fonts.googleapis.com"
    assert request_host("http://localhost:8000/docs") == "localhost"
