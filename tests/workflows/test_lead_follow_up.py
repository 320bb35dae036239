"""LeadFollowUp and SalesTask on the time-skipping test server, with the real activities
writing to an outbox in a temporary folder (and, where a provider must fail, the real
twilio client against the local fake Twilio API)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from activities.senders import Senders
from leads.cadence import is_holiday, is_open
from leads.config import Config
from leads.conversation import Conversation
from leads.identity import lead_id, opt_out_id
from leads.models import (
    Channel,
    CustomerReplied,
    DeliveryFailed,
    Empty,
    Lead,
    LeadState,
    LeadStatus,
    LogCall,
    OptedIn,
    OptedOut,
    RecordOutcome,
    TaskState,
    TaskStatus,
)
from providers.outbox import OutboxProvider
from providers.twilio.messaging import TwilioMessaging
from tests.conftest import eventually, make_config, running_worker, terminate_settled
from workflows.lead_follow_up import LeadFollowUp
from workflows.opt_out import OptOut
from workflows.sales_task import Claim, SalesTask

AMS = ZoneInfo("Europe/Amsterdam")
PIETER = {"name": "Pieter", "email": "pieter@example.nl", "phone": "0000000000"}


@dataclass
class Engine:
    env: WorkflowEnvironment
    config: Config
    task_queue: str
    outbox: Path
    started: list[WorkflowHandle[LeadFollowUp, LeadState]] = field(default_factory=list)

    async def start(self, **lead_fields: Any) -> WorkflowHandle[LeadFollowUp, LeadState]:
        unique = uuid.uuid4().hex[:12]  # tests share one server: one customer per lead
        fields: dict[str, Any] = {
            "source": "marktplaats",
            "external_id": f"mp-{unique}",
            "kind": "offer",
            "customer": {**PIETER, "email": f"pieter.{unique}@example.nl"},
            "vehicle": {"make": "Volkswagen", "model": "Golf"},
            "offer_amount": 9500,
        }
        fields.update(lead_fields)
        dealer = self.config.dealers[0]
        lead = Lead.model_validate({**fields, "dealer_id": dealer.id})
        wid = lead_id(dealer.id, dealer.webhook_secret, lead, dealer.country)
        handle = await self.env.client.start_workflow(
            LeadFollowUp.run, lead, id=wid, task_queue=self.task_queue
        )
        self.started.append(handle)
        return handle

    async def terminate_all(self) -> None:
        """Leave nothing running: the server is shared, and a workflow whose worker is gone
        would hold up time skipping for the tests after this one."""
        for handle in self.started:
            latest = self.env.client.get_workflow_handle_for(LeadFollowUp.run, handle.id)
            state = await latest.query(LeadFollowUp.state)
            tasks = [
                e.detail for e in state.events if e.what.startswith("task_opened") and e.detail
            ]
            # The tasks first: a task that is told of its lead's end signals the lead back.
            for workflow_id in [*tasks, handle.id]:
                await terminate_settled(self.env.client, workflow_id)

    def lines(self) -> list[dict[str, Any]]:
        if not self.outbox.exists():
            return []
        return [json.loads(line) for line in self.outbox.read_text().splitlines()]

    async def state(self, handle: WorkflowHandle[LeadFollowUp, LeadState]) -> LeadState:
        return await handle.query(LeadFollowUp.state)

    async def until(
        self,
        handle: WorkflowHandle[LeadFollowUp, LeadState],
        accept: Any,
        step: timedelta = timedelta(0),
    ) -> LeadState:
        return await eventually(lambda: self.state(handle), accept, env=self.env, step=step)

    async def continued_as_new(self, handle: WorkflowHandle[LeadFollowUp, LeadState]) -> bool:
        """Whether the run `handle` started continued as new."""
        first = self.env.client.get_workflow_handle(handle.id, run_id=handle.result_run_id)
        history = [event async for event in first.fetch_history_events()]
        return history[-1].HasField("workflow_execution_continued_as_new_event_attributes")

    async def task(self, task_id: str) -> TaskState:
        return await self.env.client.get_workflow_handle_for(SalesTask.run, task_id).query(
            SalesTask.state
        )

    async def skip_to_local(self, weekday: int, hour: int, minute: int = 0) -> datetime:
        """Skip the server's clock forward to the next local `weekday` at hour:minute."""
        now = (await self.env.get_current_time()).astimezone(AMS)
        target = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
        while target <= now + timedelta(minutes=1) or target.weekday() != weekday:
            target += timedelta(days=1)
        await self.env.sleep(target - now)
        return target


@asynccontextmanager
async def engine_for(
    env: WorkflowEnvironment,
    outbox: Path,
    config: Config,
    senders: Senders | None = None,
    wrap: Callable[[Callable[..., Any]], Callable[..., Any]] | None = None,
) -> AsyncIterator[Engine]:
    async with running_worker(
        env.client, config, senders or Senders(outbox=OutboxProvider(outbox)), wrap
    ) as task_queue:
        engine = Engine(env, config, task_queue, outbox)
        try:
            yield engine
        finally:
            await engine.terminate_all()


@pytest.fixture
async def engine(time_env: WorkflowEnvironment, outbox_path: Path) -> AsyncIterator[Engine]:
    async with engine_for(time_env, outbox_path, make_config()) as each:
        yield each


@pytest.fixture
async def always_open(time_env: WorkflowEnvironment, outbox_path: Path) -> AsyncIterator[Engine]:
    """A 24/7 dealer: timings are the bare cadence offsets."""
    config = make_config(contact_window="always", business_hours="always")
    async with engine_for(time_env, outbox_path, config) as each:
        yield each


# --- rule 5: the whole cadence, then unreachable -------------------------------------------


async def test_rule5_full_cadence_ends_unreachable_after_last_touch_plus_grace(
    engine: Engine,
) -> None:
    handle = await engine.start()
    final = await handle.result()  # the test server skips time while we wait
    assert final.status is LeadStatus.UNREACHABLE
    assert [t.number for t in final.touches] == list(range(1, 9))
    unreachable = next(e for e in final.events if e.what == "unreachable")
    assert unreachable.at >= final.touches[-1].at + timedelta(days=2)
    # rule 3 and acceptance 3: phone 0000000000 + valid e-mail → e-mail only, no call task
    assert {t.channel for t in final.touches} == {Channel.EMAIL}
    assert final.open_task_id is None
    lines = engine.lines()
    assert [(line["touch"], line["channel"]) for line in lines] == [
        (n, "email") for n in range(1, 9)
    ]
    assert not any("0000000000" in (line["body"] + (line["subject"] or "")) for line in lines)
    # rule 4: every later touch inside the contact window (08:00–21:00, mon–sat, NL holidays)
    window = engine.config.dealers[0].contact_window
    assert all(is_open(window, t.at, AMS) for t in final.touches[1:])


async def test_rule5_unreachable_refused_before_the_cadence_ran(engine: Engine) -> None:
    handle = await engine.start()
    await engine.until(handle, lambda s: len(s.touches) == 3, step=timedelta(hours=6))
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(
            LeadFollowUp.record_outcome, RecordOutcome(outcome="unreachable")
        )
    assert "3 of 8 touches done" in str(refused.value.cause)
    with pytest.raises(WorkflowUpdateFailedError) as no_reason:
        await handle.execute_update(LeadFollowUp.record_outcome, RecordOutcome(outcome="lost"))
    assert "lost needs a reason" in str(no_reason.value.cause)
    with pytest.raises(WorkflowUpdateFailedError) as unanswered:
        await handle.execute_update(
            LeadFollowUp.record_outcome, RecordOutcome(outcome="lost", reason="bought elsewhere")
        )
    assert "has not answered yet" in str(unanswered.value.cause)  # not given up by hand
    state = await engine.state(handle)
    assert state.status is LeadStatus.CONTACTING and state.outcome is None
    await handle.execute_update(LeadFollowUp.log_call, LogCall(result="reached"))
    done = await handle.execute_update(
        LeadFollowUp.record_outcome, RecordOutcome(outcome="lost", reason="bought elsewhere")
    )
    assert done.status is LeadStatus.LOST
    assert (await handle.result()).outcome_reason == "bought elsewhere"


async def test_rule1_brochure_low_bid_and_test_drive_get_the_same_schedule_and_channels(
    always_open: Engine,
) -> None:
    """Same contact data (a placeholder phone and an e-mail address; the addresses differ only
    so that they are three customers, not one conversation): same offsets, same channels."""
    kinds: list[dict[str, Any]] = [
        {"kind": "brochure_request", "source": "website"},
        {"kind": "offer", "source": "marktplaats", "offer_amount": 500},
        {"kind": "test_drive", "source": "autoscout24", "message": "Zaterdag?"},
    ]
    plans = []
    for number, fields in enumerate(kinds):
        customer = {"email": f"blank{number}@example.nl", "phone": "0000000000"}
        handle = await always_open.start(customer=customer, **fields)
        final = await handle.result()
        arrival = final.touches[0].at
        # seconds: the touch time is when its workflow task ran, a few ms after the timer
        plans.append([(round((t.at - arrival).total_seconds()), t.channel) for t in final.touches])
    assert plans[0] == plans[1] == plans[2]
    assert {channel for _, channel in plans[0]} == {Channel.EMAIL}


# --- rule 6: a reply goes to a human at once -----------------------------------------------


async def test_rule6_reply_at_touch_3_stops_touches_and_opens_one_task(engine: Engine) -> None:
    handle = await engine.start()
    await engine.until(handle, lambda s: len(s.touches) == 3, step=timedelta(hours=6))
    await handle.signal(LeadFollowUp.customer_replied, CustomerReplied(channel="email", text="Ja"))
    await handle.signal(LeadFollowUp.customer_replied, CustomerReplied(channel="email", text="?"))
    state = await engine.until(handle, lambda s: s.status is LeadStatus.ENGAGED)
    task_id = f"task-{handle.id}-1"
    assert state.open_task_id == task_id
    await engine.env.sleep(timedelta(days=30))
    state = await engine.state(handle)
    assert len(state.touches) == 3 and len(engine.lines()) == 3
    assert [e.what for e in state.events].count("task_opened_reply") == 1
    assert (await engine.task(task_id)).kind == "reply"
    with pytest.raises(RPCError):
        await engine.task(f"task-{handle.id}-2")


async def test_rule6_unclaimed_task_reminds_then_escalates_then_closes_on_outcome(
    engine: Engine,
) -> None:
    handle = await engine.start()
    await engine.until(handle, lambda s: len(s.touches) == 1, step=timedelta(seconds=1))
    await handle.signal(LeadFollowUp.customer_replied, CustomerReplied(channel="email"))
    state = await engine.until(handle, lambda s: s.open_task_id is not None, step=timedelta(0))
    assert state.open_task_id is not None
    task_id = state.open_task_id
    task = await eventually(
        lambda: engine.task(task_id),
        lambda t: t.reminded,
        env=engine.env,
        step=timedelta(minutes=1),
    )
    assert not task.escalated
    task = await eventually(
        lambda: engine.task(task_id),
        lambda t: t.escalated,
        env=engine.env,
        step=timedelta(minutes=1),
    )
    assert task.status is TaskStatus.OPEN and task.summary.startswith("Reply · offer")
    assert "marktplaats" not in task.summary and "9,500" not in task.summary  # blind task
    task_handle = engine.env.client.get_workflow_handle_for(SalesTask.run, task_id)
    claimed = await task_handle.execute_update(SalesTask.claim, Claim(salesperson_id="jan"))
    assert claimed.status is TaskStatus.CLAIMED and "marktplaats" in claimed.summary
    await handle.execute_update(
        LeadFollowUp.record_outcome,
        RecordOutcome(
            outcome="appointment",
            appointment_at=(await engine.env.get_current_time()) + timedelta(days=3),
        ),
    )
    finished = await task_handle.result()
    assert finished.status is TaskStatus.DONE and finished.assigned_to == "jan"
    assert (await engine.state(handle)).status is LeadStatus.APPOINTMENT


async def test_rule6_replies_during_a_call_task_replace_it_with_exactly_one_reply_task(
    always_open: Engine,
) -> None:
    customer = {"email": "bel@example.nl", "phone": "0628491735", "preferred_channel": "phone"}
    handle = await always_open.start(customer=customer)
    state = await always_open.until(handle, lambda s: len(s.touches) == 2, step=timedelta(hours=1))
    call_task = state.open_task_id
    assert call_task == f"task-{handle.id}-1"
    for text in ("Bel maar", "na 17:00"):  # two messages in a row, as customers send them
        await handle.signal(
            LeadFollowUp.customer_replied, CustomerReplied(channel="sms", text=text)
        )
    state = await always_open.until(handle, lambda s: s.open_task_id == f"task-{handle.id}-2")
    assert [e.what for e in state.events].count("task_opened_reply") == 1
    assert (await always_open.task(state.open_task_id or "")).kind == "reply"
    closed = await always_open.env.client.get_workflow_handle_for(SalesTask.run, call_task).result()
    assert closed.status is TaskStatus.DONE and closed.kind == "call"
    with pytest.raises(RPCError):
        await always_open.task(f"task-{handle.id}-3")


# --- rule 7: opt-outs ----------------------------------------------------------------------


async def test_rule7_opt_out_of_one_channel_moves_to_the_next(always_open: Engine) -> None:
    customer = {
        "name": "Sanne",
        "email": "sanne@example.nl",
        "phone": "+31 6 28 49 17 35",
        "preferred_channel": "sms",
    }
    handle = await always_open.start(customer=customer)
    state = await always_open.until(handle, lambda s: len(s.touches) == 1, step=timedelta(0))
    assert state.touches[0].channel is Channel.SMS
    await handle.signal(LeadFollowUp.opted_out, OptedOut(channel="sms"))
    state = await always_open.until(handle, lambda s: len(s.touches) == 3, step=timedelta(hours=6))
    assert [t.channel for t in state.touches] == [Channel.SMS, Channel.EMAIL, Channel.EMAIL]
    assert Channel.SMS not in state.usable_channels
    assert state.status is LeadStatus.CONTACTING


async def test_rule7_opt_out_of_all_ends_the_conversation(always_open: Engine) -> None:
    handle = await always_open.start()
    await always_open.until(handle, lambda s: len(s.touches) == 1, step=timedelta(0))
    await handle.signal(LeadFollowUp.opted_out, OptedOut(channel="all"))
    final = await handle.result()
    assert final.status is LeadStatus.OPTED_OUT and len(final.touches) == 1
    assert len(always_open.lines()) == 1


async def test_rule7_an_opt_out_kept_after_erasure_means_no_sms_for_the_next_lead(
    always_open: Engine,
) -> None:
    """What an erased lead leaves behind (an OptOut workflow, by keyed hash) is honoured by
    the customer's next lead for its whole cadence: e-mail only, though they prefer SMS."""
    number = f"+3162{uuid.uuid4().int % 10**7:07d}"
    dealer = always_open.config.dealers[0]
    client = always_open.env.client
    kept = await client.start_workflow(
        OptOut.run,
        [Channel.SMS, Channel.WHATSAPP, Channel.PHONE],
        id=opt_out_id(dealer.id, dealer.webhook_secret, f"phone:{number}"),
        task_queue=always_open.task_queue,
    )
    try:
        await eventually(
            lambda: kept.describe(),
            lambda d: "channels" in d.raw_description.workflow_execution_info.memo.fields,
            env=always_open.env,
        )
        email = f"sanne.{number[-7:]}@example.nl"
        customer = {"name": "Sanne", "email": email, "phone": number, "preferred_channel": "sms"}
        handle = await always_open.start(customer=customer)
        await always_open.until(handle, lambda s: len(s.touches) == 1)
    finally:
        # Read once, before the first touch. (The test server would time an idle workflow
        # out after ten skipped years, moving the shared clock for the tests after this one.)
        await kept.terminate("test done")
    final = await handle.result()
    assert final.status is LeadStatus.UNREACHABLE
    assert {t.channel for t in final.touches} == {Channel.EMAIL}
    assert {line["channel"] for line in always_open.lines()} == {"email"}
    assert sorted(final.opted_out) == [Channel.PHONE, Channel.SMS, Channel.WHATSAPP]
    suppressed = [e.channel for e in final.events if e.what == "suppressed"]
    assert suppressed == [Channel.PHONE, Channel.SMS, Channel.WHATSAPP]


# --- rule 2: failures route, never drop ----------------------------------------------------


@asynccontextmanager
async def first_touch_by_twilio(
    env: WorkflowEnvironment, outbox_path: Path, fake_twilio: Any
) -> AsyncIterator[tuple[Engine, WorkflowHandle[Any, Any], LeadState]]:
    """A lead that asked for SMS, its messages through the real twilio client against the
    fake Twilio API (scripted by the test first), until its first touch is recorded."""
    senders = Senders(
        outbox=OutboxProvider(outbox_path),
        messaging=TwilioMessaging(
            fake_twilio.account_sid,
            fake_twilio.auth_token,
            base_url=fake_twilio.base_url,
            status_callback_base=None,
            timeout=5.0,
        ),
    )
    config = make_config(contact_window="always", business_hours="always")
    async with engine_for(env, outbox_path, config, senders) as engine:
        customer = {"email": "kees@example.nl", "phone": "0628491735", "preferred_channel": "sms"}
        handle = await engine.start(customer=customer)
        state = await engine.until(handle, lambda s: len(s.touches) == 1, step=timedelta(0))
        yield engine, handle, state


async def test_rule2_permanent_delivery_failure_moves_to_the_next_channel(
    time_env: WorkflowEnvironment, outbox_path: Path, fake_twilio: Any
) -> None:
    """The fake Twilio API answers 21211 (invalid To)."""
    fake_twilio.error_next(21211)
    async with first_touch_by_twilio(time_env, outbox_path, fake_twilio) as (engine, _, state):
        assert state.touches[0].channel is Channel.EMAIL
        assert Channel.SMS not in state.usable_channels
        assert any(e.what == "delivery_failed" and e.channel is Channel.SMS for e in state.events)
        assert [line["channel"] for line in engine.lines()] == ["email"]


async def test_rule2_delivery_failed_signal_and_no_channel_left_opens_a_human_task(
    always_open: Engine,
) -> None:
    handle = await always_open.start(customer={"email": "x@example.nl"})
    await always_open.until(handle, lambda s: len(s.touches) == 1, step=timedelta(0))
    await handle.signal(
        LeadFollowUp.delivery_failed,
        DeliveryFailed(channel="email", reason="bounce", permanent=True),
    )
    state = await always_open.until(handle, lambda s: len(s.touches) == 2, step=timedelta(hours=1))
    assert state.touches[1].channel is None
    assert state.open_task_id == f"task-{handle.id}-1"
    assert (await always_open.task(state.open_task_id)).kind == "no_channel"
    assert state.status is LeadStatus.CONTACTING  # never dropped


async def test_log_call_wrong_number_removes_the_phone_channels(always_open: Engine) -> None:
    customer = {"email": "a@example.nl", "phone": "0628491735", "preferred_channel": "phone"}
    handle = await always_open.start(customer=customer)
    state = await always_open.until(handle, lambda s: len(s.touches) == 2, step=timedelta(hours=1))
    assert [t.channel for t in state.touches] == [Channel.EMAIL, Channel.PHONE]
    assert state.open_task_id is not None
    after = await handle.execute_update(LeadFollowUp.log_call, LogCall(result="wrong_number"))
    assert after.usable_channels == [Channel.EMAIL] and after.open_task_id is None


# --- rule 4: the contact window ------------------------------------------------------------


def first_open_day_after(day: date) -> date:
    """The next day the default contact window opens (mon–sat, not a Dutch public holiday)."""
    day += timedelta(days=1)
    while day.weekday() == 6 or is_holiday("NL", day):
        day += timedelta(days=1)
    return day


async def test_rule4_touch_due_at_23h_is_deferred_into_the_window(engine: Engine) -> None:
    arrival = await engine.skip_to_local(weekday=1, hour=19)  # a Tuesday, 19:00
    handle = await engine.start()
    state = await engine.until(handle, lambda s: len(s.touches) >= 2, step=timedelta(hours=1))
    first, second = (t.at.astimezone(AMS) for t in state.touches[:2])
    assert first - arrival < timedelta(minutes=1)  # touch 1 at once
    # touch 2 was due at 23:00; it went out at the next opening, between 08:00 and 08:30
    assert second.date() == first_open_day_after(arrival.date())
    assert (second.hour, second.minute // 30) == (8, 0)


async def test_rule4_a_running_lead_keeps_the_public_holidays_its_plan_recorded(
    engine: Engine, request: pytest.FixtureRequest
) -> None:
    """A new release of the holidays library, deployed while a lead sleeps, does not move its
    next touch: the closed days came with its plan, in the history."""
    await engine.skip_to_local(weekday=1, hour=19)  # a Tuesday, 19:00: touch 2 is deferred
    handle = await engine.start()
    before = await engine.until(handle, lambda s: len(s.touches) == 1 and s.next_touch_at)
    request.getfixturevalue("another_holidays_release")  # every weekday a holiday from now on
    # Anything that wakes the lead makes it take its next step again.
    await handle.signal(LeadFollowUp.opted_in, OptedIn(channel="sms", event_id="start-1"))
    after = await engine.until(handle, lambda s: any(e.what == "opted_in" for e in s.events))
    assert after.next_touch_at == before.next_touch_at
    assert before.next_touch_at is not None
    assert before.next_touch_at.astimezone(AMS).weekday() == 2  # Wednesday, not a Saturday


async def test_rule4_deferral_across_the_dst_change(engine: Engine) -> None:
    now = (await engine.env.get_current_time()).astimezone(AMS)
    year = now.year + 1 if now.month >= 3 else now.year
    last_sunday = max(date(year, 3, d) for d in range(25, 32) if date(year, 3, d).weekday() == 6)
    saturday_evening = datetime.combine(last_sunday - timedelta(days=1), time(19), tzinfo=AMS)
    assert saturday_evening.utcoffset() == timedelta(hours=1)  # still winter time
    await engine.env.sleep(saturday_evening - now)
    handle = await engine.start()
    state = await engine.until(handle, lambda s: len(s.touches) >= 2, step=timedelta(hours=1))
    second = state.touches[1].at.astimezone(AMS)
    # Sunday closed (and Easter Monday when it falls there): the next opening, 08:00 local,
    # which is now summer time (UTC+2).
    assert second.date() == first_open_day_after(saturday_evening.date())
    assert second.hour == 8 and second.utcoffset() == timedelta(hours=2)


# --- one customer, one conversation --------------------------------------------------------


async def test_second_lead_of_the_same_customer_is_merged(always_open: Engine) -> None:
    handle = await always_open.start(customer={"email": "pieter.merge@example.nl"})
    await always_open.until(handle, lambda s: len(s.touches) == 1, step=timedelta(0))
    second = Lead.model_validate(
        {
            "dealer_id": "autohuis-test",
            "source": "autoscout24",
            "external_id": "as-1",
            "kind": "test_drive",
            "customer": {"email": "Pieter@Example.nl ", "phone": "0628491735"},
        }
    )
    await handle.signal(LeadFollowUp.new_inquiry, second)
    await handle.signal(LeadFollowUp.new_inquiry, second)  # delivered twice: merged once
    state = await always_open.until(handle, lambda s: len(s.inquiries) == 2, step=timedelta(0))
    assert [i.source for i in state.inquiries] == ["marktplaats", "autoscout24"]
    assert Channel.SMS in state.usable_channels  # the phone number came with the second lead
    assert len(state.touches) == 1  # the cadence was not restarted


# --- pause and resume ----------------------------------------------------------------------


async def test_pause_holds_the_cadence_and_resume_shifts_it(always_open: Engine) -> None:
    handle = await always_open.start()
    await always_open.until(handle, lambda s: len(s.touches) == 1, step=timedelta(0))
    paused = await handle.execute_update(LeadFollowUp.pause, Empty())
    assert paused.status is LeadStatus.PAUSED
    await always_open.env.sleep(timedelta(days=10))
    assert len((await always_open.state(handle)).touches) == 1
    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update(LeadFollowUp.pause, Empty())
    resumed = await handle.execute_update(LeadFollowUp.resume, Empty())
    assert resumed.status is LeadStatus.CONTACTING and resumed.paused_seconds >= 10 * 86400
    state = await always_open.until(handle, lambda s: len(s.touches) == 2, step=timedelta(hours=1))
    first, second = state.touches
    # touch 2 is due 4h after arrival, shifted by the ten paused days
    assert second.at - first.at >= timedelta(days=10, hours=4)


# --- continue-as-new -----------------------------------------------------------------------


async def test_continue_as_new_keeps_the_whole_state(
    time_env: WorkflowEnvironment, outbox_path: Path
) -> None:
    config = make_config(history_limit=50, contact_window="always", business_hours="always")
    async with engine_for(time_env, outbox_path, config) as engine:
        handle = await engine.start()
        await engine.until(handle, lambda s: len(s.touches) == 2, step=timedelta(hours=1))
        await handle.signal(LeadFollowUp.opted_out, OptedOut(channel="sms"))
        final = await handle.result()  # follows the chain of runs
        assert await engine.continued_as_new(handle)
        assert final.status is LeadStatus.UNREACHABLE
        assert [t.number for t in final.touches] == list(range(1, 9))
        assert any(e.what == "opted_out" for e in final.events)
        assert len(engine.lines()) == 8
        # One conversation across its runs: every line under the first run's id (issue 9).
        assert {line["conversation"] for line in engine.lines()} == {handle.first_execution_run_id}


# --- bounded state (issue 13, hazard 2) ----------------------------------------------------


async def test_a_chatty_lead_of_500_messages_carries_a_bounded_timeline(
    dev_env: WorkflowEnvironment, outbox_path: Path
) -> None:
    """Five hundred customer messages, each under a long provider event id (a Message-ID):
    the timeline keeps its newest lines, its first reply and its task lines, and counts the
    rest; every repeat is still heard once; the reply's figures are the first reply's; and
    what the lead carries through continue-as-new is bounded too. On the dev server: the
    time-skipping one does not continue-as-new atomically (sdk-java#1537), and signals that
    arrive meanwhile can stall it."""
    async with engine_for(dev_env, outbox_path, make_config(history_limit=300)) as engine:
        await chatty_lead(engine)


async def chatty_lead(engine: Engine) -> None:
    handle = await engine.start()

    async def outbox() -> list[dict[str, Any]]:
        return engine.lines()

    await eventually(outbox, lambda lines: len(lines) == 1)  # the first answer went out
    long_id = "<{n}." + "x" * 170 + "@mail.example.nl>"
    for n in range(500):
        reply = CustomerReplied(channel="email", text=f"Bericht {n}", event_id=long_id.format(n=n))
        await handle.signal(LeadFollowUp.customer_replied, reply)
    # Signals are handled in order: the last message in the thread means all 500 were heard.
    state = await engine.until(handle, lambda s: s.thread[-1].text == "Bericht 499")
    replies = [e for e in state.events if e.what == "customer_replied"]
    assert len(state.events) <= 200
    assert state.events_dropped["customer_replied"] == 500 - len(replies)
    assert replies[0].detail == "Bericht 0"  # the first reply stays: milestones read it
    assert any(e.what.startswith("task_opened_") for e in state.events)
    # A webhook's retry of a message already heard changes nothing.
    repeat = CustomerReplied(channel="email", text="Bericht 3", event_id=long_id.format(n=3))
    await handle.signal(LeadFollowUp.customer_replied, repeat)
    await handle.signal(LeadFollowUp.opted_in, OptedIn(channel="sms", event_id="start-after"))
    after = await engine.until(handle, lambda s: any(e.what == "opted_in" for e in s.events))
    assert (
        after.events_dropped.get("customer_replied", 0)
        + sum(e.what == "customer_replied" for e in after.events)
        == 500
    )
    figures = await handle.query(LeadFollowUp.results_figures)
    assert figures.first_reply_at == replies[0].at
    # The run continued as new past its history limit: what it carried is bounded too, the
    # ids heard as digests rather than 500 long strings.
    assert await engine.continued_as_new(handle)
    carried = await carried_conversation(engine, handle.id)
    assert len(carried.events) <= 200 and len(carried.events_seen) <= 500
    assert {len(key) for key in carried.events_seen} == {20}
    assert len(carried.model_dump_json()) < 150_000


async def carried_conversation(engine: Engine, workflow_id: str) -> Conversation:
    """The conversation the lead's newest run started with (its continue-as-new input)."""
    latest = engine.env.client.get_workflow_handle(workflow_id)
    history = await latest.fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    _, carried = await engine.env.client.data_converter.decode(
        started.input.payloads, [Lead, Conversation]
    )
    assert isinstance(carried, Conversation)
    return carried
