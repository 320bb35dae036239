"""The inbox's pages and forms over real HTTP, with real leads on the dev server: the task
list (blind, oldest unclaimed first, a manager's view with reassignment), the lead page
before and after the claim, replies (a double tap sends once; refusals keep the draft and
say why), calls, appointments in the dealer's time, outcomes recorded with who did it, and
pause / resume."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from leads.identity import reply_address
from leads.models import AppointmentKind, LeadState, LeadStatus, TaskStatus
from tests.api.conftest import SECRET, TOKENS, customer_lead, unique
from tests.api.test_inbound import mail, post_mail
from tests.api.test_inbox_sessions import Inbox, assert_page, csrf_of, inbox_stack, post_form
from tests.conftest import eventually
from workflows.sales_task import SalesTask

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
KEY = re.compile(r'name="key" value="([^"]+)"')


@pytest.fixture(scope="module")
async def inbox(
    dev_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Inbox]:
    async with inbox_stack(dev_env, tmp_path_factory.mktemp("inbox-pages")) as each:
        yield each


async def answered_lead(
    inbox: Inbox, text: str = "Is hij er nog?", **lead: Any
) -> tuple[str, str, str]:
    """A lead whose customer answered by SMS: (lead id, its reply task, the customer's phone)."""
    document = customer_lead(**lead)
    response = await inbox.api.deliver(document)
    assert response.status_code == 202, response.text
    lead_id: str = response.json()["lead_id"]
    await inbox.api.state_when(lead_id, lambda s: len(s.touches) >= 1)
    phone: str = document["customer"]["phone"]
    assert (await inbox.api.sms(phone, text)).status_code == 200
    state = await inbox.api.state_when(lead_id, lambda s: s.open_task_id is not None)
    assert state.open_task_id
    return lead_id, state.open_task_id, phone


async def listed(http: httpx.AsyncClient, *task_ids: str) -> str:
    """The live list's fragment, once it shows these tasks (visibility trails a moment)."""

    async def fragment() -> str:
        return (await http.get("/inbox/tasks/list", headers={"X-Inbox-Fragment": "1"})).text

    return await eventually(fragment, lambda html: all(t in html for t in task_ids), deadline=10)


def item_of(html: str, task_id: str) -> str:
    """One task's item of the list."""
    found = re.search(rf'<li[^>]*data-task="{re.escape(task_id)}".*?</li>', html, re.S)
    assert found, task_id
    return found.group(0)


async def post(http: httpx.AsyncClient, page: str, path: str, **fields: str) -> httpx.Response:
    """Submit a form of `page` as the browser would (its CSRF token and, for replies, its
    idempotency key)."""
    shown = await http.get(page)
    assert shown.status_code == 200, shown.text
    found = KEY.search(shown.text)
    defaults = {"csrf": csrf_of(shown.text), **({"key": found.group(1)} if found else {})}
    return await http.post(path, data={**defaults, **fields})


def lead_page(lead_id: str) -> str:
    return f"/inbox/leads/{lead_id}"


async def claim(http: httpx.AsyncClient, task_id: str, lead_id: str) -> None:
    response = await post(http, "/inbox/tasks", f"/inbox/tasks/{task_id}/claim")
    assert response.status_code == 303 and response.headers["location"] == lead_page(lead_id)


def events_by(state: LeadState, what: str) -> list[str | None]:
    return [e.by for e in state.events if e.what == what]


# --- the task list ------------------------------------------------------------------------


async def test_the_task_list_is_blind_and_oldest_unclaimed_first(inbox: Inbox) -> None:
    _, first, _ = await answered_lead(inbox)
    _, second, _ = await answered_lead(inbox)
    async with inbox.signed_in("jan") as jan:
        html = await listed(jan, first, second)
        assert html.index(first) < html.index(second)
        for task_id in (first, second):
            item = item_of(html, task_id)
            assert "marktplaats" not in item and "9500" not in item  # rule 1: blind
            assert "Antwoord van klant" in item and "Oppakken" in item
        page = assert_page(await jan.get("/inbox/tasks"), 200, 'data-live="/inbox/tasks/list"')
        assert '<meta http-equiv="refresh" content="5">' in page  # live without JavaScript


async def test_a_salesperson_sees_open_tasks_and_their_own_a_manager_every_task(
    inbox: Inbox,
) -> None:
    lead_id, task_id, _ = await answered_lead(inbox)
    async with inbox.signed_in("marieke") as marieke, inbox.signed_in("jan") as jan:
        await claim(marieke, task_id, lead_id)
        every = await listed(marieke, task_id)
        assert 'name="salesperson_id"' in every and "Jouw taak" in every
        await eventually(
            lambda: listed(jan), lambda html: task_id not in html, deadline=10
        )  # claimed by someone else: not in Jan's list
        refused = await post(jan, "/inbox/tasks", f"/inbox/tasks/{task_id}/claim")
        assert_page(refused, 409, "already claimed by marieke")
        not_allowed = await post(
            jan, "/inbox/tasks", f"/inbox/tasks/{task_id}/reassign", salesperson_id="jan"
        )
        assert_page(not_allowed, 403, "Alleen een manager")
        given = await post(
            marieke, "/inbox/tasks", f"/inbox/tasks/{task_id}/reassign", salesperson_id="jan"
        )
        assert given.status_code == 303
        nobody = await post(
            marieke, "/inbox/tasks", f"/inbox/tasks/{task_id}/reassign", salesperson_id="piet"
        )
        assert_page(nobody, 422, "kies een verkoper van deze dealer")  # another dealer's
    state = await inbox.api.client.get_workflow_handle(task_id).query(SalesTask.state)
    assert state.assigned_to == "jan" and state.status is TaskStatus.CLAIMED


async def test_an_alerts_task_link_leads_to_its_lead(inbox: Inbox) -> None:
    lead_id, task_id, _ = await answered_lead(inbox)
    async with inbox.signed_in("jan") as jan:
        response = await jan.get(f"/inbox/tasks/{task_id}")
    assert response.status_code == 303 and response.headers["location"] == lead_page(lead_id)


async def test_an_alerts_link_opened_signed_out_leads_there_after_sign_in(inbox: Inbox) -> None:
    _, task_id, _ = await answered_lead(inbox)
    async with inbox.browser() as phone:
        first = await phone.get(f"/inbox/tasks/{task_id}")
        assert first.status_code == 303 and first.headers["location"] == "/inbox/sign-in"
        signed_in = await post_form(
            phone, "/inbox/sign-in/token", {"token": TOKENS["jan"]}, "/inbox/sign-in"
        )
        assert signed_in.headers["location"] == f"/inbox/tasks/{task_id}"
        # once: the next sign-in goes to the task list again
        await post_form(phone, "/inbox/sign-out", {}, "/inbox/tasks")
        again = await post_form(
            phone, "/inbox/sign-in/token", {"token": TOKENS["jan"]}, "/inbox/sign-in"
        )
        assert again.headers["location"] == "/inbox/tasks"


# --- the lead page ------------------------------------------------------------------------


async def test_the_lead_page_is_blind_until_claimed_then_shows_the_conversation(
    inbox: Inbox,
) -> None:
    lead_id, task_id, _ = await answered_lead(inbox, "Kan ik zaterdag langskomen?")
    async with inbox.signed_in("jan") as jan:
        blind = assert_page(await jan.get(lead_page(lead_id)), 200, "Pak deze taak op")
        assert f'action="/inbox/tasks/{task_id}/claim"' in blind
        for hidden in ("Pieter", "Kan ik zaterdag", "laagste prijs", "marktplaats", "@example"):
            assert hidden not in blind
        assert 'id="thread"' not in blind and "/messages" not in blind
        await claim(jan, task_id, lead_id)
        seen = assert_page(await jan.get(lead_page(lead_id)), 200, "Pieter")
        assert re.search(r'bubble in">.*?Kan ik zaterdag langskomen\?', seen, re.S)
        assert re.search(r'bubble out">.*?Blanco', seen, re.S)  # the first answer
        assert '<option value="sms" selected>' in seen  # where the customer wrote
        assert "WhatsApp-venster van 24 uur is dicht" in seen  # he wrote by SMS
        assert "geen goedgekeurd sjabloon" in seen and 'name="template"' not in seen
        assert 'href="tel:+3161' in seen  # his mobile: a call button


async def test_rule2_a_placeholder_number_is_no_call_button(inbox: Inbox) -> None:
    document = customer_lead(customer={"name": "Pieter", "email": f"{unique()}@example.nl",
                                       "phone": "0000000000"})  # fmt: skip
    lead_id = (await inbox.api.deliver(document)).json()["lead_id"]
    await inbox.api.state_when(lead_id, lambda s: len(s.touches) >= 1)
    to = reply_address(SECRET, lead_id, "reply.autohuis-test.nl")
    reply = mail(to, document["customer"]["email"], "Re: Uw bod", "Graag meer info")
    assert (await post_mail(inbox.api, reply)).status_code == 200
    state = await inbox.api.state_when(lead_id, lambda s: s.open_task_id is not None)
    async with inbox.signed_in("jan") as jan:
        await claim(jan, state.open_task_id or "", lead_id)
        seen = assert_page(await jan.get(lead_page(lead_id)), 200, "0000000000")
        assert "tel:" not in seen


async def test_a_double_tap_sends_once(inbox: Inbox) -> None:
    lead_id, task_id, _ = await answered_lead(inbox)
    async with inbox.signed_in("jan") as jan:
        await claim(jan, task_id, lead_id)
        shown = await jan.get(lead_page(lead_id))
        form = {
            "csrf": csrf_of(shown.text),
            "key": KEY.findall(shown.text)[0],
            "text": "Ja, hij staat er nog!",
            "channel": "sms",
        }
        first = await jan.post(f"/inbox/leads/{lead_id}/messages", data=form)
        second = await jan.post(f"/inbox/leads/{lead_id}/messages", data=form)
    for response in (first, second):
        assert response.status_code == 303
        assert response.headers["location"] == lead_page(lead_id) + "#reply"
    state = await inbox.api.state_when(lead_id, lambda s: any(m.by == "jan" for m in s.thread))
    sent = [m.text for m in state.thread if m.by == "jan"]
    assert len(sent) == 1 and sent[0].startswith("Ja, hij staat er nog!")  # as received
    lines = await inbox.api.lines_for(lead_id, 2)
    assert [line["channel"] for line in lines if line["by"] == "jan"] == ["sms"]


async def test_refused_replies_say_why_and_keep_the_draft(inbox: Inbox) -> None:
    lead_id, task_id, phone = await answered_lead(inbox)
    async with inbox.signed_in("jan") as jan:
        unclaimed = await post(
            jan,
            lead_page(lead_id),
            f"/inbox/leads/{lead_id}/messages",
            key="0f0e0d0c-0b0a-4000-8000-000000000000",
            text="Hallo",
            channel="sms",
        )
        assert_page(unclaimed, 409, "claim the lead&#39;s task first")
        await claim(jan, task_id, lead_id)
        whatsapp = await post(
            jan,
            lead_page(lead_id),
            f"/inbox/leads/{lead_id}/messages",
            text="Via WhatsApp dan?",
            channel="whatsapp",
        )
        assert_page(
            whatsapp, 409, "free text only within 24 hours", ">Via WhatsApp dan?</textarea>"
        )
        assert (await inbox.api.sms(phone, "STOP")).status_code == 200
        await inbox.api.state_when(lead_id, lambda s: "sms" not in s.usable_channels)
        stopped = await jan.post(
            f"/inbox/leads/{lead_id}/messages",
            data={
                "csrf": csrf_of((await jan.get(lead_page(lead_id))).text),
                "key": "0f0e0d0c-0b0a-4000-8000-000000000001",
                "text": "Nog één sms",
                "channel": "sms",
            },
        )
        text = assert_page(stopped, 409, "opted out of", "Nog één sms</textarea>")
        assert "0f0e0d0c-0b0a-4000-8000-000000000001" not in text  # a final refusal: a new key
        empty = await post(jan, lead_page(lead_id), f"/inbox/leads/{lead_id}/messages", text=" ")
        assert_page(empty, 422, "schrijf een bericht")
    state = await inbox.api.state(lead_id)
    assert not [m for m in state.thread if m.by == "jan"]


# --- calls, appointments, outcomes, pause -------------------------------------------------


async def test_calls_appointments_and_outcomes_are_recorded_with_who_did_them(
    inbox: Inbox,
) -> None:
    lead_id, task_id, _ = await answered_lead(inbox)
    page, base = lead_page(lead_id), f"/inbox/leads/{lead_id}"
    async with inbox.signed_in("jan") as jan:
        await claim(jan, task_id, lead_id)
        called = await post(jan, page, f"{base}/calls", result="no_answer")
        assert called.status_code == 303
        no_reason = await post(jan, page, f"{base}/outcome", outcome="lost")
        assert_page(no_reason, 409, "lost needs a reason")
        early = await post(jan, page, f"{base}/outcome", outcome="unreachable")
        assert_page(early, 409, "unreachable does not apply")
        past = await post(
            jan, page, f"{base}/appointment", date="2020-01-01", time="10:00", kind="call"
        )
        assert_page(past, 409, "is in the past")
        day = (datetime.now(AMSTERDAM) + timedelta(days=2)).date()
        booked = await post(
            jan, page, f"{base}/appointment", date=day.isoformat(), time="10:30", kind="video"
        )
        assert booked.status_code == 303
        shown = assert_page(await jan.get(page), 200, "10:30 · Videogesprek", "Gekomen")
        assert 'value="no_show"' in shown
        assert (await post(jan, page, f"{base}/outcome", outcome="shown")).status_code == 303
        closing = await post(jan, page, f"{base}/outcome", outcome="lost", reason="prijs")
        assert closing.status_code == 303
        assert_page(await jan.get(page), 200, "afgesloten: verloren", "Reden: prijs")
    state = await inbox.api.state(lead_id)
    assert state.status is LeadStatus.LOST
    assert state.appointment_kind is AppointmentKind.VIDEO
    assert state.appointment_at is not None
    local = state.appointment_at.astimezone(AMSTERDAM)
    assert (local.date(), local.hour, local.minute) == (day, 10, 30)
    assert [e.what for e in state.events].count("call_no_answer") == 1
    for what in ("outcome_appointment", "outcome_shown", "outcome_lost"):
        assert events_by(state, what) == ["jan"], what


async def test_pause_and_resume_a_lead_being_contacted(inbox: Inbox) -> None:
    response = await inbox.api.deliver(customer_lead())
    lead_id = response.json()["lead_id"]
    await inbox.api.state_when(lead_id, lambda s: len(s.touches) >= 1)
    page, base = lead_page(lead_id), f"/inbox/leads/{lead_id}"
    async with inbox.signed_in("jan") as jan:
        assert "Opvolging pauzeren" in (await jan.get(page)).text  # no task: nothing blind
        assert (await post(jan, page, f"{base}/pause")).status_code == 303
        paused = assert_page(await jan.get(page), 200, "gepauzeerd", "Opvolging hervatten")
        assert "Opvolging pauzeren" not in paused
        assert_page(
            await jan.post(f"{base}/pause", data={"csrf": csrf_of(paused)}), 409, "already paused"
        )
        assert (await post(jan, page, f"{base}/resume")).status_code == 303
    await inbox.api.state_when(lead_id, lambda s: s.status is LeadStatus.CONTACTING)
