"""Erasure through the API (issue 4, acceptance 5): `DELETE /v1/leads/{lead}` by a manager ends
the lead and its task, deletes every history they left from Temporal and the lead's outbox
lines; what the customer refused survives only as an `OptOut` workflow keyed by a hash, so the
customer's next lead is not contacted by SMS."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from contracts.memo import OPT_OUT_CHANNELS
from leads.identity import opt_out_id
from leads.models import Channel, LeadStatus
from results.store import ResultsStore
from results.tables import conversations
from tests.api.conftest import SECRET, Api, assert_error, customer_lead
from tests.api.test_inbound import started
from tests.conftest import eventually


async def histories(api: Api, lead_id: str) -> list[tuple[str, str]]:
    query = f"WorkflowId = '{lead_id}' OR WorkflowId STARTS_WITH 'task-{lead_id}-'"
    return [(w.id, w.run_id) async for w in api.client.list_workflows(query)]


async def test_erasure_leaves_nothing_and_the_sms_opt_out_survives(api: Api) -> None:
    customer = {**customer_lead()["customer"], "preferred_channel": "sms"}
    lead_id, _ = await started(api, customer=customer)
    phone, email = customer["phone"], customer["email"]
    assert (await api.lines_for(lead_id))[0]["channel"] == "sms"
    # A reply opens a task; then the customer stops SMS (the lead stays with its salesperson).
    assert (await api.sms(phone, "Is de Golf er zaterdag nog?")).status_code == 200
    state = await api.state_when(lead_id, lambda s: s.open_task_id is not None)
    task_id = state.open_task_id
    assert task_id is not None
    assert (await api.sms(phone, "STOP")).status_code == 200
    await api.state_when(lead_id, lambda s: Channel.SMS in s.opted_out)
    await eventually(lambda: histories(api, lead_id), lambda found: len(found) >= 2, deadline=5)

    erased = await api.http.delete(f"/v1/leads/{lead_id}", headers=api.bearer("marieke"))
    assert erased.status_code == 204, erased.text
    assert erased.content == b""

    # No running workflow, no history (Temporal removes closed ones asynchronously), and no
    # outbox line of the lead or its customer.
    async def left() -> list[object]:
        return [
            *await histories(api, lead_id),
            *[wid for wid in (lead_id, task_id) if await api.exists(wid)],
        ]

    await eventually(left, lambda found: found == [], deadline=15)
    outbox = api.outbox.read_text()
    assert lead_id not in outbox and phone not in outbox and email not in outbox
    again = await api.http.delete(f"/v1/leads/{lead_id}", headers=api.bearer("marieke"))
    assert again.status_code == 204

    # What survives: an OptOut workflow whose id is a keyed hash, holding only channels.
    dealer = api.config.dealer("autohuis-test")
    kept = api.client.get_workflow_handle(opt_out_id(dealer.id, SECRET, f"phone:{phone}"))
    described = await kept.describe()
    assert await described.memo_value(OPT_OUT_CHANNELS) == ["sms"]
    assert phone not in kept.id and lead_id.rpartition("-")[2] not in kept.id

    # The same customer comes back, preferring SMS: never written to by SMS.
    back_id, _ = await started(api, customer=customer)
    assert back_id == lead_id  # the same customer, the same conversation id
    first = (await api.lines_for(back_id))[0]
    assert first["channel"] != "sms"
    state = await api.state(back_id)
    assert state.status is LeadStatus.CONTACTING
    assert Channel.SMS not in state.usable_channels and state.opted_out == [Channel.SMS]
    assert [e.what for e in state.events].count("suppressed") == 1


async def test_only_a_manager_of_the_lead_s_dealer_erases(api: Api) -> None:
    lead_id, _ = await started(api)
    refused = await api.http.delete(f"/v1/leads/{lead_id}", headers=api.bearer("jan"))
    assert_error(refused, 403, "forbidden")
    other = await api.http.delete(f"/v1/leads/{lead_id}", headers=api.bearer("piet"))
    assert_error(other, 403, "forbidden")
    assert_error(await api.http.delete(f"/v1/leads/{lead_id}"), 401)
    assert (await api.state(lead_id)).status is LeadStatus.CONTACTING
    assert [line for line in api.lines() if line["lead_id"] == lead_id]


async def test_erasing_what_does_not_exist(api: Api) -> None:
    never = "lead-autohuis-test-" + "0" * 24  # well formed: there may have been one; 204
    gone = await api.http.delete(f"/v1/leads/{never}", headers=api.bearer("marieke"))
    assert gone.status_code == 204
    malformed = await api.http.delete("/v1/leads/lead-nope", headers=api.bearer("marieke"))
    assert_error(malformed, 404, "unknown_lead")


async def test_an_erased_lead_reads_as_gone_at_once(api: Api) -> None:
    """Issue 9, finding 5: right after the 204, GET still returned the customer's name,
    address and number for a few seconds, while Temporal deleted the history."""
    lead_id, lead = await started(api)
    assert (await api.sms(lead["customer"]["phone"], "Wanneer kan ik komen?")).status_code == 200
    state = await api.state_when(lead_id, lambda s: s.open_task_id is not None)
    erased = await api.http.delete(f"/v1/leads/{lead_id}", headers=api.bearer("marieke"))
    assert erased.status_code == 204
    for who in ("jan", "marieke"):
        gone = await api.http.get(f"/v1/leads/{lead_id}", headers=api.bearer(who))
        assert_error(gone, 404, "unknown_lead")
        assert lead["customer"]["email"] not in gone.text
    claim = await api.http.post(f"/v1/tasks/{state.open_task_id}/claim", headers=api.bearer("jan"))
    assert_error(claim, 404, "unknown_task")
    outcome = await api.http.post(
        f"/v1/leads/{lead_id}/outcome", json={"outcome": "won"}, headers=api.bearer("jan")
    )
    assert_error(outcome, 404, "unknown_lead")


async def test_erasure_keeps_the_figures_and_removes_the_link(api: Api) -> None:
    """Rule 8 and the right to erasure together: the lead's row in the results store stays
    (the funnel keeps counting it), but nothing in it leads back to the person any more."""
    lead_id, _ = await started(api)
    store = ResultsStore.from_env()  # the one the worker and the API write (tests/conftest)

    def rows(where: Any) -> list[dict[str, Any]]:
        with store.connect() as connection:
            found = connection.execute(select(conversations).where(where))
            return [dict(row._mapping) for row in found]

    async def recorded() -> list[dict[str, Any]]:
        return rows(conversations.c.lead_id == lead_id)

    [before] = await eventually(recorded, lambda found: len(found) == 1, deadline=15)
    erased = await api.http.delete(f"/v1/leads/{lead_id}", headers=api.bearer("marieke"))
    assert erased.status_code == 204, erased.text
    assert rows(conversations.c.lead_id == lead_id) == []
    [after] = rows(conversations.c.conversation_id == before["conversation_id"])
    assert after["lead_id"].startswith("erased-") and lead_id not in after["lead_id"]
    figures = {k for k in before if k not in ("lead_id", "recorded_at")}
    moved = {k for k in figures if before[k] != after[k] and k not in ("status", "revision")}
    assert not moved, moved  # the erasure's own end of the lead is not a result
