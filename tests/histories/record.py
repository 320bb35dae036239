"""Records the workflow histories that tests/replay/test_replay.py replays.

    .venv/bin/python -m tests.histories.record [SCENARIO ...]

Runs a handful of representative leads on its own time-skipping test server, with a real
worker (`worker.build_worker`, every message to an outbox in a temporary folder), and writes
each workflow's history to ``tests/histories/<scenario>-<workflow>.json``. The customers and
the dealer are fixed and fake (example.nl, +31 6 112233xx).

Re-record only after an intended change that is *patched* (`workflow.patched`), so that the
histories recorded before it still replay; never to make an incompatible change pass. Naming
scenarios records only those and keeps every other history: that is how a new patched path
gets its own history while the older ones keep proving that runs from before still replay.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter
from sqlalchemy import select
from temporalio import activity
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType, WorkflowExecutionStatus
from temporalio.api.workflow.v1 import WorkflowExecutionInfo
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import (
    Client,
    WorkflowHandle,
    WorkflowHistory,
    WorkflowQueryFailedError,
)
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from activities.senders import Senders
from client import register_search_attributes, start_lead
from contracts import search_attributes as sa
from contracts.erasure import ErasureRequest, ErasureResult
from leads.config import Config, parse_config
from leads.identity import erasure_id, opt_out_id
from leads.models import (
    AutoReplied,
    Channel,
    CustomerReplied,
    DeliveryFailed,
    DeliveryReport,
    DeliveryStatus,
    Lead,
    LeadState,
    LeadStatus,
    OptedOut,
    RecordOutcome,
    SendMessage,
    TaskState,
    TaskStatus,
)
from providers.outbox import OutboxProvider
from results.store import ResultsStore
from results.tables import conversations
from tests.conftest import DEV_SERVER, TEST_SERVER, dealer_dict, eventually, terminate_settled
from tests.workflows.test_lean_history import local_activities
from worker import build_worker
from workflows.erasure import Erasure
from workflows.lead_follow_up import LeadFollowUp
from workflows.opt_out import OptOut
from workflows.sales_task import LEAD_CHECK_INTERVAL, Claim, SalesTask

HERE = Path(__file__).resolve().parent
TASK_QUEUE = "record-histories"
LIMITED_QUEUE = "record-histories-limited"
WINDOWED_QUEUE = "record-histories-windowed"
LOW_HISTORY_LIMIT = 50  # the lowest TemporalSettings allows: forces continue-as-new early
MAX_BYTES = 300_000  # a history this large is a scenario that should be split
QUERY_TIMEOUT = timedelta(seconds=5)

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


def recording_config(task_queue: str, history_limit: int = 2000, windows: bool = False) -> Config:
    """The test dealer, open around the clock: touches go out at the bare cadence offsets.
    `windows`: the default contact window and business hours instead (Dutch holidays)."""
    hours = {} if windows else {"contact_window": "always", "business_hours": "always"}
    return parse_config(
        {
            "temporal": {"task_queue": task_queue, "history_limit": history_limit},
            "api": {"public_base_url": "http://127.0.0.1:9"},
            "dealers": [dealer_dict(**hours)],
        }
    )


# A dealer whose contact window closes on public holidays: its plan records their dates.
WINDOWED = recording_config(WINDOWED_QUEUE, windows=True)


def fake_lead(
    name: str, email: str, phone: str, preferred: str | None = None, **fields: Any
) -> Lead:
    customer = {"name": name, "email": email, "phone": phone, "preferred_channel": preferred}
    return Lead.model_validate(
        {
            "source": "marktplaats",
            "external_id": f"mp-{email.split('@')[0]}",
            "kind": "offer",
            "customer": customer,
            "vehicle": {"make": "Volkswagen", "model": "Golf", "year": 2019},
            "offer_amount": 9500,
            **fields,
        }
    )


def check(condition: bool, what: str) -> None:
    if not condition:
        raise RuntimeError(f"recording went wrong: {what}")


@dataclass
class Recorder:
    env: WorkflowEnvironment
    store: ResultsStore  # the results store every recording worker writes to
    written: list[Path] = field(default_factory=list)
    started: list[str] = field(default_factory=list)  # lead workflow ids
    tasks: list[str] = field(default_factory=list)  # SalesTask workflow ids

    @property
    def client(self) -> Client:
        return self.env.client

    async def start(self, config: Config, lead: Lead) -> WorkflowHandle[LeadFollowUp, LeadState]:
        """Start the lead the way the API and the starter do (signal-with-start); the handle
        is pinned to the first run."""
        # (the test server does not say whether signal-with-start started the workflow, so
        # `duplicate` is always true here; the server is fresh and every customer distinct)
        result = await start_lead(self.client, config, config.dealers[0], lead)
        self.started.append(result.lead_id)
        run_id = (await self.execution(result.lead_id)).execution.run_id
        return self.client.get_workflow_handle_for(LeadFollowUp.run, result.lead_id, run_id=run_id)

    async def until(
        self,
        handle: WorkflowHandle[LeadFollowUp, LeadState],
        accept: Callable[[LeadState], bool],
        step: timedelta = timedelta(0),
    ) -> LeadState:
        async def probe() -> LeadState | None:
            # A query that meets a continue-as-new in flight times out; ask again.
            try:
                return await handle.query(LeadFollowUp.state, rpc_timeout=QUERY_TIMEOUT)
            except RPCError:
                return None

        state = await eventually(
            probe, lambda s: s is not None and accept(s), env=self.env, step=step
        )
        assert state is not None
        return state

    async def execution(self, workflow_id: str, run_id: str = "") -> WorkflowExecutionInfo:
        """The raw description: the SDK's `describe()` cannot decode the test server's
        search attributes once one was unset."""
        described = await self.client.workflow_service.describe_workflow_execution(
            DescribeWorkflowExecutionRequest(
                namespace=self.client.namespace,
                execution=WorkflowExecution(workflow_id=workflow_id, run_id=run_id),
            )
        )
        return described.workflow_execution_info

    async def settled(self, handle: WorkflowHandle[Any, Any]) -> None:
        """Wait until the run has handled everything it was sent (or has closed)."""

        async def last_event() -> EventType.ValueType:
            return (await handle.fetch_history()).events[-1].event_type

        await eventually(last_event, lambda last: last not in BUSY)

    async def finish(self, handle: WorkflowHandle[Any, T]) -> T:
        """The run's result. Only handles from `start_workflow` skip time while they wait
        for it; this one is fetched by id, so time is skipped here, six hours at a time."""
        await eventually(
            lambda: self.execution(handle.id, handle.run_id or ""),
            lambda info: info.status != WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING,
            env=self.env,
            step=timedelta(hours=6),
        )
        return await handle.result()

    async def inquire_until_continued(
        self, first: WorkflowHandle[LeadFollowUp, LeadState], inquiry: Callable[[int], Lead]
    ) -> int:
        """Send inquiries one at a time until the lead continues as new; how many it took.
        No query meanwhile: a query that meets the continue-as-new makes the test server drop
        the run's last events."""
        latest = self.client.get_workflow_handle_for(LeadFollowUp.run, first.id)
        number = 0
        while (await self.execution(first.id)).execution.run_id == first.run_id:
            number += 1
            check(number <= 30, "no continue-as-new after 30 inquiries")
            await latest.signal(LeadFollowUp.new_inquiry, inquiry(number))
            await self.settled(first)
        return number

    async def write_runs(self, name: str, first: WorkflowHandle[Any, Any]) -> None:
        """Both runs of a lead that continued as new: `<name>` and `<name>-continued`."""
        await self.write(name, first, CONTINUED)
        last_run = (await self.execution(first.id)).execution.run_id
        last = self.client.get_workflow_handle(first.id, run_id=last_run)
        await self.write(f"{name}-continued", last, COMPLETED)

    async def task_running(self, task: WorkflowHandle[SalesTask, TaskState]) -> bool:
        """Whether the task's workflow runs yet (its lead names it a moment before)."""
        try:
            await task.query(SalesTask.state, rpc_timeout=QUERY_TIMEOUT)
        except (RPCError, WorkflowQueryFailedError):
            return False
        return True

    def task(self, task_id: str) -> WorkflowHandle[SalesTask, TaskState]:
        if task_id not in self.tasks:
            self.tasks.append(task_id)
        return self.client.get_workflow_handle_for(SalesTask.run, task_id)

    async def write(
        self, name: str, handle: WorkflowHandle[Any, Any], ended: EventType.ValueType
    ) -> None:
        """Write the run's history, which must be whole: its last event is `ended`."""
        history: WorkflowHistory = await handle.fetch_history()
        # The replay needs the workflow id (the lead id becomes the task ids). A real server
        # records it in the start event; the test server leaves the field empty.
        started = history.events[0].workflow_execution_started_event_attributes
        started.workflow_id = started.workflow_id or handle.id
        last = history.events[-1]
        check(
            last.event_type == ended,
            f"{name} ends with {EventType.Name(last.event_type)}, not {EventType.Name(ended)}",
        )
        path = HERE / f"{name}.json"
        path.write_text(history.to_json() + "\n")
        size = path.stat().st_size
        check(size < MAX_BYTES, f"{path.name} has {size} bytes")
        self.written.append(path)
        print(f"{path.relative_to(HERE.parent.parent)}: {len(history.events)} events, {size} B")

    async def terminate_leftovers(self) -> None:
        """Leave nothing running (a failed scenario, or its open tasks)."""
        for lead_id in self.started:
            handle = self.client.get_workflow_handle_for(LeadFollowUp.run, lead_id)
            with contextlib.suppress(RPCError, WorkflowQueryFailedError):
                state = await handle.query(LeadFollowUp.state, rpc_timeout=QUERY_TIMEOUT)
                self.tasks.extend(
                    e.detail for e in state.events if e.what.startswith("task_opened") and e.detail
                )
        for workflow_id in dict.fromkeys([*self.started, *self.tasks]):
            with contextlib.suppress(RPCError):
                await self.client.get_workflow_handle(workflow_id).terminate("recording done")


BUSY = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
}
COMPLETED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED
CONTINUED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
TERMINATED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED


# --- the scenarios ------------------------------------------------------------------------


async def unreachable(rec: Recorder, config: Config, name: str = "unreachable") -> None:
    """(a) The whole cadence without an answer: eight touches, two days' grace, unreachable."""
    lead = fake_lead("Pieter Proef", "pieter.proef@example.nl", "+31 6 11223344")
    handle = await rec.start(config, lead)
    final = await rec.finish(handle)  # through the 14 days of the cadence and 2 of grace
    check(final.status is LeadStatus.UNREACHABLE, f"status {final.status}")
    check(len(final.touches) == 8, f"{len(final.touches)} touches")
    await rec.write(f"{name}-LeadFollowUp", handle, COMPLETED)


async def reply(rec: Recorder, config: Config) -> None:
    """(b) The customer answers: engaged, a reply task (reminded, claimed, told of a second
    reply), an appointment that closes the task, then won."""
    lead = fake_lead("Anna Voorbeeld", "anna.voorbeeld@example.nl", "+31 6 11223355")
    handle = await rec.start(config, lead)
    await rec.until(handle, lambda s: len(s.touches) == 1)
    await handle.signal(
        LeadFollowUp.customer_replied,
        CustomerReplied(channel="email", text="Is de auto nog beschikbaar?", event_id="msg-b-1"),
    )
    state = await rec.until(handle, lambda s: s.open_task_id is not None)
    check(state.status is LeadStatus.ENGAGED, f"status {state.status}")
    task = rec.task(state.open_task_id or "")
    await eventually(
        lambda: task.query(SalesTask.state),
        lambda t: t.reminded,
        env=rec.env,
        step=timedelta(minutes=1),
    )
    claimed = await task.execute_update(SalesTask.claim, Claim(salesperson_id="jan"))
    check(claimed.status is TaskStatus.CLAIMED, f"task {claimed.status}")
    await handle.signal(
        LeadFollowUp.customer_replied,
        CustomerReplied(channel="email", text="Zaterdag kan ik ook.", event_id="msg-b-2"),
    )
    await rec.until(handle, lambda s: [e.what for e in s.events].count("customer_replied") == 2)
    now = await rec.env.get_current_time()
    appointment = (now + timedelta(days=3)).replace(hour=10, minute=0, second=0, microsecond=0)
    await handle.execute_update(
        LeadFollowUp.record_outcome,
        RecordOutcome(outcome="appointment", appointment_at=appointment),
    )
    done = await rec.finish(task)
    check(done.status is TaskStatus.DONE and done.assigned_to == "jan", f"task {done}")
    await rec.env.sleep(timedelta(days=3))
    await handle.execute_update(LeadFollowUp.record_outcome, RecordOutcome(outcome="won"))
    final = await rec.finish(handle)
    check(final.status is LeadStatus.WON, f"status {final.status}")
    await rec.write("reply-LeadFollowUp", handle, COMPLETED)
    await rec.write("reply-SalesTask", task, COMPLETED)


async def opt_out(rec: Recorder, config: Config) -> None:
    """(c) STOP on SMS moves the cadence to e-mail; then an opt-out of everything ends it."""
    lead = fake_lead("Sanne Test", "sanne.test@example.nl", "+31 6 11223366", preferred="sms")
    handle = await rec.start(config, lead)
    state = await rec.until(handle, lambda s: len(s.touches) == 1)
    check(state.touches[0].channel is Channel.SMS, f"touch 1 via {state.touches[0].channel}")
    await handle.signal(LeadFollowUp.opted_out, OptedOut(channel="sms", event_id="sms-stop-c"))
    state = await rec.until(handle, lambda s: len(s.touches) == 2, step=timedelta(hours=1))
    check(state.touches[1].channel is Channel.EMAIL, f"touch 2 via {state.touches[1].channel}")
    await handle.signal(LeadFollowUp.opted_out, OptedOut(channel="all"))
    final = await rec.finish(handle)
    check(final.status is LeadStatus.OPTED_OUT, f"status {final.status}")
    await rec.write("opt-out-LeadFollowUp", handle, COMPLETED)


async def auto_reply(rec: Recorder, config: Config) -> None:
    """(e) An out-of-office postpones touch 2; touch 2's e-mail then bounces (a failure report
    naming the touch), so touch 3 goes by WhatsApp; lost, with a reason."""
    lead = fake_lead("Kees Nepnaam", "kees.nepnaam@example.nl", "+31 6 11223377")
    handle = await rec.start(config, lead)
    await rec.until(handle, lambda s: len(s.touches) == 1)
    back = (await rec.env.get_current_time()) + timedelta(days=3)
    await handle.signal(
        LeadFollowUp.auto_replied,
        AutoReplied(channel="email", until=back, event_id="ooo-e-1"),
    )
    state = await rec.until(handle, lambda s: s.events[-1].what == "auto_reply")
    check(
        state.next_touch_at is not None and state.next_touch_at >= back,
        f"next touch {state.next_touch_at}, back {back}",
    )
    state = await rec.until(handle, lambda s: len(s.touches) == 2, step=timedelta(hours=6))
    check(state.touches[1].channel is Channel.EMAIL, f"touch 2 via {state.touches[1].channel}")
    await handle.signal(
        LeadFollowUp.delivery_failed,
        DeliveryFailed(
            channel="email", reason="mailbox unknown", permanent=True, touch=2, event_id="bo-e-2"
        ),
    )
    state = await rec.until(handle, lambda s: len(s.touches) == 3, step=timedelta(hours=6))
    third = state.touches[2]
    check(third.channel is Channel.WHATSAPP and not third.failed, f"touch 3: {third}")
    await handle.execute_update(
        LeadFollowUp.record_outcome, RecordOutcome(outcome="lost", reason="bought elsewhere")
    )
    final = await rec.finish(handle)
    check(final.status is LeadStatus.LOST, f"status {final.status}")
    await rec.write("auto-reply-LeadFollowUp", handle, COMPLETED)


async def continue_as_new(rec: Recorder, config: Config) -> None:
    """(d) A chatty lead on a dealer with a low history limit: delivery reports and merged
    inquiries push the first run past the limit, it continues as new with its state, and the
    next run ends with an outcome. Both runs are recorded."""
    lead = fake_lead("Joost Proefpersoon", "joost.proef@example.nl", "+31 6 11223388")
    first = await rec.start(config, lead)
    await rec.until(first, lambda s: len(s.touches) == 1)
    latest = rec.client.get_workflow_handle_for(LeadFollowUp.run, first.id)
    for status in (DeliveryStatus.SENT, DeliveryStatus.DELIVERED, DeliveryStatus.READ):
        await latest.signal(
            LeadFollowUp.delivery_status,
            DeliveryReport(channel="email", touch=1, status=status, event_id=f"ev-d-{status}"),
        )
    number = await rec.inquire_until_continued(
        first,
        lambda n: fake_lead(
            "Joost Proefpersoon",
            "joost.proef@example.nl",
            "+31 6 11223388",
            source="autoscout24",
            external_id=f"as-joost-{n}",
            kind="test_drive",
        ),
    )
    state = await rec.until(latest, lambda s: len(s.inquiries) == number + 1)
    check(len(state.touches) == 1, f"{len(state.touches)} touches after continue-as-new")
    await latest.execute_update(
        LeadFollowUp.record_outcome, RecordOutcome(outcome="lost", reason="price")
    )
    final = await rec.finish(latest)
    check(final.status is LeadStatus.LOST, f"status {final.status}")
    await rec.write_runs("continue-as-new-LeadFollowUp", first)


async def after_erasure(rec: Recorder, config: Config) -> None:
    """(f) A customer whose earlier lead was erased after they stopped SMS comes back: the
    OptOut workflow the erasure left is read before touch 1, so the whole cadence is e-mail
    though they prefer SMS."""
    phone, e164 = "+31 6 11223399", "+31611223399"
    dealer = config.dealers[0]
    kept = await rec.client.start_workflow(
        OptOut.run,
        [Channel.SMS],
        id=opt_out_id(dealer.id, dealer.webhook_secret, f"phone:{e164}"),
        task_queue=config.temporal.task_queue,
    )
    await rec.settled(kept)
    lead = fake_lead("Bram Bedacht", "bram.bedacht@example.nl", phone, preferred="sms")
    handle = await rec.start(config, lead)
    state = await rec.until(handle, lambda s: len(s.touches) == 1)
    check(state.touches[0].channel is not Channel.SMS, f"touch 1 via {state.touches[0].channel}")
    # Ended before time skips on: the test server times an idle workflow out after ten years.
    await kept.terminate("recording done")
    final = await rec.finish(handle)
    check(Channel.SMS not in {t.channel for t in final.touches}, "an SMS was sent")
    await rec.write("after-erasure-LeadFollowUp", handle, COMPLETED)
    await rec.write("after-erasure-OptOut", kept, TERMINATED)


# What a newer version of Blanco adds to its payloads, as this one sees them: fields it does
# not know, at the top of a payload and inside its nested models.
NEWER: dict[str, Any] = {"added_by_a_newer_version": {"channel": "carrier pigeon", "n": [1, 2]}}
NEWER_QUEUE = "record-histories-newer"


def with_unknown_fields(value: Any) -> Any:
    """`value` as a newer version would send it: every model (nested ones too) with NEWER."""
    if isinstance(value, BaseModel):
        fields = {
            name: with_unknown_fields(getattr(value, name)) for name in type(value).model_fields
        }
        return {**fields, **(value.model_extra or {}), **NEWER}
    if isinstance(value, list | tuple):
        return [with_unknown_fields(item) for item in value]
    return value


def from_a_newer_version(fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """This version's activity, answering as a newer version would: its result carries
    fields this version's workflows do not know. (Its arguments arrive undecoded, `*args`,
    and are read with the activity's own types.)"""
    defined = activity._Definition.must_from_callable(fn)
    arg_types = defined.arg_types or []

    @activity.defn(name=defined.name)
    async def newer(*args: Any) -> Any:
        decoded: list[Any] = [
            TypeAdapter(t).validate_python(a) for t, a in zip(arg_types, args, strict=True)
        ]
        return with_unknown_fields(await fn(*decoded))

    return newer


def newer_model(model: type[M], **fields: Any) -> M:
    """A payload a newer API or worker sends this version."""
    return model.model_validate({**fields, **NEWER})


async def newer_version(rec: Recorder) -> None:
    """(g) A rolling deploy: a newer version's API and workers send this version payloads with
    fields it does not know — the lead (its customer and vehicle too), signals, updates and
    every activity result (the dealer plan and its windows too). The lead is answered,
    replies, gets a task that is claimed, grows past a low history limit and continues as new
    carrying all of it, and ends lost. Both runs and the task are recorded."""
    # The default contact window (not "always"): the dealer plan then carries a nested model.
    config = parse_config(
        {
            "temporal": {"task_queue": NEWER_QUEUE, "history_limit": LOW_HISTORY_LIMIT},
            "api": {"public_base_url": "http://127.0.0.1:9"},
            "dealers": [dealer_dict(business_hours="always")],
        }
    )
    with tempfile.TemporaryDirectory(prefix="blanco-record-newer-") as tmp:
        senders = Senders(outbox=OutboxProvider(Path(tmp) / "outbox.jsonl"))
        async with build_worker(
            rec.client, config, senders, wrap=from_a_newer_version, results=rec.store
        ):
            await newer_run(rec, config)


async def newer_run(rec: Recorder, config: Config) -> None:
    email, phone = "nina.nieuw@example.nl", "+31 6 11223300"
    lead = Lead.model_validate(
        {
            "source": "marktplaats",
            "external_id": "mp-nina.nieuw",
            "kind": "offer",
            "customer": {"name": "Nina Nieuw", "email": email, "phone": phone, **NEWER},
            "vehicle": {"make": "Volkswagen", "model": "Polo", **NEWER},
            **NEWER,
        }
    )
    first = await rec.start(config, lead)
    await rec.until(first, lambda s: len(s.touches) == 1)
    latest = rec.client.get_workflow_handle_for(LeadFollowUp.run, first.id)
    await latest.signal(
        LeadFollowUp.delivery_status,
        newer_model(DeliveryReport, channel="email", touch=1, status="delivered", event_id="g-1"),
    )
    await latest.signal(
        LeadFollowUp.customer_replied,
        newer_model(CustomerReplied, channel="email", text="Kan het wat lager?", event_id="g-2"),
    )
    state = await rec.until(latest, lambda s: s.open_task_id is not None)
    task = rec.task(state.open_task_id or "")
    await task.execute_update(SalesTask.claim, newer_model(Claim, salesperson_id="jan"))
    number = await rec.inquire_until_continued(
        first,
        lambda n: Lead.model_validate(
            {**lead.model_dump(), "source": "autoscout24", "external_id": f"as-nina-{n}"}
        ),
    )
    state = await rec.until(latest, lambda s: len(s.inquiries) == number + 1)
    check(state.customer is not None and state.customer.model_extra == NEWER, "extras dropped")
    await latest.execute_update(
        LeadFollowUp.record_outcome, newer_model(RecordOutcome, outcome="lost", reason="price")
    )
    final = await rec.finish(latest)
    check(final.status is LeadStatus.LOST, f"status {final.status}")
    done = await rec.finish(task)
    check(done.status is TaskStatus.DONE, f"task {done.status}")
    await rec.write_runs("newer-version-LeadFollowUp", first)
    await rec.write("newer-version-SalesTask", task, COMPLETED)


async def salesperson(rec: Recorder, config: Config) -> None:
    """(h) The salesperson takes over: an e-mail reply, the claim (which tells the lead), an
    answer in the thread (`send_message`, sent once for a repeated key) with its delivery
    report, a test drive booked and confirmed by SMS, shown, won."""
    lead = fake_lead("Joris Proef", "joris.proef@example.nl", "+31 6 11223377")
    handle = await rec.start(config, lead)
    await rec.until(handle, lambda s: len(s.touches) == 1)
    await handle.signal(
        LeadFollowUp.customer_replied,
        CustomerReplied(
            channel="email",
            text="Kan ik een proefrit maken?",
            subject="Re: Uw aanvraag",
            message_id="<h-1@mail.example.nl>",
            event_id="msg-h-1",
        ),
    )
    state = await rec.until(handle, lambda s: s.open_task_id is not None)
    task = rec.task(state.open_task_id or "")
    await task.execute_update(SalesTask.claim, Claim(salesperson_id="jan"))
    await rec.until(handle, lambda s: s.salesperson_id == "jan")
    answer = SendMessage(salesperson_id="jan", text="Zeker, zaterdag om 10:00?")
    for _ in range(2):  # a double tap: one message
        sent = await handle.execute_update(
            LeadFollowUp.send_message, answer, id="message-jan-h-tap"
        )
    await handle.signal(
        LeadFollowUp.delivery_status,
        DeliveryReport(
            channel="email", touch=0, message=sent.message, status="delivered", event_id="h-2"
        ),
    )
    await handle.signal(
        LeadFollowUp.customer_replied,
        CustomerReplied(channel="sms", text="Ja, prima", event_id="msg-h-3"),
    )
    await rec.until(handle, lambda s: len(s.thread) == 4)
    now = await rec.env.get_current_time()
    appointment = (now + timedelta(days=3)).replace(hour=10, minute=0, second=0, microsecond=0)
    booked = await handle.execute_update(
        LeadFollowUp.record_outcome,
        RecordOutcome(
            outcome="appointment",
            appointment_at=appointment,
            appointment_kind="test_drive",
            salesperson_id="jan",
        ),
    )
    check(booked.status is LeadStatus.APPOINTMENT, f"status {booked.status}")
    confirmed = await rec.until(handle, lambda s: s.thread[-1].template is not None)
    check(confirmed.thread[-1].channel is Channel.SMS, f"confirmation {confirmed.thread[-1]}")
    await rec.env.sleep(timedelta(days=3, hours=1))
    await handle.execute_update(
        LeadFollowUp.record_outcome, RecordOutcome(outcome="shown", salesperson_id="jan")
    )
    await handle.execute_update(
        LeadFollowUp.record_outcome, RecordOutcome(outcome="won", salesperson_id="jan")
    )
    final = await rec.finish(handle)
    check(final.status is LeadStatus.WON, f"status {final.status}")
    check([m.by for m in final.thread].count("jan") == 1, "the double tap sent twice")
    done = await rec.finish(task)
    check(done.status is TaskStatus.DONE, f"task {done.status}")
    await rec.write("salesperson-LeadFollowUp", handle, COMPLETED)
    await rec.write("salesperson-SalesTask", task, COMPLETED)


async def replied(
    rec: Recorder, config: Config, lead: Lead, text: str, event_id: str
) -> tuple[WorkflowHandle[LeadFollowUp, LeadState], WorkflowHandle[SalesTask, TaskState]]:
    """A lead whose customer answers its first touch by e-mail, and its reply task, running."""
    handle = await rec.start(config, lead)
    await rec.until(handle, lambda s: len(s.touches) == 1)
    await handle.signal(
        LeadFollowUp.customer_replied,
        CustomerReplied(channel="email", text=text, event_id=event_id),
    )
    state = await rec.until(handle, lambda s: s.open_task_id is not None)
    task = rec.task(state.open_task_id or "")
    await eventually(lambda: rec.task_running(task), lambda ok: ok, env=rec.env)
    return handle, task


async def results(rec: Recorder, config: Config, name: str = "results") -> None:
    """(i) The results store's writes (patch `results-store`): the first answer, the reply,
    the claim and a lost outcome with its reason, each a local activity's marker; the row
    is checked in the store."""
    lead = fake_lead("Lotte Proef", "lotte.proef@example.nl", "+31 6 11223388")
    handle, task = await replied(rec, config, lead, "Wat is de laagste prijs?", "msg-i-1")
    await task.execute_update(SalesTask.claim, Claim(salesperson_id="jan"))
    await rec.until(handle, lambda s: s.salesperson_id == "jan")
    await handle.execute_update(
        LeadFollowUp.record_outcome,
        RecordOutcome(outcome="lost", reason="bought elsewhere", salesperson_id="jan"),
    )
    final = await rec.finish(handle)
    check(final.status is LeadStatus.LOST, f"status {final.status}")
    done = await rec.finish(task)
    check(done.status is TaskStatus.DONE, f"task {done.status}")
    with rec.store.connect() as connection:
        row = connection.execute(
            select(conversations).where(conversations.c.lead_id == handle.id)
        ).one()
    check(row.outcome == "lost" and row.claimed_at is not None, f"row {row}")
    await rec.write(f"{name}-LeadFollowUp", handle, COMPLETED)
    await rec.write(f"{name}-SalesTask", task, COMPLETED)


async def lead_ended(rec: Recorder, config: Config) -> None:
    """(j) Patch `task-follows-lead`: a reply task left unclaimed; its first daily check finds
    the lead running; an operator then terminates the lead, and the next check ends the task,
    done. On a server of its own: once an abandoned child of a terminated parent completes,
    the test server skips no more time, and the other scenarios need it to."""
    with tempfile.TemporaryDirectory(prefix="blanco-record-ended-") as tmp:
        senders = Senders(outbox=OutboxProvider(Path(tmp) / "outbox.jsonl"))
        async with (
            recording_server() as env,
            build_worker(env.client, config, senders, results=rec.store),
        ):
            own = Recorder(env, rec.store, rec.written)
            try:
                await lead_ended_run(own, config)
            finally:
                await own.terminate_leftovers()


async def lead_ended_run(rec: Recorder, config: Config) -> None:
    lead = fake_lead("Eva Einde", "eva.einde@example.nl", "+31 6 11223311")
    handle, task = await replied(rec, config, lead, "Graag een proefrit.", "msg-j-1")

    async def checks() -> int:
        return (await local_activities(task)).count("check_lead")

    await eventually(checks, lambda n: n == 1, env=rec.env, step=timedelta(hours=6))
    await terminate_settled(rec.client, handle.id, "operator: duplicate lead")
    # Not rec.finish: its sleeps would outlast the task's end (see lead_ended).
    skipping = asyncio.ensure_future(rec.env.sleep(LEAD_CHECK_INTERVAL + timedelta(hours=6)))
    try:
        await eventually(
            lambda: rec.execution(task.id),
            lambda info: info.status != WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING,
        )
    finally:
        skipping.cancel()
        with contextlib.suppress(asyncio.CancelledError, RPCError):
            await skipping
    done = await task.result()
    check(done.status is TaskStatus.DONE and await checks() == 2, f"task {done}")
    await rec.write("lead-ended-SalesTask", task, COMPLETED)


async def erasure(rec: Recorder, config: Config) -> None:
    """(k) The right to erasure: a customer who answered and then stopped SMS is erased. On a
    dev server of its own: the erasure's steps list histories through visibility, which the
    time-skipping server lacks."""
    with tempfile.TemporaryDirectory(prefix="blanco-record-erasure-") as tmp:
        senders = Senders(outbox=OutboxProvider(Path(tmp) / "outbox.jsonl"))
        env = await WorkflowEnvironment.start_local(
            dev_server_existing_path=str(DEV_SERVER),
            data_converter=pydantic_data_converter,
            search_attributes=sa.ALL,
            ip="127.0.0.1",
        )
        try:
            async with build_worker(env.client, config, senders, results=rec.store):
                own = Recorder(env, rec.store, rec.written)
                await erasure_run(own, config)
        finally:
            await env.shutdown()


async def erasure_run(rec: Recorder, config: Config) -> None:
    lead = fake_lead("Ewout Wissel", "ewout.wissel@example.nl", "+31 6 11223399", "sms")
    handle, _ = await replied(rec, config, lead, "Is de Golf er nog?", "msg-k-1")
    await handle.signal(
        LeadFollowUp.opted_out, OptedOut(channel="sms", text="STOP", event_id="msg-k-2")
    )
    await rec.until(handle, lambda s: Channel.SMS in s.opted_out)
    request = ErasureRequest(dealer_id=config.dealers[0].id, lead_id=handle.id)
    erased = await rec.client.start_workflow(
        Erasure.run, request, id=erasure_id(handle.id), task_queue=config.temporal.task_queue
    )
    result: ErasureResult = await erased.result()
    check(result.opt_outs == 1 and result.executions >= 2, f"erasure {result}")
    await rec.write("erasure-Erasure", erased, COMPLETED)


SCENARIOS: dict[str, Callable[[Recorder, Config, Config], Awaitable[None]]] = {
    "unreachable": lambda rec, config, limited: unreachable(rec, config),
    "reply": lambda rec, config, limited: reply(rec, config),
    "opt-out": lambda rec, config, limited: opt_out(rec, config),
    "auto-reply": lambda rec, config, limited: auto_reply(rec, config),
    "continue-as-new": lambda rec, config, limited: continue_as_new(rec, limited),
    "after-erasure": lambda rec, config, limited: after_erasure(rec, config),
    "newer-version": lambda rec, config, limited: newer_version(rec),
    "salesperson": lambda rec, config, limited: salesperson(rec, config),
    "results": lambda rec, config, limited: results(rec, config),
    # Patch `lean-history`: (a) and (i) again, with local-activity touches, one opening local
    # activity and one upsert per workflow task (the whole cadence in 67 events, 114 before).
    "lean-unreachable": lambda rec, config, limited: unreachable(rec, config, "lean-unreachable"),
    "lean-reply": lambda rec, config, limited: results(rec, config, "lean-reply"),
    # Patch `results-with-send`: the same two, the first answer's figures written by the send's
    # own local activity (66 events for the whole cadence).
    "with-send-unreachable": lambda rec, config, limited: unreachable(
        rec, config, "with-send-unreachable"
    ),
    "with-send-reply": lambda rec, config, limited: results(rec, config, "with-send-reply"),
    # Patch `first-answer-in-open`: the same two, the first answer sent by the opening local
    # activity (65 events for the whole cadence).
    "first-in-open-unreachable": lambda rec, config, limited: unreachable(
        rec, config, "first-in-open-unreachable"
    ),
    "first-in-open-reply": lambda rec, config, limited: results(rec, config, "first-in-open-reply"),
    # The dealer plan records its public holidays (leads.holidays): the cadence inside the
    # default contact window, which no library release can move.
    "holidays-recorded-unreachable": lambda rec, config, limited: unreachable(
        rec, WINDOWED, "holidays-recorded-unreachable"
    ),
    # Patch `task-follows-lead`: the reply task of (i) again, done before any check; and (j),
    # a task whose lead was terminated, ended by its check.
    "follows-lead-reply": lambda rec, config, limited: results(rec, config, "follows-lead-reply"),
    "lead-ended": lambda rec, config, limited: lead_ended(rec, config),
    "erasure": lambda rec, config, limited: erasure(rec, config),
}


# --- running them ----------------------------------------------------------------------------


@asynccontextmanager
async def recording_server() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(TEST_SERVER), data_converter=pydantic_data_converter
    )
    try:
        await register_search_attributes(env.client)
        yield env
    finally:
        await env.shutdown()


async def record(names: list[str]) -> list[Path]:
    config = recording_config(TASK_QUEUE)
    limited = recording_config(LIMITED_QUEUE, history_limit=LOW_HISTORY_LIMIT)
    with tempfile.TemporaryDirectory(prefix="blanco-record-") as tmp:
        senders = Senders(outbox=OutboxProvider(Path(tmp) / "outbox.jsonl"))
        store = ResultsStore(f"sqlite:///{Path(tmp) / 'results.db'}")
        async with (
            recording_server() as env,
            build_worker(env.client, config, senders, results=store),
            build_worker(env.client, limited, senders, results=store),
            build_worker(env.client, WINDOWED, senders, results=store),
        ):
            rec = Recorder(env, store)
            try:
                for name in names:
                    await SCENARIOS[name](rec, config, limited)
            finally:
                await rec.terminate_leftovers()  # while the workers still answer queries
    return rec.written


def main(argv: list[str]) -> int:
    unknown = sorted(set(argv) - set(SCENARIOS))
    if unknown:
        print(f"unknown scenarios {unknown}; known: {', '.join(SCENARIOS)}", file=sys.stderr)
        return 2
    written = asyncio.run(record(argv or list(SCENARIOS)))
    if not argv:
        for stale in sorted(set(HERE.glob("*.json")) - set(written)):
            stale.unlink()  # a scenario renamed or dropped: its old history goes too
            print(f"removed {stale.name}")
    print(f"{len(written)} histories written to {HERE}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
