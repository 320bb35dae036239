"""Rule 8 — judge by the result: each path of a lead lands in the results store (a real
SQLite file) as the workflow passes its milestones, once, with no personal data, whatever
Temporal does to the run afterwards (a retried write, a worker restart, the history gone).

LeadFollowUp runs on the time-skipping test server with the real activities; the store is
read back with SQL, as the reports read it."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from temporalio import activity
from temporalio.client import WorkflowHandle, WorkflowQueryFailedError
from temporalio.testing import WorkflowEnvironment

from activities.dealers import DealerActivities
from activities.results import ResultsActivities
from activities.senders import Senders
from activities.sending import SendingActivities
from leads.milestones import RECORD_CONVERSATION, ConversationFigures
from leads.models import (
    CustomerReplied,
    LeadState,
    LeadStatus,
    LogCall,
    OptedOut,
    RecordOutcome,
    TaskStatus,
)
from providers.outbox import OutboxProvider
from results.store import ResultsStore
from results.tables import conversations, tasks
from tests.conftest import eventually, make_config
from tests.workflows.test_lead_follow_up import Engine
from tests.workflows.test_lean_history import local_activities
from worker import build_worker
from workflows.lead_follow_up import LeadFollowUp
from workflows.sales_task import Claim, SalesTask

Row = dict[str, Any]


class FlakyResults(ResultsActivities):
    """The real write, after one failed attempt each time (a database that dropped the
    connection): the retry must leave the same row as a first success would. Every write it
    was asked for is kept, to be replayed at the store later."""

    def __init__(self, store: ResultsStore) -> None:
        super().__init__(store)
        self.asked: list[ConversationFigures] = []

    @activity.defn(name=RECORD_CONVERSATION)
    async def record_conversation(self, figures: ConversationFigures) -> None:
        if activity.info().attempt == 1:
            raise RuntimeError("the results store dropped the connection")
        self.asked.append(figures)
        await super().record_conversation(figures)


def replacing(
    name: str, replacement: Callable[..., Any]
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A `build_worker(wrap=…)` that runs `replacement` as activity `name`, and every other
    activity as it is."""

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        named = activity._Definition.from_callable(fn)
        return replacement if named is not None and named.name == name else fn

    return wrap


def writing_with(
    replacement: Callable[..., Any],
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The results store's write replaced by `replacement`."""
    return replacing(RECORD_CONVERSATION, replacement)


@dataclass
class Lab(Engine):
    """The workflow tests' engine, with the results store its worker writes to."""

    store: ResultsStore = field(kw_only=True)

    async def until(
        self,
        handle: WorkflowHandle[LeadFollowUp, LeadState],
        accept: Callable[[Any], bool],
        step: timedelta = timedelta(0),
    ) -> LeadState:
        async def probe() -> LeadState | None:
            try:
                return await handle.query(LeadFollowUp.state)
            except WorkflowQueryFailedError:
                return None  # still loading its plan: no state yet

        found = await eventually(
            probe, lambda s: s is not None and accept(s), env=self.env, step=step
        )
        assert found is not None
        return found

    def rows(self, table: Any, lead: str) -> list[Row]:
        with self.store.connect() as connection:
            found = connection.execute(select(table).where(table.c.lead_id == lead))
            return [dict(row._mapping) for row in found]

    async def row_when(self, lead: str, accept: Callable[[Row], bool]) -> Row:
        """The lead's one row once it shows `accept` (the write follows the step)."""

        async def probe() -> list[Row]:
            return self.rows(conversations, lead)

        found = await eventually(probe, lambda rows: len(rows) == 1 and accept(rows[0]))
        return found[0]

    async def replied_and_claimed(
        self, handle: WorkflowHandle[LeadFollowUp, LeadState], channel: str = "email"
    ) -> WorkflowHandle[SalesTask, Any]:
        await self.until(handle, lambda s: len(s.touches) == 1)
        await handle.signal(
            LeadFollowUp.customer_replied,
            CustomerReplied(channel=channel, text="Is hij er nog?", event_id=uuid.uuid4().hex),
        )
        state = await self.until(handle, lambda s: s.open_task_id is not None)
        task = self.env.client.get_workflow_handle_for(SalesTask.run, state.open_task_id or "")
        await eventually(lambda: _started(task), lambda ok: ok, env=self.env)
        await task.execute_update(SalesTask.claim, Claim(salesperson_id="jan"))
        await self.until(handle, lambda s: s.salesperson_id == "jan")
        return task


async def _started(task: WorkflowHandle[SalesTask, Any]) -> bool:
    try:
        await task.query(SalesTask.state)
    except Exception:  # not started yet: the lead is still starting it
        return False
    return True


@asynccontextmanager
async def lab_for(
    env: WorkflowEnvironment,
    tmp_path: Path,
    results: ResultsActivities | None = None,
    task_queue: str | None = None,
    store: ResultsStore | None = None,
    send_results: ResultsActivities | None = None,
) -> AsyncIterator[Lab]:
    """`results`: the workflow's own write replaced; `send_results`: the store the opening's
    send writes a first answer to."""
    config = make_config(contact_window="always", business_hours="always")
    store = store or ResultsStore(f"sqlite:///{tmp_path / 'results.db'}")
    queue = task_queue or f"results-{uuid.uuid4()}"
    senders = Senders(outbox=OutboxProvider(tmp_path / "outbox.jsonl"))
    lab = Lab(env, config, queue, tmp_path / "outbox.jsonl", store=store)

    wrap = writing_with(results.record_conversation) if results else None
    if send_results is not None:
        sending = SendingActivities(config, senders, send_results)
        wrap = replacing("open_lead", DealerActivities(config, env.client, sending).open_lead)
    async with build_worker(
        env.client, config, senders, task_queue=queue, results=store, wrap=wrap
    ):
        try:
            yield lab
        finally:
            await lab.terminate_all()


@pytest.fixture
async def lab(time_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Lab]:
    async with lab_for(time_env, tmp_path) as each:
        yield each


def _nothing_personal(row: Row) -> None:
    text = " ".join(str(value) for value in row.values()).lower()
    for needle in ("pieter", "proef", "@example.nl", "+316", "41527301", "is hij er nog"):
        assert needle not in text, (needle, row)


# --- the paths -------------------------------------------------------------------------------


async def test_rule8_a_reply_records_two_way_contact_the_touches_it_took_and_the_claim(
    lab: Lab,
) -> None:
    handle = await lab.start(customer={"name": "Pieter Proef", "phone": "+31641527301"})
    await lab.replied_and_claimed(handle, channel="sms")
    row = await lab.row_when(handle.id, lambda r: r["salesperson_id"] == "jan")
    assert row["conversation_id"] == handle.result_run_id
    assert (row["status"], row["first_channel"], row["touches_to_reply"]) == (
        "engaged",
        "whatsapp",
        1,
    )
    assert row["first_answer_at"] is not None
    assert row["first_answer_at"] <= row["first_reply_at"] <= row["claimed_at"]
    assert row["outcome"] is None and row["closed_at"] is None
    [task] = lab.rows(tasks, handle.id)
    assert (task["kind"], task["salesperson_id"]) == ("reply", "jan")
    assert task["claimed_at"] == row["claimed_at"]
    _nothing_personal(row)
    _nothing_personal(task)


async def test_rule8_appointment_shown_won_each_lands_and_the_task_is_done(lab: Lab) -> None:
    handle = await lab.start()
    task = await lab.replied_and_claimed(handle)
    now = await lab.env.get_current_time()
    appointment = (now + timedelta(days=2)).replace(microsecond=0)
    await handle.execute_update(
        LeadFollowUp.record_outcome,
        RecordOutcome(outcome="appointment", appointment_at=appointment, salesperson_id="jan"),
    )
    row = await lab.row_when(handle.id, lambda r: r["appointment_set_at"] is not None)
    assert row["appointment_at"] == appointment.replace(tzinfo=None)
    assert (row["appointment_kind"], row["status"]) == ("showroom", "appointment")
    assert (await task.result()).status is TaskStatus.DONE
    await handle.execute_update(LeadFollowUp.record_outcome, RecordOutcome(outcome="shown"))
    await handle.execute_update(LeadFollowUp.record_outcome, RecordOutcome(outcome="won"))
    assert (await handle.result()).status is LeadStatus.WON
    row = await lab.row_when(handle.id, lambda r: r["outcome"] == "won")
    assert row["shown_at"] is not None and row["closed_at"] is not None
    assert row["appointment_set_at"] <= row["shown_at"] <= row["closed_at"]
    assert row["no_show_at"] is None
    [task_row] = lab.rows(tasks, handle.id)
    assert task_row["done_at"] is not None


async def test_rule8_lost_keeps_its_reason_label(lab: Lab) -> None:
    handle = await lab.start()
    await lab.replied_and_claimed(handle)
    await handle.execute_update(
        LeadFollowUp.record_outcome, RecordOutcome(outcome="lost", reason="bought elsewhere")
    )
    await handle.result()
    row = await lab.row_when(handle.id, lambda r: r["closed_at"] is not None)
    assert (row["status"], row["outcome"], row["outcome_reason"]) == (
        "lost",
        "lost",
        "bought elsewhere",
    )


async def test_rule5_unreachable_only_after_the_whole_cadence(
    own_time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    async with lab_for(own_time_env, tmp_path) as lab:
        await _unreachable(lab)


async def _unreachable(lab: Lab) -> None:
    unique = uuid.uuid4().hex[:8]
    customer = {"name": "Pieter Proef", "email": f"p.{unique}@example.nl", "phone": "0000000000"}
    handle = await lab.start(customer=customer)
    final = await handle.result()
    assert final.status is LeadStatus.UNREACHABLE and len(final.touches) == 8
    row = await lab.row_when(handle.id, lambda r: r["outcome"] == "unreachable")
    # rule 2: the placeholder phone only routes around the phone channels
    assert (row["contact_quality"], row["phone_placeholder"], row["usable_channels"]) == (
        "placeholder_phone",
        True,
        "email",
    )
    assert row["first_channel"] == "email"
    sent = final.touches[0].sent_at
    assert sent is not None and row["first_answer_at"] == sent.replace(tzinfo=None)
    assert row["first_reply_at"] is None and row["touches_to_reply"] is None
    assert row["closed_at"] >= final.touches[-1].at.replace(tzinfo=None)


async def test_rule8_the_first_answer_is_written_by_the_send_itself(lab: Lab) -> None:
    """Patches `results-with-send` and `first-answer-in-open`: the milestone lands with the
    message, at the time the provider took it, and costs the lead no local activity of its
    own."""
    handle = await lab.start()
    state = await lab.until(handle, lambda s: len(s.touches) == 1)
    row = await lab.row_when(handle.id, lambda r: r["first_answer_at"] is not None)
    sent = state.touches[0].sent_at
    assert sent is not None and row["first_answer_at"] == sent.replace(tzinfo=None)
    assert (row["status"], row["first_channel"]) == ("contacting", "email")
    assert await local_activities(handle) == ["open_lead"]


async def test_rule8_a_first_answer_the_send_could_not_write_is_written_by_the_lead(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """The send's store cannot be opened (its SQLite file's directory became a plain file):
    the message still goes out, and the lead's own write puts the milestone in the store."""
    gone = tmp_path / "gone"
    unopenable = ResultsStore(f"sqlite:///{gone / 'results.db'}")
    gone.rmdir()
    gone.write_text("not a directory")
    down = ResultsActivities(unopenable)
    async with lab_for(time_env, tmp_path, send_results=down) as lab:
        handle = await lab.start()
        state = await lab.until(handle, lambda s: len(s.touches) == 1)
        row = await lab.row_when(handle.id, lambda r: r["first_answer_at"] is not None)
        assert len(lab.lines()) == 1
        sent = state.touches[0].sent_at
        assert sent is not None and row["first_answer_at"] == sent.replace(tzinfo=None)
        found = await local_activities(handle)
        assert found[:2] == ["open_lead", RECORD_CONVERSATION]


async def test_rule7_an_opt_out_of_everything_closes_as_opted_out(lab: Lab) -> None:
    handle = await lab.start()
    await lab.until(handle, lambda s: len(s.touches) == 1)
    await handle.signal(LeadFollowUp.opted_out, OptedOut(channel="all"))
    assert (await handle.result()).status is LeadStatus.OPTED_OUT
    row = await lab.row_when(handle.id, lambda r: r["closed_at"] is not None)
    assert (row["status"], row["outcome"]) == ("opted_out", "opted_out")


async def test_rule2_no_usable_channel_is_recorded_with_its_call_task(lab: Lab) -> None:
    handle = await lab.start(customer={"name": "Pieter Proef", "phone": "onbekend"})
    state = await lab.until(handle, lambda s: s.open_task_id is not None)
    row = await lab.row_when(handle.id, lambda r: len(lab.rows(tasks, handle.id)) == 1)
    assert (row["first_channel"], row["no_usable_channel"]) == ("none", True)
    assert row["contact_quality"] == "no_channel"
    [task] = lab.rows(tasks, handle.id)
    assert task["kind"] == "no_channel" and task["task_key"].endswith(":1")
    assert state.status is LeadStatus.CONTACTING  # never dropped
    await handle.execute_update(LeadFollowUp.log_call, LogCall(result="reached"))
    row = await lab.row_when(handle.id, lambda r: r["first_reply_at"] is not None)
    assert row["touches_to_reply"] == 1  # a call that reached them is two-way contact


# --- once, whatever Temporal does --------------------------------------------------------


async def test_rule8_a_retried_or_repeated_write_changes_nothing(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    store = ResultsStore(f"sqlite:///{tmp_path / 'results.db'}")
    flaky = FlakyResults(store)
    async with lab_for(time_env, tmp_path, results=flaky, store=store) as lab:
        handle = await lab.start()
        await lab.replied_and_claimed(handle)
        await handle.execute_update(
            LeadFollowUp.record_outcome, RecordOutcome(outcome="lost", reason="price")
        )
        await handle.result()
        final = await lab.row_when(handle.id, lambda r: r["outcome"] == "lost")
    assert len(flaky.asked) >= 3  # first answer, reply, claim, lost: each retried once
    # Every write again, in any order, as a replayed worker or a second backfill would.
    replayed = flaky.asked * 2
    random.Random(8).shuffle(replayed)
    for figures in replayed:
        store.record_conversation(figures)
    again = lab.rows(conversations, handle.id)
    assert len(again) == 1
    moved = {k for k, v in again[0].items() if final[k] != v and k != "recorded_at"}
    assert not moved, moved


async def test_rule8_the_figures_outlive_a_worker_restart(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """On the dev server: a restarted worker finds the lead through its sticky queue's
    timeout, in real time, as in production (the time-skipping server never lets it lapse)."""
    store = ResultsStore(f"sqlite:///{tmp_path / 'results.db'}")
    queue = f"results-{uuid.uuid4()}"
    async with lab_for(dev_env, tmp_path, task_queue=queue, store=store) as first:
        handle = await first.start()
        await first.row_when(handle.id, lambda r: r["first_answer_at"] is not None)
        first.started.clear()  # the lead lives on: the next worker takes it
    # A new worker process (another cache, same store) picks the sleeping lead up.
    async with lab_for(dev_env, tmp_path, task_queue=queue, store=store) as second:
        second.started.append(handle)
        await second.replied_and_claimed(handle)
        await handle.execute_update(
            LeadFollowUp.record_outcome, RecordOutcome(outcome="lost", reason="price")
        )
        await handle.result()
        row = await second.row_when(handle.id, lambda r: r["outcome"] == "lost")
    assert row["first_answer_at"] is not None and row["claimed_at"] is not None
