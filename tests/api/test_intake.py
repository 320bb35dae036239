"""Lead intake through the API: signatures (acceptance 2), idempotence and one conversation
per customer (acceptance 3), ADF, chat replies, and bad input answered with JSON 4xx that
changes nothing (acceptance 5)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from httpx import ASGITransport, AsyncClient
from standardwebhooks.webhooks import Webhook

from api.app import create_app
from client import initial_contact_keys, running_leads
from leads.identity import lead_id as derive_lead_id
from leads.models import Channel, Lead, LeadStatus, OptedIn, OptedOut
from tests.api.conftest import (
    OTHER_SECRET,
    PREFIX_SECRET,
    SECRET,
    Api,
    assert_error,
    customer_lead,
    signature_over_bytes,
    unique,
)
from tests.api.test_inbound import signals_heard
from tests.conftest import eventually
from tests.unit.test_adf import NAME, adf_in

ADF_DIR = Path(__file__).resolve().parents[1] / "unit" / "adf"


def expected_id(api: Api, lead: dict[str, Any]) -> str:
    dealer = api.config.dealer("autohuis-test")
    return derive_lead_id(dealer.id, dealer.webhook_secret, Lead.model_validate(lead), "NL")


async def test_a_signed_lead_is_answered_and_a_repeat_is_a_duplicate(api: Api) -> None:
    lead = customer_lead()
    first = await api.deliver(lead, msg_id="msg_same")
    assert first.status_code == 202, first.text
    assert first.json() == {"lead_id": expected_id(api, lead), "duplicate": False}
    (line,) = await api.lines_for(first.json()["lead_id"])
    assert line["touch"] == 1 and line["channel"] == "email"
    again = await api.deliver(lead, msg_id="msg_same")
    assert again.status_code == 202
    assert again.json() == {"lead_id": first.json()["lead_id"], "duplicate": True}


@pytest.mark.parametrize(
    "forgery",
    ["tampered body", "wrong key", "stale timestamp", "future timestamp", "missing header"],
)
async def test_forged_stale_or_missing_signatures_start_nothing(api: Api, forgery: str) -> None:
    lead = customer_lead()
    body = json.dumps(lead).encode()
    headers = api.signed(body)
    if forgery == "tampered body":
        body = json.dumps({**lead, "offer_amount": 1}).encode()
    elif forgery == "wrong key":
        headers = api.signed(body, secret=OTHER_SECRET)
    elif forgery == "stale timestamp":
        headers = api.signed(body, at=datetime.now(UTC) - timedelta(minutes=6))
    elif forgery == "future timestamp":
        headers = api.signed(body, at=datetime.now(UTC) + timedelta(minutes=6))
    else:
        del headers["webhook-signature"]
    response = await api.http.post("/v1/dealers/autohuis-test/leads", content=body, headers=headers)
    assert_error(response, 401, "unauthorized")
    assert not await api.exists(expected_id(api, lead))


async def test_twenty_concurrent_deliveries_make_one_workflow(api: Api) -> None:
    lead = customer_lead()
    answers = await asyncio.gather(*(api.deliver(lead) for _ in range(20)))
    assert {a.status_code for a in answers} == {202}
    assert {a.json()["lead_id"] for a in answers} == {expected_id(api, lead)}
    assert sorted(a.json()["duplicate"] for a in answers) == [False] + [True] * 19
    runs = [w async for w in api.client.list_workflows(f"WorkflowId = '{expected_id(api, lead)}'")]
    assert len(runs) == 1
    assert len(await api.lines_for(expected_id(api, lead))) == 1


async def test_one_customer_on_three_portals_is_one_conversation(api: Api) -> None:
    base = customer_lead()
    customer = base["customer"]
    deliveries = [
        customer_lead(
            source=("marktplaats", "autoscout24", "website")[n % 3],
            external_id=unique("x-"),
            kind=("offer", "test_drive", "brochure_request")[n % 3],
            # Some portals pass only the e-mail address, some only the number.
            customer=(
                {"email": customer["email"]}
                if n % 2
                else {"email": customer["email"], "phone": customer["phone"]}
            ),
        )
        for n in range(20)
    ]
    answers = await asyncio.gather(*(api.deliver(d) for d in deliveries))
    ids = {a.json()["lead_id"] for a in answers}
    assert len(ids) == 1 and [a.json()["duplicate"] for a in answers].count(False) == 1
    (lead_id,) = ids
    state = await api.state_when(lead_id, lambda s: len(s.inquiries) == 20)
    assert {i.source for i in state.inquiries} == {"marktplaats", "autoscout24", "website"}
    assert state.status is LeadStatus.CONTACTING


async def test_adf_documents_are_leads(api: Api) -> None:
    documents = sorted(ADF_DIR.glob("*.xml"))
    assert documents, "the ADF test documents are missing"
    body = (ADF_DIR.parent.parent.parent / "examples" / "adf-two-prospects.xml").read_bytes()
    body = body.replace(b"</adf>", f"<!-- {unique()} --></adf>".encode())
    response = await api.http.post(
        "/v1/dealers/autohuis-test/leads/adf",
        content=body,
        headers=api.signed(body, content_type="application/xml"),
    )
    assert response.status_code == 202, response.text
    answer = response.json()
    assert len(answer["leads"]) == 2 and answer["lead_id"] == answer["leads"][0]["lead_id"]
    for each in answer["leads"]:
        await api.lines_for(each["lead_id"])


def test_the_signature_over_bytes_is_the_library_s() -> None:
    """The raw-bytes signature the tests send for non-UTF-8 bodies is the Standard Webhooks
    library's own wherever the library can sign (UTF-8), so the API's byte-level check is
    held to the reference implementation, not to a copy of itself."""
    at = datetime.now(UTC)
    for body in (b"{}", "José Müller-Ørsted".encode(), json.dumps(customer_lead()).encode()):
        expected = Webhook(SECRET).sign("msg_1", at, body.decode())
        assert signature_over_bytes(body, SECRET, "msg_1", at) == expected


@pytest.mark.parametrize(
    ("label", "encoding", "bom"),
    [
        ("UTF-8", "utf-8", False),
        ("ISO-8859-1", "iso-8859-1", False),
        ("windows-1252", "cp1252", False),
        ("UTF-16", "utf-16-le", True),
        ("UTF-16", "utf-16-le", False),
    ],
    ids=["utf-8", "iso-8859-1", "windows-1252", "utf-16-bom", "utf-16-no-bom"],
)
async def test_signed_adf_in_the_encodings_portals_send_is_a_lead(
    api: Api, label: str, encoding: str, bom: bool
) -> None:
    """Issue 9, finding 1: a correctly signed ADF lead that is not UTF-8 was refused as a bad
    signature. The signature covers the raw bytes; the XML is read by its own declaration."""
    body = adf_in(label, encoding, bom=bom, external_id=unique("adf-"))
    response = await api.http.post(
        "/v1/dealers/autohuis-test/leads/adf",
        content=body,
        headers=api.signed(body, content_type="application/xml"),
    )
    assert response.status_code == 202, response.text
    lead_id = response.json()["lead_id"]
    state = await api.state_when(lead_id, lambda s: s.customer is not None)
    assert state.customer is not None and state.customer.name == NAME


async def test_a_json_lead_must_be_utf_8(api: Api) -> None:
    """JSON between systems is UTF-8 (RFC 8259): a UTF-16 body is a 400 that says so, and
    starts nothing."""
    lead = customer_lead()
    body = json.dumps(lead, ensure_ascii=False).encode("utf-16")
    response = await api.http.post(
        "/v1/dealers/autohuis-test/leads", content=body, headers=api.signed(body)
    )
    error = assert_error(response, 400, "bad_json")
    assert "UTF-8" in error["error"]["message"]
    assert not await api.exists(expected_id(api, lead))


async def test_unreadable_adf_is_422_and_starts_nothing(api: Api) -> None:
    body = b"<adf><prospect><customer><contact><email>x@example.nl</email></contact>"
    response = await api.http.post(
        "/v1/dealers/autohuis-test/leads/adf",
        content=body,
        headers=api.signed(body, content_type="application/xml"),
    )
    error = assert_error(response, 422, "invalid_adf")
    assert "x@example.nl" not in json.dumps(error)


async def test_chat_reply_by_external_id_engages_the_lead(api: Api) -> None:
    lead = customer_lead(
        customer={"name": "Chat"}, source="autotrack", reply_url="https://p.example/c/1"
    )
    started = (await api.deliver(lead)).json()["lead_id"]
    await api.lines_for(started)
    body = json.dumps({"external_id": lead["external_id"], "text": "Is hij er nog?"}).encode()
    response = await api.http.post(
        "/v1/dealers/autohuis-test/chat", content=body, headers=api.signed(body)
    )
    assert response.status_code == 202, response.text
    assert response.json() == {"lead_id": started}
    state = await api.state_when(started, lambda s: s.status is LeadStatus.ENGAGED)
    assert state.open_task_id is not None


BAD_BODIES: list[tuple[str, bytes, int, str, str]] = [
    ("not json", b"{not json", 400, "bad_json", ""),
    ("wrong kind", json.dumps({"kind": "spaceship"}).encode(), 422, "invalid_lead", "kind"),
    (
        "unknown field",
        json.dumps({"customer": {"shoe_size": 44}}).encode(),
        422,
        "invalid_lead",
        "customer.shoe_size",
    ),
    (
        "other dealer in body",
        json.dumps({"dealer_id": "autohuis-oost"}).encode(),
        422,
        "invalid_lead",
        "dealer_id",
    ),
    ("array", b"[]", 422, "invalid_lead", ""),
    ("too large", b'{"message": "' + b"x" * (1024 * 1024) + b'"}', 413, "too_large", ""),
]


@pytest.mark.parametrize(("name", "body", "status", "code", "names"), BAD_BODIES)
async def test_bad_lead_documents_get_a_json_4xx(
    api: Api, name: str, body: bytes, status: int, code: str, names: str
) -> None:
    response = await api.http.post(
        "/v1/dealers/autohuis-test/leads", content=body, headers=api.signed(body)
    )
    error = assert_error(response, status, code)
    assert names in error["error"]["message"]


async def test_unknown_dealer_is_404(api: Api) -> None:
    body = b"{}"
    response = await api.http.post(
        "/v1/dealers/nobody/leads", content=body, headers=api.signed(body, secret=SECRET)
    )
    assert_error(response, 404, "unknown_dealer")


async def test_personal_data_never_comes_back_in_an_error(api: Api) -> None:
    body = json.dumps({"customer": {"email": "geheim@example.nl", "phone": 612}}).encode()
    response = await api.http.post(
        "/v1/dealers/autohuis-test/leads", content=body, headers=api.signed(body)
    )
    assert_error(response, 422)
    assert "geheim" not in response.text and "612" not in response.text


async def test_an_unexpected_error_is_a_json_500_without_its_text(api: Api) -> None:
    app = create_app(api.config, api.client)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("pieter@example.nl")  # as if an exception quoted request content

    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as http:
        response = await http.get("/boom")
    assert_error(response, 500, "internal")
    assert "pieter" not in response.text


async def test_a_phone_only_lead_and_a_later_lead_with_email_are_one_conversation(api: Api) -> None:
    """Keyed by the phone first (portal A passed nothing else), then by the e-mail address
    (portal B passed both): B finds A's conversation by its ContactKeys and joins it."""
    customer = customer_lead()["customer"]
    dealer = api.config.dealer("autohuis-test")
    b = Lead.model_validate(customer_lead(source="autoscout24", customer=customer))
    first = await api.deliver(customer_lead(customer={"phone": customer["phone"]}))
    lead_id = first.json()["lead_id"]
    await api.lines_for(lead_id)
    # Found through visibility, which trails a start by a moment: B comes after that.
    await eventually(
        lambda: running_leads(api.client, "autohuis-test", initial_contact_keys(dealer, b)),
        lambda found: found == [lead_id],
        deadline=10,
    )
    second = await api.deliver(b.model_dump(mode="json", exclude_none=True))
    assert second.json() == {"lead_id": lead_id, "duplicate": True}
    state = await api.state_when(lead_id, lambda s: len(s.inquiries) == 2)
    assert "email" in state.usable_channels


async def test_chat_for_another_dealers_lead_is_refused(api: Api) -> None:
    """Dealer ids may share a prefix (autohuis, autohuis-test): a lead id is checked whole."""
    lead_id = (await api.deliver(customer_lead())).json()["lead_id"]
    body = json.dumps({"lead_id": lead_id, "text": "hallo"}).encode()
    response = await api.http.post(
        "/v1/dealers/autohuis/chat", content=body, headers=api.signed(body, secret=PREFIX_SECRET)
    )
    assert_error(response, 404, "unknown_lead")
    # The lead may still be loading its plan: its state is asked until it has one.
    state = await api.state_when(lead_id, lambda s: True)
    assert state.status is LeadStatus.CONTACTING


async def post_chat(api: Api, message: dict[str, Any]) -> Any:
    body = json.dumps(message).encode()
    return await api.http.post(
        "/v1/dealers/autohuis-test/chat", content=body, headers=api.signed(body)
    )


async def chat_lead(api: Api) -> tuple[str, dict[str, Any]]:
    """A lead that came in through a platform chat (it has a reply_url) and an e-mail address."""
    lead = customer_lead(source="autotrack", reply_url=f"https://p.example/c/{unique()}")
    lead_id = (await api.deliver(lead)).json()["lead_id"]
    await api.state_when(lead_id, lambda s: len(s.touches) >= 1)
    return lead_id, lead


async def test_rule7_stop_in_platform_chat_opts_out(api: Api) -> None:
    """Issue 9, finding 2: every chat message ends with "Stuur STOP …"; a STOP in the chat
    made the lead engaged and opened a task instead."""
    lead_id, lead = await chat_lead(api)
    assert Channel.CHAT in (await api.state(lead_id)).usable_channels
    stop = await post_chat(api, {"external_id": lead["external_id"], "text": "STOP"})
    assert stop.status_code == 202, stop.text
    state = await api.state_when(lead_id, lambda s: Channel.CHAT in s.opted_out)
    assert Channel.CHAT not in state.usable_channels and Channel.EMAIL in state.usable_channels
    assert state.status is LeadStatus.CONTACTING and state.open_task_id is None
    start = await post_chat(api, {"lead_id": lead_id, "text": "start"})
    assert start.status_code == 202, start.text
    state = await api.state_when(lead_id, lambda s: Channel.CHAT in s.usable_channels)
    assert state.open_task_id is None
    # What the customer wrote goes with the opt-out and back in, for the thread (issue 10).
    [opted_out] = await signals_heard(api, lead_id, "opted_out", OptedOut)
    [opted_in] = await signals_heard(api, lead_id, "opted_in", OptedIn)
    assert (opted_out.channel, opted_out.text) == (Channel.CHAT, "STOP")
    assert (opted_in.channel, opted_in.text) == (Channel.CHAT, "start")


async def test_an_empty_chat_message_is_422_and_changes_nothing(api: Api) -> None:
    """Issue 9, finding 6: a chat message without text made the lead engaged for nothing."""
    lead_id, lead = await chat_lead(api)
    for text in ("", "   "):
        response = await post_chat(api, {"external_id": lead["external_id"], "text": text})
        error = assert_error(response, 422, "invalid_chat_reply")
        assert error["error"]["message"].startswith("text:")
    state = await api.state(lead_id)
    assert state.status is LeadStatus.CONTACTING and state.open_task_id is None


async def test_rule6_an_attachment_only_chat_message_is_a_reply_that_says_so(api: Api) -> None:
    lead_id, lead = await chat_lead(api)
    photo = {"content_type": "image/jpeg", "name": "kenteken.jpg", "url": "https://p.example/f"}
    message = {"external_id": lead["external_id"], "attachments": [photo]}
    assert (await post_chat(api, message)).status_code == 202
    state = await api.state_when(lead_id, lambda s: s.status is LeadStatus.ENGAGED)
    replied = [e for e in state.events if e.what == "customer_replied"]
    assert [(e.channel, e.detail) for e in replied] == [(Channel.CHAT, "[attachment: image/jpeg]")]
    assert state.open_task_id is not None


async def test_a_chat_message_with_an_unknown_field_names_it(api: Api) -> None:
    lead_id, lead = await chat_lead(api)
    response = await post_chat(api, {"external_id": lead["external_id"], "txt": "hoi"})
    error = assert_error(response, 422, "invalid_chat_reply")
    assert "txt" in error["error"]["message"]
    assert (await api.state(lead_id)).status is LeadStatus.CONTACTING
