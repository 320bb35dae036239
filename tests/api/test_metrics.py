"""`GET /metrics`: requests counted by route template, method and status; leads accepted and
duplicates by dealer, intake and kind; and not one label holding what a customer wrote, a
lead id or a token. The `api` fixture is this module's own app, so its registry starts empty
and every count below is exact."""

from __future__ import annotations

import uuid

import httpx

from api.app import create_app
from leads.identity import unsubscribe_token
from tests.api.conftest import SECRET, Api, api_config, customer_lead, unique
from tests.prometheus import Sample, assert_nothing_personal, label_values, samples, value

DEALER = "autohuis-test"
REQUESTS = "blanco_http_requests_total"
DURATIONS = "blanco_http_request_duration_seconds_count"
ACCEPTED = "blanco_leads_accepted_total"
DUPLICATES = "blanco_lead_duplicates_total"


def adf(email: str) -> bytes:
    """One prospect, a customer of its own."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<?adf version="1.0"?>
<adf><prospect>
  <id source="Marktplaats">{unique("mp-adf-")}</id>
  <vehicle interest="buy" status="used"><make>Opel</make><model>Astra</model></vehicle>
  <customer><contact><name part="full">Lotte Mulder</name><email>{email}</email></contact>
  <comments>Is de Astra nog beschikbaar?</comments></customer>
</prospect></adf>""".encode()


async def scrape(api: Api) -> list[Sample]:
    response = await api.http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


async def test_requests_and_leads_are_counted_without_personal_data(api: Api) -> None:
    lead = customer_lead()
    first = await api.deliver(lead)
    again = await api.deliver(lead)
    assert first.status_code == again.status_code == 202, first.text
    assert (first.json()["duplicate"], again.json()["duplicate"]) == (False, True)
    lead_id = first.json()["lead_id"]
    forged = await api.http.post(
        f"/v1/dealers/{DEALER}/leads", content=b"{}", headers=api.signed(b"{}", "whsec_Zm9yZ2Vk")
    )
    assert forged.status_code == 401

    adf_email = f"lotte.{uuid.uuid4().hex[:8]}@example.nl"
    body = adf(adf_email)
    from_adf = await api.http.post(
        f"/v1/dealers/{DEALER}/leads/adf",
        content=body,
        headers=api.signed(body, content_type="application/xml"),
    )
    assert from_adf.status_code == 202, from_adf.text

    stranger = f"+3162{uuid.uuid4().int % 10**7:07d}"
    stranger_text = "Hallo, heeft u nog een Polo?"
    assert (await api.sms(stranger, stranger_text)).status_code == 200

    await api.lines_for(lead_id)  # the worker answered the lead
    looked = await api.http.get(f"/v1/leads/{lead_id}", headers=api.bearer("jan"))
    assert looked.status_code == 200
    token = unsubscribe_token(SECRET, lead_id, "email")
    assert (await api.http.get(f"/v1/unsubscribe/{token}")).status_code == 200
    assert (await api.http.get(f"/v1/no-such-thing/{lead_id}")).status_code == 404

    found = await scrape(api)

    leads = "/v1/dealers/{dealer_id}/leads"
    assert value(found, REQUESTS, route=leads, method="POST", status="202") == 2
    assert value(found, DURATIONS, route=leads, method="POST", status="202") == 2
    assert value(found, REQUESTS, route=leads, method="POST", status="401") == 1
    assert value(found, REQUESTS, route=leads + "/adf", method="POST", status="202") == 1
    assert value(found, REQUESTS, route="/v1/inbound/twilio/messages", status="200") == 1
    assert value(found, REQUESTS, route="/v1/leads/{lead_id}", method="GET", status="200") == 1
    assert value(found, REQUESTS, route="/v1/unsubscribe/{token}", status="200") == 1
    assert value(found, REQUESTS, route="unmatched", method="GET", status="404") == 1
    assert label_values(found, REQUESTS, "route") == {
        leads,
        leads + "/adf",
        "/v1/inbound/twilio/messages",
        "/v1/leads/{lead_id}",
        "/v1/unsubscribe/{token}",
        "unmatched",
    }  # /metrics counts itself once answered: from the next scrape on

    adf_kind = (await api.state(from_adf.json()["lead_id"])).kind.value
    assert value(found, ACCEPTED, dealer=DEALER, intake="json", kind="offer") == 2
    assert value(found, DUPLICATES, dealer=DEALER, intake="json", kind="offer") == 1
    assert value(found, ACCEPTED, dealer=DEALER, intake="adf", kind=adf_kind) == 1
    assert value(found, ACCEPTED, dealer=DEALER, intake="sms", kind="general") == 1
    assert value(found, ACCEPTED) == 4 and value(found, DUPLICATES) == 1

    customer = lead["customer"]
    assert_nothing_personal(
        found,
        customer["name"],
        customer["email"],
        customer["phone"],
        customer["phone"][3:],  # the national part, however it is written
        lead["message"],
        lead["external_id"],
        adf_email,
        "Lotte",
        stranger,
        stranger[3:],
        stranger_text,
        lead_id,
        from_adf.json()["lead_id"],
        token,
    )

    again_found = await scrape(api)
    assert value(again_found, REQUESTS, route="/metrics", method="GET", status="200") == 1


async def test_each_app_has_its_own_registry() -> None:
    """Tests and a process with several apps never see each other's counts (nor a duplicate
    registration)."""
    one, other = create_app(api_config("unused")), create_app(api_config("unused"))
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=one), base_url="http://a") as a,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=other), base_url="http://b") as b,
    ):
        assert (await a.get("/healthz")).status_code == 200
        seen_by_one = samples((await a.get("/metrics")).text)
        seen_by_other = samples((await b.get("/metrics")).text)
    assert value(seen_by_one, REQUESTS, route="/healthz", method="GET", status="200") == 1
    assert value(seen_by_other, REQUESTS) == 0
