"""The inbox in a real Chromium on a phone-sized screen (390×844), against the API served by
uvicorn, the dev server, a worker, and the fake Twilio for SMS:

Jan asks for a sign-in link (read from the links file, where it goes without providers),
signs in, and sees a blind reply task appear by itself after the customer's SMS; he claims
it, reads the SMS in the thread, answers, and the fake Twilio receives the answer from the
dealer's number; he books a test drive, is refused an early `unreachable` with the reason,
records `shown`, then `won`. A customer's `<script>` is shown as text, and another dealer's
lead URL is refused.

`BLANCO_SCREENSHOTS=1` writes the task list and the lead page to docs/screenshots/.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.async_api import Page, expect
from temporalio.testing import WorkflowEnvironment
from twilio.request_validator import RequestValidator

from activities.senders import Senders
from api.app import create_app
from api.inbox.sign_in import LinkDelivery
from leads.config import Config
from providers.outbox import OutboxProvider
from providers.twilio.messaging import TwilioMessaging
from tests.api.conftest import (
    TOKENS,
    TWILIO_TOKEN,
    SendGridKeys,
    customer_lead,
    inbound_secrets,
    signed,
)
from tests.api.served import serve
from tests.browser.conftest import (
    OfflinePage,
    end_sign_ins,
    inbox_config,
    link_token,
    sign_in_links,
)
from tests.conftest import eventually
from tests.fakes.twilio import FakeTwilio
from worker import build_worker

# Plain HTTP, like the server: the session cookie is not Secure, so Chromium keeps it.
PUBLIC_BASE = "http://blanco.test"
DEALER_SMS = "+3197010000099"  # autohuis-test's sms_from
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@dataclass
class Stack:
    url: str
    config: Config
    links: Path
    outbox: Path
    twilio: FakeTwilio
    http: httpx.AsyncClient  # to the served API: the platform's and Twilio's webhooks

    async def lead(self, **overrides: Any) -> tuple[str, dict[str, Any]]:
        """A lead delivered as the platform does, once its first answer went out."""
        lead = customer_lead(**overrides)
        body = json.dumps(lead).encode()
        response = await self.http.post(
            "/v1/dealers/autohuis-test/leads", content=body, headers=signed(body)
        )
        assert response.status_code == 202, response.text
        lead_id: str = response.json()["lead_id"]

        async def first_touch() -> list[dict[str, Any]]:
            lines = [json.loads(x) for x in self.outbox.read_text().splitlines()]
            return [line for line in lines if line["lead_id"] == lead_id]

        await eventually(first_touch, bool, deadline=20)
        return lead_id, lead

    async def sms(self, sender: str, text: str) -> None:
        """The customer's SMS, as Twilio posts it: signed for the public URL."""
        path = "/v1/inbound/twilio/messages"
        params = {
            "From": sender,
            "To": DEALER_SMS,
            "Body": text,
            "MessageSid": f"SM{uuid.uuid4().hex}",
        }
        signature = RequestValidator(TWILIO_TOKEN).compute_signature(PUBLIC_BASE + path, params)
        response = await self.http.post(
            path, data=params, headers={"X-Twilio-Signature": signature}
        )
        assert response.status_code == 200, response.text


@pytest.fixture(scope="module")
async def stack(
    dev_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    task_queue = f"inbox-browser-{uuid.uuid4()}"
    config = inbox_config(task_queue, PUBLIC_BASE)
    folder = tmp_path_factory.mktemp("inbox-browser")
    outbox, links = folder / "outbox.jsonl", folder / "sign-in-links.jsonl"
    outbox.touch()
    app = create_app(config, client=None, secrets=inbound_secrets(SendGridKeys()))
    app.state.inbox_links = LinkDelivery(Senders(outbox=OutboxProvider(outbox)), links)
    address = dev_env.client.service_client.config.target_host
    env = {"TEMPORAL_ADDRESS": address, "TEMPORAL_NAMESPACE": dev_env.client.namespace}
    with FakeTwilio() as twilio:
        messaging = TwilioMessaging(
            twilio.account_sid, twilio.auth_token, base_url=twilio.base_url, timeout=5.0
        )
        senders = Senders(outbox=OutboxProvider(outbox), messaging=messaging)
        async with build_worker(dev_env.client, config, senders, task_queue=task_queue):
            with serve(app, env=env) as url:
                async with httpx.AsyncClient(base_url=url, timeout=15.0) as http:
                    try:
                        yield Stack(url, config, links, outbox, twilio, http)
                    finally:
                        await end_sign_ins(dev_env.client, config)


async def sign_in_with_token(page: Page, stack: Stack, who: str) -> None:
    await page.goto(f"{stack.url}/inbox/sign-in")
    await page.locator("details.fallback summary").click()
    await page.locator("#token").fill(TOKENS[who])
    await page.get_by_role("button", name="Inloggen met token").click()
    await expect(page).to_have_url(f"{stack.url}/inbox/tasks")


async def claim_from_the_list(page: Page, task_id: str) -> None:
    task = page.locator(f'li[data-task="{task_id}"]')
    await task.get_by_role("button", name="Oppakken").click()
    await expect(page.locator("#thread")).to_be_visible()


def screenshot_path(name: str, tmp_path: Path) -> Path:
    """docs/screenshots/ when asked for (BLANCO_SCREENSHOTS=1), else the test's own folder:
    the screenshots are taken either way."""
    folder = SCREENSHOTS if os.environ.get("BLANCO_SCREENSHOTS") == "1" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


def assert_stayed_local(phone: OfflinePage) -> None:
    assert phone.left == [], "the inbox tried to leave 127.0.0.1"
    assert phone.errors == []
    assert not [m for m in phone.console if "Content Security Policy" in m], phone.console


async def test_jan_signs_in_answers_the_customer_books_a_test_drive_and_wins(
    phone_page: OfflinePage, stack: Stack, tmp_path: Path
) -> None:
    page = phone_page.page
    lead_id, lead = await stack.lead(kind="test_drive")
    task_id = f"task-{lead_id}-1"
    phone = lead["customer"]["phone"]

    # Sign in by link: the form, the line in the links file, the confirm button.
    await page.goto(f"{stack.url}/inbox")
    await expect(page).to_have_url(f"{stack.url}/inbox/sign-in")
    before = len(sign_in_links(stack.links))
    await page.locator("#address").fill("jan@autohuis-test.nl")
    await page.get_by_role("button", name="Stuur mij een link").click()
    await expect(page.locator("main")).to_contain_text("Als dit adres bij een verkoper hoort")
    lines = sign_in_links(stack.links)
    assert len(lines) == before + 1 and lines[-1]["salesperson_id"] == "jan"
    await page.goto(f"{stack.url}/inbox/sign-in/{link_token(lines[-1])}")
    await page.get_by_role("button", name="Inloggen").click()
    await expect(page).to_have_url(f"{stack.url}/inbox/tasks")
    await expect(page.locator(".who")).to_contain_text("Jan")

    # The customer's SMS: the task appears by itself (no reload), blind.
    await page.evaluate("window.stillTheSamePage = true")
    await stack.sms(phone, "Kan ik zaterdag een proefrit maken?")
    task = page.locator(f'li[data-task="{task_id}"]')
    await expect(task).to_be_visible()
    assert await page.evaluate("window.stillTheSamePage === true"), "the page reloaded"
    await expect(task).to_contain_text("Antwoord van klant")
    await expect(task).not_to_contain_text("marktplaats")  # rule 1: no source until claimed
    await expect(task).not_to_contain_text("9500")
    await page.screenshot(path=screenshot_path("inbox-tasks.png", tmp_path))

    # Claim, read the SMS, answer it.
    await claim_from_the_list(page, task_id)
    await expect(page).to_have_url(f"{stack.url}/inbox/leads/{lead_id}")
    await expect(page.locator(".customer .name")).to_have_text("Pieter")
    incoming = page.locator(".bubble.in", has_text="Kan ik zaterdag een proefrit maken?")
    await expect(incoming).to_contain_text("sms")
    await expect(page.locator(".bubble.out").first).to_contain_text("Blanco")
    await expect(page.locator("#channel")).to_have_value("sms")
    answer = "Zaterdag om 10:00 staat de Golf voor u klaar."
    await page.locator("#text").fill(answer)
    await page.get_by_role("button", name="Versturen").click()
    mine = page.locator(".bubble.out", has_text=answer)
    await expect(mine).to_contain_text("Jan")
    sent = await asyncio.to_thread(stack.twilio.wait_for_sent, 1, 15.0)
    assert [(s.sender, s.to) for s in sent if s.body and answer in s.body] == [(DEALER_SMS, phone)]
    await incoming.evaluate("bubble => bubble.scrollIntoView({block: 'start'})")
    await page.screenshot(path=screenshot_path("inbox-lead.png", tmp_path))

    # A test drive tomorrow at 10:00, Amsterdam time.
    tomorrow = (datetime.now(AMSTERDAM) + timedelta(days=1)).date().isoformat()
    appointment = page.locator("#appointment")
    await appointment.locator('input[name="date"]').fill(tomorrow)
    await appointment.locator('input[name="time"]').fill("10:00")
    await appointment.locator("#kind").select_option("test_drive")
    await appointment.get_by_role("button", name="Afspraak vastleggen").click()
    await expect(page.locator(".status .badge")).to_have_text("afspraak")
    await expect(page.locator(".status .appointment")).to_contain_text("10:00 · Proefrit")

    # Unreachable is refused, with the engine's reason on the page.
    await page.get_by_role("button", name="Onbereikbaar").click()
    refusal = page.get_by_role("alert")
    await expect(refusal).to_contain_text("Niet gelukt")
    await expect(refusal).to_contain_text("unreachable does not apply")
    await expect(page.locator(".status .badge")).to_have_text("afspraak")

    await page.get_by_role("button", name="Gekomen", exact=True).click()
    await expect(page.locator(".status .badge")).to_have_text("gekomen")
    await page.get_by_role("button", name="Verkocht").click()
    await expect(page.locator(".notice.closed")).to_contain_text("afgesloten: verkocht")
    assert_stayed_local(phone_page)


async def test_a_customers_script_is_shown_as_text(phone_page: OfflinePage, stack: Stack) -> None:
    page = phone_page.page
    script = "<script>window.pwned = 1</script><b>vet</b>"
    lead_id, lead = await stack.lead(message='<img src="x" onerror="window.pwned = 2">')
    await stack.sms(lead["customer"]["phone"], script)
    await sign_in_with_token(page, stack, "jan")
    await claim_from_the_list(page, f"task-{lead_id}-1")
    bubble = page.locator(".bubble.in", has_text="window.pwned = 1")
    await expect(bubble.locator(".text")).to_have_text(script)
    await expect(bubble.locator("b, script")).to_have_count(0)
    inquiry = page.locator(".bubble.in", has_text="window.pwned = 2")
    await expect(inquiry.locator(".text")).to_have_text('<img src="x" onerror="window.pwned = 2">')
    await expect(page.locator("main img")).to_have_count(0)
    assert await page.evaluate("typeof window.pwned") == "undefined"
    assert_stayed_local(phone_page)


async def test_another_dealers_lead_url_is_refused(phone_page: OfflinePage, stack: Stack) -> None:
    page = phone_page.page
    lead_id, _ = await stack.lead()
    await sign_in_with_token(page, stack, "piet")  # autohuis-oost
    response = await page.goto(f"{stack.url}/inbox/leads/{lead_id}")
    assert response is not None and response.status == 403
    await expect(page.locator("main")).to_contain_text("hoort bij een andere dealer")
    await expect(page.locator("main")).not_to_contain_text("Pieter")
    response = await page.goto(f"{stack.url}/inbox/tasks/task-{lead_id}-1")
    assert response is not None and response.status == 403
    assert_stayed_local(phone_page)
