"""The salesperson API end to end (acceptance 4 and 5): lead → touch → SMS reply → task listed
→ claim → outcome; rules the workflow refuses come back as 409 with its reason; a salesperson
sees only their own dealer."""

from __future__ import annotations

import pytest

from leads.models import LeadStatus, TaskStatus
from tests.api.conftest import Api, assert_error, customer_lead, in_days
from tests.api.test_inbound import started
from tests.conftest import eventually


async def test_reply_task_claim_and_appointment(api: Api) -> None:
    lead_id, lead = await started(api)
    await api.sms(lead["customer"]["phone"], "Kan ik zaterdag komen kijken?")
    state = await api.state_when(lead_id, lambda s: s.open_task_id is not None)
    task_id = state.open_task_id
    assert task_id is not None

    async def my_tasks() -> dict[str, dict[str, object]]:
        answer = await api.http.get("/v1/tasks", headers=api.bearer("jan"))
        assert answer.status_code == 200
        return {t["task_id"]: t for t in answer.json()["tasks"]}

    tasks = await eventually(my_tasks, lambda found: task_id in found, deadline=5)
    listed = tasks[task_id]
    assert listed["status"] == "open" and listed["lead_id"] == lead_id
    assert "marktplaats" not in str(listed["summary"])  # blind until claimed

    claimed = await api.http.post(f"/v1/tasks/{task_id}/claim", headers=api.bearer("jan"))
    assert claimed.status_code == 200, claimed.text
    assert claimed.json()["status"] == TaskStatus.CLAIMED and claimed.json()["assigned_to"] == "jan"
    assert "marktplaats" in claimed.json()["summary"]
    taken = await api.http.post(f"/v1/tasks/{task_id}/claim", headers=api.bearer("marieke"))
    assert_error(taken, 409, "refused")
    assert "jan" in taken.json()["error"]["message"]

    view = await api.http.get(f"/v1/leads/{lead_id}", headers=api.bearer("jan"))
    assert view.status_code == 200 and view.json()["status"] == "engaged"
    assert [e["what"] for e in view.json()["events"]].count("customer_replied") == 1

    outcome = await api.http.post(
        f"/v1/leads/{lead_id}/outcome",
        json={"outcome": "appointment", "appointment_at": in_days(3)},
        headers=api.bearer("jan"),
    )
    assert outcome.status_code == 200, outcome.text
    assert outcome.json()["status"] == LeadStatus.APPOINTMENT
    await eventually(my_tasks, lambda found: task_id not in found, deadline=5)


async def test_early_unreachable_is_refused_with_the_reason(api: Api) -> None:
    lead_id, _ = await started(api)
    response = await api.http.post(
        f"/v1/leads/{lead_id}/outcome", json={"outcome": "unreachable"}, headers=api.bearer("jan")
    )
    error = assert_error(response, 409, "refused")
    assert "1 of 8 touches done" in error["error"]["message"]
    assert (await api.state(lead_id)).status is LeadStatus.CONTACTING


async def test_pause_resume_and_calls(api: Api) -> None:
    lead_id, _ = await started(api)
    headers = api.bearer("jan")
    paused = await api.http.post(f"/v1/leads/{lead_id}/pause", headers=headers)
    assert paused.status_code == 200 and paused.json()["status"] == "paused"
    assert_error(await api.http.post(f"/v1/leads/{lead_id}/pause", headers=headers), 409)
    resumed = await api.http.post(f"/v1/leads/{lead_id}/resume", headers=headers)
    assert resumed.status_code == 200 and resumed.json()["status"] == "contacting"
    call = await api.http.post(
        f"/v1/leads/{lead_id}/calls", json={"result": "reached"}, headers=headers
    )
    assert call.status_code == 200 and call.json()["status"] == "engaged"
    lost = await api.http.post(
        f"/v1/leads/{lead_id}/outcome", json={"outcome": "lost"}, headers=headers
    )
    assert "reason" in assert_error(lost, 409)["error"]["message"]


async def test_another_dealers_salesperson_gets_403(api: Api) -> None:
    lead_id, _ = await started(api)
    response = await api.http.get(f"/v1/leads/{lead_id}", headers=api.bearer("piet"))
    assert_error(response, 403, "forbidden")
    claim = await api.http.post(f"/v1/tasks/task-{lead_id}-1/claim", headers=api.bearer("piet"))
    assert_error(claim, 403, "forbidden")
    tasks = await api.http.get("/v1/tasks", headers=api.bearer("piet"))
    assert tasks.status_code == 200
    assert all(t["dealer_id"] == "autohuis-oost" for t in tasks.json()["tasks"])


@pytest.mark.parametrize(
    "authorization", [None, "Bearer ", "Bearer wrong-token", "Basic amFuOmphbg=="]
)
async def test_missing_or_wrong_tokens_get_401(api: Api, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    assert_error(await api.http.get("/v1/tasks", headers=headers), 401, "unauthorized")


async def test_unknown_leads_and_tasks_get_404_and_bad_bodies_422(api: Api) -> None:
    headers = api.bearer("jan")
    unknown = "lead-autohuis-test-" + "0" * 24
    assert_error(await api.http.get(f"/v1/leads/{unknown}", headers=headers), 404)
    assert_error(await api.http.get("/v1/leads/not-a-lead", headers=headers), 404)
    assert_error(await api.http.post(f"/v1/tasks/task-{unknown}-1/claim", headers=headers), 404)
    lead_id, _ = await started(api, customer=customer_lead()["customer"])
    bad = await api.http.post(
        f"/v1/leads/{lead_id}/outcome", json={"outcome": "sold"}, headers=headers
    )
    assert "outcome" in assert_error(bad, 422)["error"]["message"]


async def test_rule1_blind_until_claimed_also_on_the_lead(api: Api) -> None:
    lead_id, lead = await started(api)
    await api.sms(lead["customer"]["phone"], "Nog beschikbaar?")
    state = await api.state_when(lead_id, lambda s: s.open_task_id is not None)
    before = (await api.http.get(f"/v1/leads/{lead_id}", headers=api.bearer("jan"))).json()
    assert before["source"] == "" and before["message"] is None
    assert all(i["source"] == "" for i in before["inquiries"])
    manager = (await api.http.get(f"/v1/leads/{lead_id}", headers=api.bearer("marieke"))).json()
    assert manager["source"] == "marktplaats"
    await api.http.post(f"/v1/tasks/{state.open_task_id}/claim", headers=api.bearer("jan"))
    after = (await api.http.get(f"/v1/leads/{lead_id}", headers=api.bearer("jan"))).json()
    assert after["source"] == "marktplaats" and after["message"] == lead["message"]


async def test_rule6_a_reply_after_the_conversation_ended_goes_to_a_human(api: Api) -> None:
    """Rule 6 after the end: no new automatic cadence, a reply task at once."""
    phone = customer_lead()["customer"]["phone"]
    lead_id, _ = await started(api, customer={"phone": phone, "preferred_channel": "sms"})
    reached = {"result": "reached"}  # on the phone: bought elsewhere
    await api.http.post(f"/v1/leads/{lead_id}/calls", json=reached, headers=api.bearer("jan"))
    lost = await api.http.post(
        f"/v1/leads/{lead_id}/outcome",
        json={"outcome": "lost", "reason": "bought elsewhere"},
        headers=api.bearer("jan"),
    )
    assert lost.status_code == 200
    await eventually(
        lambda: api.client.get_workflow_handle(lead_id).describe(),
        lambda d: d.status is not None and d.status.name == "COMPLETED",
        deadline=10,
    )
    assert (await api.sms(phone, "Toch nog interesse, bel me")).status_code == 200
    state = await api.state_when(
        lead_id, lambda s: s.status is LeadStatus.ENGAGED and s.open_task_id is not None
    )
    assert state.touches == []  # nothing automatic was sent to a customer who just wrote
    assert len([line for line in api.lines() if line["lead_id"] == lead_id]) == 1


@pytest.mark.parametrize("route", ["outcome", "calls"])
async def test_malformed_json_is_400_bad_json_as_on_intake(api: Api, route: str) -> None:
    """Issue 9, finding 8: the salesperson routes answered 422 `body.11: JSON decode error`
    where intake answers 400 bad_json; one behaviour on every route, and nothing changes."""
    lead_id, _ = await started(api)
    headers = {**api.bearer("jan"), "content-type": "application/json"}
    for body in (b'{"outcome": "won"', "{}".encode("utf-16")):
        response = await api.http.post(
            f"/v1/leads/{lead_id}/{route}", content=body, headers=headers
        )
        assert_error(response, 400, "bad_json")
    unknown = await api.http.post(
        f"/v1/leads/{lead_id}/{route}",
        json={"outcome": "won", "result": "reached", "note_to_self": "x"},
        headers=headers,
    )
    assert "note_to_self" in assert_error(unknown, 422)["error"]["message"]
    assert (await api.state(lead_id)).status is LeadStatus.CONTACTING


@pytest.mark.parametrize(
    ("appointment_at", "reason"),
    [
        (None, "needs appointment_at"),
        ("2026-01-05T10:00:00+01:00", "is in the past"),
    ],
    ids=["missing", "past"],
)
async def test_rule8_an_appointment_needs_a_time_to_come(
    api: Api, appointment_at: str | None, reason: str
) -> None:
    """Issue 9, finding 8: an appointment without a time, or in the past, was accepted."""
    lead_id, _ = await started(api)
    response = await api.http.post(
        f"/v1/leads/{lead_id}/outcome",
        json={"outcome": "appointment", "appointment_at": appointment_at},
        headers=api.bearer("jan"),
    )
    assert reason in assert_error(response, 409, "refused")["error"]["message"]
    state = await api.state(lead_id)
    assert state.status is LeadStatus.CONTACTING and state.appointment_at is None
