"""The docs pages over plain HTTP, without Temporal: everything a page under /docs loads comes
from the API itself (Swagger UI's JS, CSS and favicon from the fastapi-offline package), so
the docs work on a machine without internet. tests/browser/test_docs.py renders them."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from urllib.parse import urlsplit

import httpx
import pytest

from api.app import create_app
from tests.api.conftest import SendGridKeys, api_config, inbound_secrets

PAGES = ["/docs", "/docs/oauth2-redirect"]  # every page under /docs
# The content types a reference may answer, by what refers to it.
SCRIPT = ("text/javascript", "application/javascript")
STYLESHEET = ("text/css",)
ICON = ("image/",)
SPEC_URL = re.compile(r"""\burl: '([^']*)'""")  # the document Swagger UI is told to load
OTHER_HOST = re.compile(r"//\w")  # `https://cdn…` and `//cdn…` alike


class References(HTMLParser):
    """Every URL the page's elements load or link to, with the content types it may answer
    (None: a link the page does not load, e.g. an anchor)."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, tuple[str, ...] | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        rel = values.get("rel", "").split()
        if "src" in values:
            self.found.append((values["src"], SCRIPT if tag == "script" else ICON))
        if "href" in values:
            kind = STYLESHEET if "stylesheet" in rel else ICON if "icon" in rel else None
            self.found.append((values["href"], kind))


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(api_config("docs"), client=None, secrets=inbound_secrets(SendGridKeys()))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as client:
        yield client


def assert_local(url: str) -> None:
    parts = urlsplit(url)
    assert not parts.scheme and not parts.netloc and url.startswith("/"), url


async def test_the_swagger_ui_page_loads_its_assets_from_the_api(
    http: httpx.AsyncClient,
) -> None:
    page = await http.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    parser = References()
    parser.feed(page.text)
    kinds = {kind for _, kind in parser.found}
    assert kinds == {SCRIPT, STYLESHEET, ICON}, parser.found  # Swagger UI's JS, CSS, favicon
    for url, kind in parser.found:
        assert_local(url)
        assert kind is not None, url
        asset = await http.get(url)
        assert asset.status_code == 200, url
        assert asset.headers["content-type"].startswith(kind), (url, asset.headers)
        assert len(asset.content) > 1000, url  # the asset itself, not a stub
    (spec,) = SPEC_URL.findall(page.text)
    assert_local(spec)
    document = await http.get(spec)
    assert document.status_code == 200 and document.json()["info"]["title"] == "Blanco"


@pytest.mark.parametrize("path", PAGES)
async def test_no_docs_page_names_another_host(http: httpx.AsyncClient, path: str) -> None:
    """Not in an element, nor in an inline script or style (a web font, a Swagger UI option)."""
    page = await http.get(path)
    assert page.status_code == 200
    assert not OTHER_HOST.search(page.text), page.text
    parser = References()
    parser.feed(page.text)
    for url, _ in parser.found:
        assert_local(url)


async def test_there_is_no_redoc_page(http: httpx.AsyncClient) -> None:
    """ReDoc's side menu loads Redocly's logo from a CDN, whatever the page says: off."""
    assert (await http.get("/redoc")).status_code == 404
