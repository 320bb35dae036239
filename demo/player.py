"""Plays a demo month (demo/month.py) against Temporal, through the workflows' own handlers.

Every lead starts with `client.start_lead` on the demo's task queue, where an in-process
worker (`worker.build_worker`) runs the real `LeadFollowUp` and `SalesTask` with the fast
dealer's plan (demo/dealer.py). The customer answers with the signals the providers' webhooks
send (`customer_replied`, `opted_out`), the salesperson with the updates the inbox sends
(`claim`, `send_message`, `log_call`, `record_outcome`): the figures in the results store are
written by the workflows as for any lead.

Each lead waits for its touches by asking the lead's `state` once the touch is due (its
`next_touch_at`), not by polling it: a month is hundreds of leads on a small machine. A lead
that has not closed by its deadline, and any workflow still running on the demo's queue at
the end, is terminated and reported, so nothing is left waiting for a worker that is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from temporalio.client import (
    Client,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from activities.senders import Senders
from client import start_lead
from demo.dealer import TASK_QUEUE
from demo.month import LeadScript, Step
from leads.config import Config, Dealer
from leads.milestones import FinalOutcome
from leads.models import (
    CallResult,
    Channel,
    CustomerReplied,
    LeadState,
    LeadStatus,
    LogCall,
    OptedOut,
    Outcome,
    RecordOutcome,
    SendMessage,
    TaskState,
    TaskStatus,
    Touch,
)
from results.store import ResultsStore
from worker import build_worker
from workflows.lead_follow_up import LeadFollowUp
from workflows.sales_task import Claim, SalesTask

T = TypeVar("T")

RPC_LIMIT = 16  # Temporal calls in flight at once: the leads mostly sleep, their calls queue
APPOINTMENT_IN = timedelta(seconds=4)  # the compressed month's "next week"
STARTING_TRIES, STARTING_POLL = 50, 0.2  # a lead still starting, on a busy machine: 10 s
POLL = 1.0  # seconds between two looks at a lead that waits for something unscheduled
SLACK = 180.0  # seconds past its cadence and grace before a lead counts as stuck
TASK_DONE_WITHIN = 30.0
PROGRESS_EVERY = 15.0
SALESPERSON_TEXT = "Dank voor uw bericht, ik help u graag verder."
FINAL = {
    LeadStatus.WON: FinalOutcome.WON,
    LeadStatus.UNREACHABLE: FinalOutcome.UNREACHABLE,
    LeadStatus.OPTED_OUT: FinalOutcome.OPTED_OUT,
}


def ending(state: LeadState) -> FinalOutcome | None:
    """How a closed lead ended, as the results store counts it (leads.milestones)."""
    if state.status is LeadStatus.LOST:
        dropped = state.outcome is Outcome.NOT_INTERESTED
        return FinalOutcome.NOT_INTERESTED if dropped else FinalOutcome.LOST
    return FINAL.get(state.status)


@dataclass
class Played:
    """One lead as played: what the script said, how it ended, what went wrong."""

    script: LeadScript
    lead_id: str | None = None
    ended: FinalOutcome | None = None
    tasks: list[str] = field(default_factory=list)
    tasks_done: int = 0
    problem: str | None = None

    @property
    def as_scripted(self) -> bool:
        return self.problem is None and self.ended is self.script.ending


@dataclass
class Summary:
    played: list[Played]
    seconds: float
    terminated: int  # workflows left running on the demo's queue, ended by the demo

    @property
    def ok(self) -> bool:
        return self.terminated == 0 and all(p.as_scripted for p in self.played)

    def counts(self) -> Counter[str]:
        return Counter(p.ended.value if p.ended else "not closed" for p in self.played)

    def lines(self) -> list[str]:
        """The final report: counts only, no lead ids, no customer data."""
        total = len(self.played)
        counts = ", ".join(f"{name} {n}" for name, n in sorted(self.counts().items()))
        tasks = sum(len(p.tasks) for p in self.played)
        done = sum(p.tasks_done for p in self.played)
        lines = [
            f"demo month: {total} leads played in {self.seconds:.0f} s: {counts}",
            f"demo month: {done} of {tasks} sales tasks done",
        ]
        off = [p for p in self.played if not p.as_scripted]
        if off:
            problems = Counter(
                p.problem or f"ended {p.ended} instead of {p.script.ending}" for p in off
            )
            for problem, n in problems.most_common():
                lines.append(f"demo month: {n} lead(s): {problem}")
        if self.terminated:
            lines.append(f"demo month: terminated {self.terminated} workflow(s) left running")
        return lines


class Month:
    """The month's shared means: the client, the fast dealer, a bound on calls in flight."""

    def __init__(self, client: Client, config: Config, say: Callable[[str], None]) -> None:
        self.client = client
        self.config = config
        self.dealer: Dealer = config.dealers[0]
        self.say = say
        self.touches = len(self.dealer.cadence)
        self._limit = asyncio.Semaphore(RPC_LIMIT)
        self.started = 0
        self.closed: Counter[str] = Counter()

    async def rpc(self, call: Callable[[], Awaitable[T]]) -> T:
        async with self._limit:
            return await call()

    def manager(self, salesperson_id: str) -> bool:
        return any(p.id == salesperson_id and p.role == "manager" for p in self.dealer.salespeople)

    def deadline(self, script: LeadScript) -> float:
        """Seconds after the demo's start by which this lead must have closed."""
        cadence = self.dealer.cadence[-1] + self.dealer.grace
        return script.form.arrives_after + cadence.total_seconds() + SLACK


class LeadPlay:
    """One lead: the customer's side and the salesperson's, as its script says."""

    def __init__(self, month: Month, played: Played) -> None:
        self.month = month
        self.played = played
        self.script = played.script
        self.salesperson = self.script.behaviour.sales.salesperson
        self._handle: WorkflowHandle[LeadFollowUp, LeadState] | None = None
        self._claimed: set[str] = set()

    @property
    def handle(self) -> WorkflowHandle[LeadFollowUp, LeadState]:
        assert self._handle is not None, "the lead has not started"
        return self._handle

    # --- plumbing ---------------------------------------------------------------------------

    async def state(self) -> LeadState:
        """The lead's `state`. Right after the start the query is refused until the lead's
        first workflow task has run ("the lead is still starting"): asked again."""
        for _ in range(STARTING_TRIES):
            try:
                return await self.month.rpc(lambda: self.handle.query(LeadFollowUp.state))
            except WorkflowQueryFailedError:
                await asyncio.sleep(STARTING_POLL)
        return await self.month.rpc(lambda: self.handle.query(LeadFollowUp.state))

    async def until(
        self, accept: Callable[[LeadState], bool], wake: Callable[[LeadState], float] | None = None
    ) -> LeadState:
        """The lead's state once `accept` holds (or the lead has closed). `wake`: seconds
        until it is worth asking again (a touch's due time), else POLL."""
        while True:
            state = await self.state()
            if accept(state) or state.status.final:
                return state
            await asyncio.sleep(wake(state) if wake else POLL)

    async def touch_done(self, number: int) -> LeadState:
        def due_in(state: LeadState) -> float:
            if state.next_touch_at is None:
                return POLL
            ahead = (state.next_touch_at - datetime.now(UTC)).total_seconds()
            return max(ahead + 0.3, 0.3)  # a moment after: the touch has been recorded

        return await self.until(lambda s: len(s.touches) >= number, due_in)

    async def update(self, update: Any, arg: Any, update_id: str | None = None) -> Any:
        return await self.month.rpc(lambda: self.handle.execute_update(update, arg, id=update_id))

    async def signal(self, signal: Any, arg: Any) -> None:
        await self.month.rpc(lambda: self.handle.signal(signal, arg))

    @staticmethod
    async def after(at: datetime, seconds: float) -> None:
        """Wait until `seconds` after `at`: a person's delay, in the compressed month."""
        ahead = (at - datetime.now(UTC)).total_seconds() + seconds
        if ahead > 0:
            await asyncio.sleep(ahead)

    # --- the play ---------------------------------------------------------------------------

    async def run(self, started_at: float) -> None:
        await asyncio.sleep(
            max(0.0, started_at + self.script.form.arrives_after - time.monotonic())
        )
        month = self.month
        result = await month.rpc(
            lambda: start_lead(month.client, month.config, month.dealer, self.script.lead)
        )
        self.played.lead_id = result.lead_id
        self._handle = month.client.get_workflow_handle_for(LeadFollowUp.run, result.lead_id)
        month.started += 1
        customer = self.script.behaviour.customer
        answered = False
        for number in range(1, month.touches + 1):
            state = await self.touch_done(number)
            if state.status.final:
                break
            touch = state.touches[number - 1]
            answering = customer.answers_at == number
            if answering and customer.stops:
                await self.stop(state, touch)
            elif touch.channel is None or touch.channel is Channel.PHONE:
                # A call or no-channel task (rules 2 and 3): the salesperson works it; the
                # customer who answers now is reached there.
                await self.work_task(touch, CallResult.REACHED if answering else None)
            elif answering:
                await self.reply(touch.channel)
            if answering:
                answered = True
                break
        if answered and not customer.stops:
            await self.sell()
        elif not answered:
            await self.give_up()

    async def stop(self, state: LeadState, touch: Touch) -> None:
        """STOP on every channel that reaches the customer, the one just used first (rule 7:
        each opt-out removes one channel). A customer nothing written reaches told the
        salesperson on the platform: an opt-out of all channels."""
        written = [c for c in state.usable_channels if c.written]
        if touch.channel in written:
            written.remove(touch.channel)
            written.insert(0, touch.channel)
        if not written:
            await self.signal(LeadFollowUp.opted_out, OptedOut(channel="all"))
            return
        for channel in written:
            text = None if channel is Channel.EMAIL else "STOP"  # e-mail: the unsubscribe link
            await self.signal(LeadFollowUp.opted_out, OptedOut(channel=channel, text=text))

    async def reply(self, channel: Channel) -> None:
        at = datetime.now(UTC)
        reply = CustomerReplied(
            channel=channel, text=self.script.behaviour.customer.reply, received_at=at
        )
        await self.signal(LeadFollowUp.customer_replied, reply)
        # The lead opens a reply task at once (rule 6); the salesperson claims it.
        state = await self.until(lambda s: self._opened(s, "reply") is not None)
        task = self._opened(state, "reply")
        if task is not None:
            await self.claim(task, opened_at=at)

    @staticmethod
    def _opened(state: LeadState, kind: str) -> str | None:
        tasks = [e.detail for e in state.events if e.what == f"task_opened_{kind}" and e.detail]
        return tasks[-1] if tasks and tasks[-1] == state.open_task_id else None

    async def claim(self, task_id: str, opened_at: datetime) -> None:
        """Claim after the salesperson's delay. Someone who claimed it first in the inbox
        plays on as its holder."""
        if task_id in self._claimed:
            return
        await self.after(opened_at, self.script.behaviour.sales.claim_after)
        task = self.month.client.get_workflow_handle_for(SalesTask.run, task_id)
        try:
            await self.month.rpc(
                lambda: task.execute_update(SalesTask.claim, Claim(salesperson_id=self.salesperson))
            )
        except WorkflowUpdateFailedError:
            held: TaskState = await self.month.rpc(lambda: task.query(SalesTask.state))
            self.salesperson = held.assigned_to or self.salesperson
        self._claimed.add(task_id)

    async def work_task(self, touch: Touch, result: CallResult | None) -> None:
        """The task of a call or no-channel touch: claimed, then the attempt logged. A call
        always ends its task; a no-channel task stays open until the customer is reached."""
        if touch.task_id is None:
            return
        await self.claim(touch.task_id, opened_at=touch.at)
        call = LogCall(
            result=result or CallResult.NO_ANSWER,
            note="demo",
            salesperson_id=self.salesperson,
        )
        await self._refusable(self.update(LeadFollowUp.log_call, call))

    async def give_up(self) -> None:
        """Rule 5: after the whole cadence. The engine ends a lead nobody answered by itself,
        except while a no-channel task is open: then the human who worked it decides."""
        state = await self.until(lambda s: len(s.touches) >= self.month.touches)
        if not state.status.final and state.open_task_id is not None:
            outcome = RecordOutcome(outcome=Outcome.UNREACHABLE, salesperson_id=self.salesperson)
            await self._refusable(self.update(LeadFollowUp.record_outcome, outcome))

    async def sell(self) -> None:
        sales = self.script.behaviour.sales
        state = await self.state()
        last = datetime.now(UTC)
        if sales.writes:
            await self.after(last, sales.gaps[0])
            await self.write(state)
        appointment_at: datetime | None = None
        for step, gap in zip(sales.steps, sales.gaps[1:], strict=True):
            await self.after(datetime.now(UTC), gap)
            if step.outcome in (Outcome.SHOWN, Outcome.NO_SHOW) and appointment_at is not None:
                await self.after(appointment_at, 0.5)  # a no-show is known only afterwards
            if step.outcome is Outcome.APPOINTMENT:
                appointment_at = datetime.now(UTC) + APPOINTMENT_IN
            await self.record(step, appointment_at)

    async def write(self, state: LeadState) -> None:
        """A salesperson's message on the channel the customer wrote on, else the first
        written one (not WhatsApp: free text needs the customer's own WhatsApp first)."""
        usable = [c for c in state.usable_channels if c.written]
        last_in = next(
            (m.channel for m in reversed(state.thread) if m.direction == "in" and m.channel), None
        )
        others = [c for c in usable if c is not Channel.WHATSAPP]
        channel = last_in if last_in in usable else (others[0] if others else None)
        if channel is None:
            return
        request = SendMessage(
            salesperson_id=self.salesperson,
            text=SALESPERSON_TEXT,
            channel=channel,
            manager=self.month.manager(self.salesperson),
        )
        key = f"message-{self.salesperson}-demo-{self.played.lead_id}"  # as the API names it
        await self._refusable(self.update(LeadFollowUp.send_message, request, update_id=key))

    async def record(self, step: Step, appointment_at: datetime | None) -> None:
        request = RecordOutcome(
            outcome=step.outcome,
            reason=step.reason,
            appointment_at=appointment_at if step.outcome is Outcome.APPOINTMENT else None,
            appointment_kind=step.appointment_kind,
            salesperson_id=self.salesperson,
        )
        await self._refusable(self.update(LeadFollowUp.record_outcome, request))

    async def _refusable(self, call: Awaitable[Any]) -> None:
        """A refusal (the lead closed meanwhile, a rule said no) is the workflow's answer,
        not a failure of the demo: the lead's ending says whether it mattered."""
        try:
            await call
        except WorkflowUpdateFailedError as error:
            cause = error.cause
            if not isinstance(cause, ApplicationError) or cause.type != "Refused":
                raise

    # --- the end ----------------------------------------------------------------------------

    async def settle(self, within: float) -> None:
        """Wait for the lead to close and each of its tasks to be done."""
        final: LeadState = await asyncio.wait_for(self.handle.result(), timeout=within)
        self.played.ended = ending(final)
        self.played.tasks = [
            e.detail for e in final.events if e.what.startswith("task_opened_") and e.detail
        ]
        for task_id in self.played.tasks:
            task = self.month.client.get_workflow_handle_for(SalesTask.run, task_id)
            done: TaskState = await asyncio.wait_for(task.result(), timeout=TASK_DONE_WITHIN)
            if done.status is TaskStatus.DONE:
                self.played.tasks_done += 1

    async def abandon(self) -> None:
        """A lead that did not close in time: terminated, with every task it opened."""
        if self._handle is None:
            return
        ids = [self.handle.id]
        with contextlib.suppress(RPCError, WorkflowQueryFailedError):
            state = await self.state()
            ids += [
                e.detail for e in state.events if e.what.startswith("task_opened_") and e.detail
            ]
        for workflow_id in ids:
            with contextlib.suppress(RPCError):
                await self.month.client.get_workflow_handle(workflow_id).terminate(
                    "demo month: did not close in time"
                )


async def play_lead(month: Month, played: Played, started_at: float) -> None:
    lead = LeadPlay(month, played)
    try:
        remaining = started_at + month.deadline(played.script) - time.monotonic()
        await asyncio.wait_for(lead.run(started_at), timeout=max(remaining, 1.0))
        await lead.settle(max(started_at + month.deadline(played.script) - time.monotonic(), 5.0))
    except TimeoutError:
        played.problem = "did not close in time"
        await lead.abandon()
    except Exception as error:  # one lead's failure is reported; the month goes on
        played.problem = f"failed ({type(error).__name__})"
        await lead.abandon()
    month.closed[played.ended.value if played.ended else "not closed"] += 1


async def sweep(client: Client) -> int:
    """Terminate whatever still runs on the demo's queue: no worker polls it once the demo
    has ended. (Visibility lags a little behind: a workflow that has just closed may still
    be listed, and terminating it fails harmlessly.)"""
    terminated = 0
    query = f"TaskQueue = '{TASK_QUEUE}' AND ExecutionStatus = 'Running'"
    async for execution in client.list_workflows(query):
        with contextlib.suppress(RPCError):
            await client.get_workflow_handle(execution.id, run_id=execution.run_id).terminate(
                "demo month ended"
            )
            terminated += 1
    return terminated


async def progress(month: Month, total: int, started_at: float) -> None:
    while True:
        await asyncio.sleep(PROGRESS_EVERY)
        closed = sum(month.closed.values())
        counts = ", ".join(f"{name} {n}" for name, n in sorted(month.closed.items()))
        seconds = time.monotonic() - started_at
        month.say(
            f"demo month: {seconds:4.0f} s: {month.started} of {total} leads in, "
            f"{closed} closed" + (f" ({counts})" if counts else "")
        )


async def play_month(
    client: Client,
    config: Config,
    scripts: list[LeadScript],
    senders: Senders,
    results: ResultsStore | None = None,
    say: Callable[[str], None] = print,
) -> Summary:
    """Run the demo's worker and play `scripts` on it; `config` is the demo's
    (demo.dealer.demo_config). Returns once every lead has closed or was terminated."""
    month = Month(client, config, say)
    played = [Played(script) for script in scripts]
    started_at = time.monotonic()
    terminated = 0
    worker = build_worker(client, config, senders, task_queue=TASK_QUEUE, results=results)
    async with worker:
        ticker = asyncio.create_task(progress(month, len(scripts), started_at))
        try:
            await asyncio.gather(*(play_lead(month, p, started_at) for p in played))
        finally:
            ticker.cancel()
            # Shielded: an interrupted demo (Ctrl-C) still leaves nothing behind.
            terminated = await asyncio.shield(sweep(client))
    return Summary(played, time.monotonic() - started_at, terminated)
