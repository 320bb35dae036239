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

from leads.identity import lead_id as derive_lead_id
from leads.models import Lead, LeadStatus
from tests.api.conftest import OTHER_SECRET, SECRET, Api, assert_error, customer_lead, unique

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
