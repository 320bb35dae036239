"""The inbox's sign-in and its safety, over real HTTP into the app, with the real dev server
and a worker running the SignIn workflow: a link works once, a fourth link in fifteen
minutes is refused, sign-out ends the session everywhere, forms without their CSRF token
are refused, every answer carries the Content-Security-Policy, another dealer's lead or task
is a 403 page, and bad input or an unknown page is a readable page, never a 500."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from activities.senders import Senders
from api.app import create_app
from api.inbox.rendering import CSP
from api.inbox.sign_in import LinkDelivery
from leads.config import Config
from providers.outbox import OutboxProvider
from tests.api.conftest import PUBLIC_BASE, TOKENS, Api, SendGridKeys, inbound_secrets
from tests.browser.conftest import end_sign_ins, inbox_config, link_token, sign_in_links
from worker import build_worker

BASE = PUBLIC_BASE  # HTTPS: the session cookie is Secure; Twilio signs this URL
HIDDEN_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
JAN = "jan@autohuis-test.nl"
OTHER_LEAD = "lead-autohuis-oost-0123456789abcdef01234567"
OTHER_TASK = f"task-{OTHER_LEAD}-1"
OWN_LEAD = "lead-autohuis-test-0123456789abcdef01234567"


@dataclass
class Inbox:
    app: Any
    config: Config
    links: Path
    api: Api  # the platforms' and Twilio's side of the same app, and Temporal

    def browser(self) -> httpx.AsyncClient:
        """A browser of its own: its own cookie jar."""
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url=BASE, follow_redirects=False
        )

    async def link_for(self, http: httpx.AsyncClient, address: str) -> str:
        """Ask for a sign-in link as the form does; the token of the line it wrote."""
        before = len(sign_in_links(self.links))
        response = await post_form(http, "/inbox/sign-in", {"address": address}, "/inbox/sign-in")
        assert response.status_code == 200, response.text
        lines = sign_in_links(self.links)
        assert len(lines) == before + 1
        return link_token(lines[-1])

    @asynccontextmanager
    async def signed_in(self, who: str = "jan") -> AsyncIterator[httpx.AsyncClient]:
        """A browser signed in with the Bearer token fallback."""
        async with self.browser() as http:
            response = await post_form(
                http, "/inbox/sign-in/token", {"token": TOKENS[who]}, "/inbox/sign-in"
            )
            assert response.status_code == 303, response.text
            yield http


def csrf_of(html: str) -> str:
    found = HIDDEN_CSRF.search(html)
    assert found, "no CSRF field on the page"
    return found.group(1)


async def post_form(
    http: httpx.AsyncClient, path: str, fields: dict[str, str], form_page: str
) -> httpx.Response:
    """Post as a browser does: from the page that shows the form, with its CSRF field."""
    shown = await http.get(form_page)
    assert shown.status_code == 200, shown.text
    return await http.post(path, data={**fields, "csrf": csrf_of(shown.text)})


def assert_page(response: httpx.Response, status: int, *words: str) -> str:
    """An inbox page: HTML with this status, the security headers, and these words."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-security-policy"] == CSP
    assert response.headers["x-content-type-options"] == "nosniff"
    text = response.text
    for word in words:
        assert word in text, f"{word!r} not on the page"
    assert "Traceback" not in text
    return text


@asynccontextmanager
async def inbox_stack(dev_env: WorkflowEnvironment, folder: Path) -> AsyncIterator[Inbox]:
    """The app over HTTPS (ASGI), a worker, and the links file in `folder`."""
    task_queue = f"inbox-{uuid.uuid4()}"
    config = inbox_config(task_queue, BASE)
    outbox = folder / "outbox.jsonl"
    keys = SendGridKeys()
    app = create_app(config, dev_env.client, inbound_secrets(keys))
    links = folder / "sign-in-links.jsonl"
    app.state.inbox_links = LinkDelivery(Senders(outbox=OutboxProvider(outbox)), links)
    senders = Senders(outbox=OutboxProvider(outbox))
    async with (
        build_worker(dev_env.client, config, senders, task_queue=task_queue),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as http,
    ):
        try:
            yield Inbox(app, config, links, Api(http, dev_env.client, config, outbox, keys))
        finally:
            await end_sign_ins(dev_env.client, config)


@pytest.fixture(scope="module")
async def inbox(
    dev_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Inbox]:
    async with inbox_stack(dev_env, tmp_path_factory.mktemp("inbox")) as each:
        yield each


# --- sign-in by link ----------------------------------------------------------------------


async def test_a_link_signs_in_once(inbox: Inbox) -> None:
    async with inbox.browser() as http:
        token = await inbox.link_for(http, JAN)
        line = sign_in_links(inbox.links)[-1]
        assert (line["dealer_id"], line["salesperson_id"]) == ("autohuis-test", "jan")
        assert line["url"] == f"{BASE}/inbox/sign-in/{token}" and line["expires_at"]
        # A mail scanner's GET shows the button and spends nothing.
        for _ in range(2):
            confirm = await http.get(f"/inbox/sign-in/{token}")
            assert_page(confirm, 200, f'action="/inbox/sign-in/{token}"')
            assert confirm.headers["referrer-policy"] == "no-referrer"
        signed = await http.post(f"/inbox/sign-in/{token}", data={"csrf": csrf_of(confirm.text)})
        assert signed.status_code == 303 and signed.headers["location"] == "/inbox/tasks"
        cookie = signed.headers["set-cookie"].lower()
        for attribute in ("blanco_session=", "httponly", "samesite=lax", "path=/inbox", "secure"):
            assert attribute in cookie
        assert_page(await http.get("/inbox/tasks"), 200, "Taken")
    async with inbox.browser() as other:
        again = await post_form(other, f"/inbox/sign-in/{token}", {}, f"/inbox/sign-in/{token}")
        assert_page(again, 410, "al gebruikt")
        assert (await other.get("/inbox/tasks")).status_code == 303  # not signed in


async def test_an_unknown_address_gets_the_same_answer_and_no_link(inbox: Inbox) -> None:
    async with inbox.browser() as http:
        known = await post_form(http, "/inbox/sign-in", {"address": JAN}, "/inbox/sign-in")
        before = len(sign_in_links(inbox.links))
        unknown = await post_form(
            http, "/inbox/sign-in", {"address": "nobody@example.nl"}, "/inbox/sign-in"
        )
    assert_page(unknown, 200, "Als dit adres bij een verkoper hoort")
    main = re.compile(r"<main.*</main>", re.S)
    assert main.findall(unknown.text) == main.findall(known.text)
    assert len(sign_in_links(inbox.links)) == before


async def test_a_fourth_link_in_fifteen_minutes_is_refused(inbox: Inbox) -> None:
    async with inbox.browser() as http:
        for _ in range(3):
            await inbox.link_for(http, "marieke@autohuis-test.nl")
        refused = await post_form(
            http, "/inbox/sign-in", {"address": " Marieke@Autohuis-Test.nl "}, "/inbox/sign-in"
        )
    text = assert_page(refused, 429, "Te veel inloglinks")
    assert re.search(r"over 1[45] minuten", text)


async def test_the_token_fallback_opens_a_session_and_a_wrong_token_does_not(
    inbox: Inbox,
) -> None:
    async with inbox.browser() as http:
        wrong = await post_form(
            http, "/inbox/sign-in/token", {"token": "not-a-token"}, "/inbox/sign-in"
        )
        assert_page(wrong, 401, "Dit token kennen we niet")
    async with inbox.signed_in("jan") as http:
        assert_page(await http.get("/inbox/tasks"), 200, "Jan")


async def test_sign_out_ends_the_session_everywhere(inbox: Inbox) -> None:
    async with inbox.signed_in("jan") as phone, inbox.browser() as desktop:
        desktop.cookies = phone.cookies  # the same session, on a second replica or tab
        assert (await desktop.get("/inbox/tasks")).status_code == 200
        out = await post_form(phone, "/inbox/sign-out", {}, "/inbox/tasks")
        assert out.status_code == 303 and out.headers["location"] == "/inbox/sign-in"
        gone = await desktop.get("/inbox/tasks")
        assert gone.status_code == 303 and gone.headers["location"] == "/inbox/sign-in"
        fragment = await desktop.get("/inbox/tasks/list", headers={"X-Inbox-Fragment": "1"})
        assert_page(fragment, 401, "niet (meer) ingelogd")


async def test_a_forged_cookie_is_no_session(inbox: Inbox) -> None:
    async with inbox.signed_in("jan") as http:
        value = http.cookies["blanco_session"]
        dealer, person = "autohuis-test", "jan"
        forged = value.replace(f".{dealer}.{person}.", f".{dealer}.marieke.")
        assert forged != value
        async with inbox.browser() as other:
            other.cookies.set("blanco_session", forged, domain="blanco.example", path="/inbox")
            response = await other.get("/inbox/tasks")
    assert response.status_code == 303 and response.headers["location"] == "/inbox/sign-in"


# --- CSRF -----------------------------------------------------------------------------------


async def test_forms_without_their_csrf_token_are_refused(inbox: Inbox) -> None:
    async with inbox.browser() as http:
        no_cookie = await http.post("/inbox/sign-in", data={"address": JAN, "csrf": "x" * 43})
        assert_page(no_cookie, 403, "formulier is verlopen")
    async with inbox.signed_in("jan") as http:
        for fields in ({}, {"csrf": "wrong"}):
            refused = await http.post(f"/inbox/leads/{OWN_LEAD}/pause", data=fields)
            assert_page(refused, 403, "formulier is verlopen")
        other = await post_form(http, "/inbox/sign-out", {}, "/inbox/tasks")
        assert other.status_code == 303
    # Another session's token is no good either.
    async with inbox.signed_in("jan") as first, inbox.signed_in("jan") as second:
        token = csrf_of((await first.get("/inbox/tasks")).text)
        refused = await second.post(f"/inbox/leads/{OWN_LEAD}/pause", data={"csrf": token})
        assert_page(refused, 403)


# --- headers, other dealers, bad input ------------------------------------------------------


async def test_every_inbox_answer_carries_the_csp_and_no_inline_script_or_style(
    inbox: Inbox,
) -> None:
    async with inbox.signed_in("jan") as http:
        for path in ("/inbox/sign-in", "/inbox/tasks", "/inbox/tasks/list", "/inbox/nope"):
            response = await http.get(path)
            assert response.headers["content-security-policy"] == CSP, path
            assert not re.search(r"<script(?![^>]*\bsrc=)", response.text), path
            assert " style=" not in response.text and "<style" not in response.text, path
        for asset in ("/inbox/static/inbox.css", "/inbox/static/inbox.js"):
            static = await http.get(asset)
            assert static.status_code == 200
            assert static.headers["x-content-type-options"] == "nosniff"
            assert static.headers["content-security-policy"] == CSP
        assert_page(await http.get("/inbox/static/nope.js"), 404, "bestaat niet")


async def test_another_dealers_lead_and_task_are_403_pages_on_every_route(inbox: Inbox) -> None:
    async with inbox.signed_in("jan") as http:
        csrf = csrf_of((await http.get("/inbox/tasks")).text)
        gets = [f"/inbox/leads/{OTHER_LEAD}", f"/inbox/tasks/{OTHER_TASK}"]
        posts = [
            f"/inbox/tasks/{OTHER_TASK}/claim",
            f"/inbox/tasks/{OTHER_TASK}/reassign",
            *(
                f"/inbox/leads/{OTHER_LEAD}/{action}"
                for action in ("messages", "calls", "appointment", "outcome", "pause", "resume")
            ),
        ]
        for path in gets:
            assert_page(await http.get(path), 403, "andere dealer")
        for path in posts:
            assert_page(await http.post(path, data={"csrf": csrf}), 403, "andere dealer")


async def test_unknown_pages_and_bad_input_are_readable_pages_never_500(inbox: Inbox) -> None:
    async with inbox.signed_in("jan") as http:
        csrf = csrf_of((await http.get("/inbox/tasks")).text)
        assert_page(await http.get("/inbox/nope/deeper"), 404, "bestaat niet")
        assert_page(await http.post("/inbox/tasks", data={"csrf": csrf}), 404)
        assert_page(await http.get("/inbox/leads/not-a-lead"), 404)
        assert_page(await http.get("/inbox/leads/" + "x" * 500), 422)
        assert_page(await http.get("/inbox/tasks/task-nope"), 404)
        assert_page(await http.get(f"/inbox/leads/{OWN_LEAD}"), 404, "bestaat niet")
        too_much = {"csrf": csrf, "x": "y" * 99_999}
        big = await http.post(f"/inbox/leads/{OWN_LEAD}/pause", data=too_much)
        assert_page(big, 413, "te veel tekst")
        appointment = await http.post(
            f"/inbox/leads/{OWN_LEAD}/appointment",
            data={"csrf": csrf, "date": "gisteren", "time": "25:99", "kind": "showroom"},
        )
        assert appointment.status_code in (404, 422)  # the lead or the date: a page either way
        assert_page(appointment, appointment.status_code)
        assert_page(await http.get("/inbox/sign-in/%3Cscript%3E"), 200)
        assert "<script>" not in (await http.get("/inbox/sign-in/%3Cscript%3E")).text


async def test_logs_name_route_templates_and_ids_never_a_token(
    inbox: Inbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with inbox.browser() as http:
        token = await inbox.link_for(http, JAN)
        await post_form(http, f"/inbox/sign-in/{token}", {}, f"/inbox/sign-in/{token}")
        await http.get(f"/inbox/leads/{OWN_LEAD}")
    # The app's lines (the test's own httpx client logs its URLs; Blanco quiets httpx).
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("api"))
    assert '"event": "sign_in_link_written"' in logged
    assert '"route": "/inbox/sign-in/{token}"' in logged
    assert f'"lead_id": "{OWN_LEAD}"' in logged and '"route": "/inbox/leads/{lead_id}"' in logged
    assert token not in logged and token.rsplit(".", 1)[-1] not in logged
    assert JAN not in logged
