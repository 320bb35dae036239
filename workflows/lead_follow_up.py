"""LeadFollowUp: one lead's durable conversation (docs/temporal-interface.md).

Orchestration only. What to send, when, on which channel and which outcomes are allowed is
decided by `leads.conversation.Conversation`; this class feeds it events, sleeps on durable
timers that any signal or update interrupts, runs the send activity, opens `SalesTask`
children, and keeps search attributes and the UI's current details up to date.

Handlers that await share the conversation without a lock, by one rule instead: each one
changes the conversation before its first await, and awaits only for I/O whose outcome it
applies afterwards. So a handler that runs while another awaits sees every decision already
taken (a second reply finds the task the first one is opening: `open_task_id` is set before
the child's start). Two latches order the rest: `_arrived_early` holds handlers until the
conversation exists, and `_starting` holds a task's signals until its start is confirmed.
Appointment confirmations go through the main loop's queue, never from a handler.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError, FailureError

with workflow.unsafe.imports_passed_through():
    from contracts import activities as names
    from contracts import search_attributes as sa
    from contracts.activities import (
        ContactKeysRequest,
        FirstTouch,
        MessageRequest,
        OpenedLead,
        OpenRequest,
        SendRequest,
        SendResult,
    )
    from contracts.errors import REFUSED, STILL_STARTING
    from contracts.touches import (
        opened_conversation,
        recorded_figures,
        touch_request,
        touch_template,
    )
    from contracts.workflows import SALES_TASK  # the child, by name: not its module
    from leads.cadence import describe
    from leads.config import DealerPlan
    from leads.contact_lookups import identifiers_fingerprint, lookups_due
    from leads.conversation import CadenceDone, Conversation, TouchDue, trim
    from leads.identity import task_id
    from leads.milestones import (
        ConversationFigures,
        conversation_figures,
    )
    from leads.models import (
        AppointmentKind,
        AutoReplied,
        Channel,
        CustomerReplied,
        DeliveryFailed,
        DeliveryReport,
        DeliveryStatus,
        Empty,
        Lead,
        LeadState,
        LogCall,
        OptedIn,
        OptedOut,
        Outcome,
        Progress,
        RecordOutcome,
        SendMessage,
        TaskClaimed,
        TaskInput,
        TaskKind,
        ThreadMessage,
        Touch,
    )
    from leads.send_failure import SendFailure, classify
    from leads.task_summary import task_summaries
    from leads.timeline import EventName, task_opened
    from workflows import metrics
    from workflows.activity_failures import ACTIVITY_FAILED, failure_cause

LOAD_TIMEOUT = timedelta(seconds=10)
SEND_ATTEMPT_TIMEOUT = timedelta(seconds=30)
# A touch that cannot be delivered within this window is recorded as failed and the cadence
# goes on: a provider outage must not stall every lead.
SEND_DEADLINE = timedelta(minutes=30)
SEND_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=2),
)
# A salesperson waits on the page for their message: a provider that cannot take it within
# this long marks it failed in the thread, and they choose again.
MESSAGE_DEADLINE = timedelta(minutes=2)
CONTACT_KEYS_PATCH = "contact-keys"
OPT_OUT_PATCH = "opt-out-registry"
CONFIRMATION_PATCH = "appointment-confirmation"
RESULTS_PATCH = "results-store"
# One patch for a history close to Temporal's floor (bench/close_to_floor.py): the lead opens
# with one local activity, its touches are local activities, and each workflow task upserts
# its search attributes once. A run that has it takes the paths of the three patches above
# without asking for them: each patch asked costs its run a marker and an upsert.
LEAN_PATCH = "lean-history"
# The lean path, and the first answer's figures written by the send's own local activity
# instead of one of their own: one activation and one local activity less per lead. Asked
# instead of LEAN_PATCH, which it implies.
RESULTS_WITH_SEND_PATCH = "results-with-send"
# The above, and the first answer sent by the opening local activity: the first answer in one
# local activity and two activations, as Temporal's floor has it. Implies the patches above.
FIRST_IN_OPEN_PATCH = "first-answer-in-open"
RESULTS_TIMEOUT = timedelta(seconds=10)
# A store that is down must not hold the lead up: a milestone that could not be written goes
# with the next one (every write carries all the figures); only the last write is retried
# until it lands.
RESULTS_DEADLINE = timedelta(minutes=1)
RESULTS_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1)
)
CHANNEL_LABEL = MappingProxyType(  # read-only: every run shares this module (worker.py)
    {
        Channel.EMAIL: "e-mail",
        Channel.SMS: "SMS",
        Channel.WHATSAPP: "WhatsApp",
        Channel.CHAT: "platform chat",
        Channel.PHONE: "call task",
    }
)


def _refuse(reason: str | None) -> None:
    if reason:
        raise ApplicationError(reason, type=REFUSED, non_retryable=True)


def _failure(error: FailureError) -> SendFailure:
    """What a failed send means (leads.send_failure), from the error that reached the lead."""
    cause = failure_cause(error)
    if isinstance(cause, ApplicationError):
        return classify((cause.type, cause.message))
    return classify(None)


# How a touch went: what the provider took, or why it failed; and the fingerprint of the
# figures its send wrote to the results store.
Sent = tuple[SendResult | None, SendFailure | None, str | None]


def _log(c: Conversation, event: str, **fields: object) -> None:
    """A line for operators, through the workflow logger (silent while replaying): ids,
    statuses and channels, never the customer's data."""
    workflow.logger.info(event, extra={"lead_id": c.lead_id, "dealer": c.plan.dealer_id, **fields})


def _conversation() -> str:
    """Which conversation of the lead this is: the first run id of its chain of runs, kept by
    continue-as-new, new when a customer whose conversation ended comes back. It makes every
    exactly-once key (outbox line, provider key, routed-back event) name the conversation."""
    return workflow.info().first_execution_run_id


def _earlier_conversation(conversation: str | None) -> bool:
    """A provider's report on a touch of an earlier conversation of this lead id: its touch
    numbers are not ours. (None: a key sent before keys named the conversation.)"""
    return conversation is not None and conversation != _conversation()


@workflow.defn(name="LeadFollowUp")
class LeadFollowUp:
    @workflow.init
    def __init__(self, lead: Lead, carried: Conversation | None = None) -> None:
        # Started with one argument (the lead document) but continued-as-new with two, and the
        # SDK only applies type hints when the argument count matches: validate explicitly.
        self._input = Lead.model_validate(lead)
        self._c = None if carried is None else Conversation.model_validate(carried)
        self._changed = False
        self._next_at: datetime | None = None
        self._published: dict[str, object] = {}
        self._starting: set[str] = set()  # task ids whose child start is not confirmed yet
        # Appointments booked (time, kind) whose confirmation the main loop still sends.
        self._confirmations: list[tuple[datetime | None, AppointmentKind | None]] = []
        # Asked once, first thing: runs started before ContactKeys existed replay without its
        # local activity. (Asked later, a signal handled first could skip the question on
        # replay and leave the marker without its command.)
        self._first_in_open = workflow.patched(FIRST_IN_OPEN_PATCH)
        self._results_with_send = self._first_in_open or workflow.patched(RESULTS_WITH_SEND_PATCH)
        self._first: FirstTouch | None = None  # the first answer the opening sent
        self._lean = self._results_with_send or workflow.patched(LEAN_PATCH)
        if not self._lean:
            # Every run there is looks its contact keys up: no history lacks the patch, so it
            # no longer branches (docs/changing-workflows.md, "contact-keys").
            workflow.deprecate_patch(CONTACT_KEYS_PATCH)
        self._opt_outs = self._lean or workflow.patched(OPT_OUT_PATCH)
        self._results = self._lean or workflow.patched(RESULTS_PATCH)
        self._search_attributes: list[SearchAttributeUpdate[Any]] = []  # upserted by _publish
        self._arrived_early = 0  # handlers waiting for the conversation to exist

    # --- the main loop --------------------------------------------------------------------

    @workflow.run
    async def run(self, lead: Lead, carried: Conversation | None = None) -> LeadState:
        lead = self._input
        if self._c is None and self._lean:
            self._c = await self._open(lead)
            _log(self._c, "lead_started", channels=self._c.usable())
            if self._first is not None:
                # Before any handler that waited for the conversation: the message went first.
                self._record_first(self._c, self._first)
                await self._record_results(self._c)  # when the opening could not write them
            # What came with the start (a reply that restarts an ended conversation) is heard
            # before the first step: with no await before it, a touch would go out first.
            await workflow.wait_condition(lambda: self._arrived_early == 0)
        elif self._c is None:
            plan = await workflow.execute_local_activity(
                names.LOAD_DEALER_PLAN,
                lead.dealer_id or "",
                result_type=DealerPlan,
                start_to_close_timeout=LOAD_TIMEOUT,
            )
            self._c = Conversation.start(workflow.info().workflow_id, lead, plan, workflow.now())
            _log(self._c, "lead_started", channels=self._c.usable())
        c = self._c
        while not c.status.final:
            await self._send_confirmations(c)
            if self._history_is_long(c):
                await workflow.wait_condition(workflow.all_handlers_finished)
                _log(c, "lead_continued_as_new")
                self._upsert([], flush=True)  # the new run starts with these
                workflow.continue_as_new(args=[lead, c])
            await self._step(c)
            # After the step: the first answer goes out before anything is written.
            await self._record_results(c)
        await self._close_task(c, f"lead {c.status.value}")
        self._next_at = None
        self._publish(c)
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._record_results(c, final=True)
        _log(c, "lead_closed", status=c.status.value, touches=len(c.touches))
        return c.state(None)

    async def _open(self, lead: Lead) -> Conversation:
        """A new lead's conversation from one local activity: the plan, the opt-outs an
        erased earlier lead left, and the contact keys when the starter did not set them.
        With patch `first-answer-in-open` that activity also sends the first answer, when
        nothing came with the start that the lead must hear first."""
        keys_set = workflow.info().typed_search_attributes.get(sa.CONTACT_KEYS) is not None
        asked = workflow.now()
        request = OpenRequest(lead=lead, contact_keys=not keys_set)
        if self._first_in_open and self._arrived_early == 0:
            request.answer_at = asked
            request.lead_id = workflow.info().workflow_id
            request.conversation = _conversation()
        opened = await workflow.execute_local_activity(
            names.OPEN_LEAD,
            request,
            result_type=OpenedLead,
            # Sending, it may take as long as a send's attempt may.
            start_to_close_timeout=SEND_ATTEMPT_TIMEOUT if request.answer_at else LOAD_TIMEOUT,
            summary="opening and first answer" if request.answer_at else None,
        )
        # The opening took its first step at `asked`: the conversation starts then too.
        now = asked if self._first_in_open else workflow.now()
        c, matched = opened_conversation(workflow.info().workflow_id, lead, opened, now)
        if matched:  # else (never yet): the first step looks them up again, as runs before did
            if opened.contact_keys is not None:
                self._search_attributes.append(sa.CONTACT_KEYS.value_set(opened.contact_keys))
            c.contact_fingerprint = identifiers_fingerprint(c.contact_identifiers())
        self._first = opened.first
        return c

    async def _record_results(self, c: Conversation, final: bool = False) -> None:
        """Rule 8: the conversation's figures to the results store, when they changed."""
        if not self._results:
            return
        figures = conversation_figures(c, _conversation())
        fingerprint = figures.fingerprint()
        if fingerprint == c.results_fingerprint:
            return
        try:
            await workflow.execute_local_activity(
                names.RECORD_CONVERSATION,
                figures,
                start_to_close_timeout=RESULTS_TIMEOUT,
                schedule_to_close_timeout=None if final else RESULTS_DEADLINE,
                retry_policy=RESULTS_RETRY,
                summary=f"results: {figures.status.value}",
            )
        except ActivityError:
            _log(c, "results_not_recorded", status=c.status.value)
            return
        c.results_fingerprint = fingerprint

    def _milestone(self, c: Conversation) -> None:
        """Wake the main loop to record a milestone that changes nothing else (a claim, a
        salesperson's message) while it waits for a human. A lead waiting for its next touch
        records it then: waking it would cancel and restart its timer for nothing. Runs
        started before the store never woke for these."""
        if self._results and c.waits_for_human():
            self._changed = True

    def _history_is_long(self, c: Conversation) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() > c.plan.history_limit
        )

    async def _step(self, c: Conversation) -> None:
        """One decision: wait for something to happen, or do the touch that is due."""
        self._changed = False
        await self._publish_contact_keys(c)
        if c.waits_for_human():
            # paused, engaged, appointment, or the cadence ran with a human task still open:
            # nothing automatic happens until a human or the customer acts
            self._next_at = None
            self._publish(c)
            await workflow.wait_condition(lambda: self._changed)
            return
        step = self._next_step(c)
        now = workflow.now()
        if step.at > now:
            self._next_at = step.at
            self._publish(c, step)
            with contextlib.suppress(asyncio.TimeoutError):
                await workflow.wait_condition(
                    lambda: self._changed,
                    timeout=step.at - now,
                    timeout_summary=self._step_label(c, step),
                )
            return
        if isinstance(step, CadenceDone):
            c.become_unreachable(now)
            metrics.outcome(c, c.status.value)
            return
        await self._touch(c, step)

    @staticmethod
    def _next_step(c: Conversation) -> TouchDue | CadenceDone:
        if c.plan.holidays_recorded():
            return c.next_step()  # its public holidays are the plan's, in the history
        # A plan from before that asks the holidays library, which reads locale settings the
        # sandbox forbids while it builds its calendar.
        with workflow.unsafe.sandbox_unrestricted():
            return c.next_step()

    def _step_label(self, c: Conversation, step: TouchDue | CadenceDone) -> str:
        if isinstance(step, CadenceDone):
            return "unreachable if no answer by then"
        via = CHANNEL_LABEL[step.channel] if step.channel else "no-channel task"
        return f"touch {step.number} of {c.touches_planned} via {via}"

    # --- touches --------------------------------------------------------------------------

    async def _touch(self, c: Conversation, step: TouchDue) -> None:
        now = workflow.now()
        if step.channel is None or step.channel is Channel.PHONE:
            # Rule 2: no usable channel is a human task, never a dropped lead. Calls are tasks.
            kind = TaskKind.NO_CHANNEL if step.channel is None else TaskKind.CALL
            if c.open_task_id is None:
                await self._open_task(c, kind, due_at=step.at if kind is TaskKind.CALL else None)
            c.record_touch(
                Touch(
                    number=step.number,
                    channel=step.channel,
                    at=now,
                    template=kind.value,
                    task_id=c.open_task_id,
                )
            )
            return
        # The touch as it is recorded, once the send said how it went.
        template = touch_template(c, step.number, step.channel)
        done = Touch(number=step.number, channel=step.channel, at=now, template=template)
        self._record(c, done, await self._send(c, step))

    def _record_first(self, c: Conversation, first: FirstTouch) -> None:
        """The first answer the opening sent (patch `first-answer-in-open`), recorded as the
        lead's own send would have recorded it."""
        template = touch_template(c, first.number, first.channel)
        done = Touch(
            number=first.number, channel=first.channel, at=workflow.now(), template=template
        )
        attempt = first.attempt
        failed = None
        if attempt.failure is not None:
            failed = classify((attempt.failure, attempt.reason or ""))
        self._record(c, done, (attempt.sent, failed, first.recorded))

    def _record(self, c: Conversation, done: Touch, outcome: Sent) -> None:
        sent, failed, recorded = outcome
        assert done.channel is not None
        if failed is not None:
            _log(c, "touch_failed", touch=done.number, channel=done.channel, failure=failed.type)
            if failed.permanent:
                # The same touch goes out again at once on the next usable channel.
                c.delivery_failed(workflow.now(), done.channel, failed.reason, permanent=True)
                return
            c.record_touch(done.model_copy(update={"failed": failed.reason}))
            return
        assert sent is not None
        metrics.message_sent(c, done.channel)
        # The provider's time where the send says it (its write of the figures used it).
        sent_at = (sent.sent_at if self._results_with_send else None) or workflow.now()
        c.record_touch(done.model_copy(update={"sent_at": sent_at}), sent.subject, sent.text)
        if recorded is not None:
            c.results_fingerprint = recorded
        _log(c, "touch_recorded", touch=done.number, channel=done.channel, template=done.template)

    async def _send(self, c: Conversation, step: TouchDue) -> Sent:
        """The touch's send: what the provider took, or why it failed (its type, the reason,
        whether for good); and the fingerprint of the figures it wrote to the results store."""
        request = touch_request(
            c, step, _conversation(), workflow.now(), figures=self._results_with_send
        )
        try:
            sent = await self._send_touch(request, self._step_label(c, step))
        except ACTIVITY_FAILED as error:
            return None, _failure(error), None
        return sent, None, recorded_figures(request, sent)

    async def _send_touch(self, request: SendRequest, label: str) -> SendResult:
        """A touch, as a local activity (lean runs): a marker in the history instead of an
        activity's three events and the workflow task that follows them, and no trip
        through the server's activity queue before the first answer. The send is short
        (one provider call) and keyed exactly-once, so a retry after a crash sends once."""
        run = workflow.execute_local_activity if self._lean else workflow.execute_activity
        sent: SendResult = await run(
            names.SEND_TOUCH,
            request,
            result_type=SendResult,
            start_to_close_timeout=SEND_ATTEMPT_TIMEOUT,
            schedule_to_close_timeout=SEND_DEADLINE,
            retry_policy=SEND_RETRY,
            summary=label,
        )
        return sent

    async def _send_written(
        self,
        c: Conversation,
        message: ThreadMessage,
        request: MessageRequest,
    ) -> ThreadMessage:
        """Send a message outside the cadence, already in the thread: it shows what the
        customer got, or why it did not go out. It never moves the cadence (rule 5 counts
        touches, not these)."""
        try:
            sent = await workflow.execute_activity(
                names.SEND_MESSAGE,
                request,
                result_type=SendResult,
                start_to_close_timeout=SEND_ATTEMPT_TIMEOUT,
                schedule_to_close_timeout=MESSAGE_DEADLINE,
                retry_policy=SEND_RETRY,
                summary=f"message {request.number} via {CHANNEL_LABEL[request.channel]}",
            )
        except ActivityError as error:
            failed = _failure(error)
            c.message_report(message, DeliveryStatus.FAILED, failed.reason)
            if failed.permanent:
                c.delivery_failed(workflow.now(), request.channel, failed.reason, permanent=True)
            _log(c, "message_failed", number=request.number, channel=request.channel)
            return message
        message.subject, message.text = sent.subject, sent.text or message.text
        trim(message)  # the rendered text, within the thread's bounds like any other
        c.keep_thread_bounded()
        c.message_report(message, DeliveryStatus.SENT)
        metrics.message_sent(c, request.channel)
        _log(c, "message_sent", number=request.number, channel=request.channel, by=request.by)
        return message

    def _written_request(
        self, c: Conversation, channel: Channel, number: int, by: str, **content: Any
    ) -> MessageRequest:
        subject, in_reply_to, references = c.threading()
        return MessageRequest(
            lead_id=c.lead_id,
            dealer_id=c.plan.dealer_id,
            conversation=_conversation(),
            number=number,
            channel=channel,
            to=c.addresses[channel],
            by=by,
            locale=c.lead.customer.locale or c.plan.locale,
            customer_name=c.lead.customer.name,
            vehicle=c.lead.vehicle.label() if c.lead.vehicle else None,
            subject=subject,
            in_reply_to=in_reply_to,
            references=list(references),
            kind=c.lead.kind,
            **content,
        )

    # --- tasks ----------------------------------------------------------------------------

    async def _open_task(
        self, c: Conversation, kind: TaskKind, due_at: datetime | None = None
    ) -> None:
        c.tasks_opened += 1
        tid = task_id(c.lead_id, c.tasks_opened)
        # Set before awaiting: a second reply in the same workflow task must not open another.
        c.open_task_id, c.open_task_kind = tid, kind
        self._starting.add(tid)
        c.note(workflow.now(), task_opened(kind), detail=tid)
        _log(c, "task_opened", task_id=tid, kind=kind.value)
        blind, full = task_summaries(c.lead, kind)
        await workflow.start_child_workflow(
            SALES_TASK,
            TaskInput(
                task_id=tid,
                lead_id=c.lead_id,
                dealer_id=c.plan.dealer_id,
                kind=kind,
                summary=blind if c.plan.blind_tasks else full,
                summary_claimed=full,
                due_at=due_at,
                remind_after=c.plan.remind_after,
                escalate_after=c.plan.escalate_after,
            ),
            id=tid,
            task_queue=workflow.info().task_queue,
            # Tasks outlive a continue-as-new of their lead; the lead closes them by signal.
            parent_close_policy=workflow.ParentClosePolicy.ABANDON,
            static_summary=blind if c.plan.blind_tasks else full,
        )
        self._starting.discard(tid)

    async def _signal_task(
        self,
        tid: str,
        send: Callable[[workflow.ExternalWorkflowHandle[Any]], Awaitable[None]],
    ) -> None:
        """Signal a task once its start is confirmed. A task an operator terminated must not
        fail the lead: the failure is logged and the lead goes on."""
        await workflow.wait_condition(lambda: tid not in self._starting)
        try:
            await send(workflow.get_external_workflow_handle(tid))
        except FailureError as error:
            workflow.logger.warning(
                "task signal failed", extra={"task_id": tid, "error": str(error)}
            )

    async def _close_task(self, c: Conversation, what: str) -> None:
        if c.open_task_id is None:
            return
        tid, c.open_task_id, c.open_task_kind = c.open_task_id, None, None
        await self._close_task_by_id(tid, what)

    async def _close_task_by_id(self, tid: str, what: str) -> None:
        if self._c is not None:
            self._c.note(workflow.now(), EventName.TASK_CLOSED, detail=tid)  # its figures end here
        await self._signal_task(tid, lambda task: task.signal("lead_progress", Progress(what=what)))

    async def _tell_task(self, c: Conversation) -> None:
        if c.open_task_id is not None:
            await self._signal_task(c.open_task_id, lambda task: task.signal("customer_replied"))

    # --- search attributes and what the UI shows -------------------------------------------

    def _publish(self, c: Conversation, step: TouchDue | CadenceDone | None = None) -> None:
        wanted: dict[str, object] = {
            "status": c.status.value,
            "touches": len(c.touches),
            "next": self._next_at,
        }
        constant = [
            sa.DEALER_ID.value_set(c.plan.dealer_id),
            sa.LEAD_SOURCE.value_set(c.lead.source),
            sa.LEAD_KIND.value_set(c.lead.kind.value),
        ]
        if not self._published and not self._lean:
            workflow.upsert_search_attributes(constant)
        updates: list[SearchAttributeUpdate[Any]] = []
        if not self._published and self._lean:
            updates += constant
        if self._published.get("status") != wanted["status"]:
            updates.append(sa.LEAD_STATUS.value_set(c.status.value))
        if self._published.get("touches") != wanted["touches"]:
            updates.append(sa.TOUCH_COUNT.value_set(len(c.touches)))
        if "next" not in self._published or self._published["next"] != wanted["next"]:
            updates.append(
                sa.NEXT_TOUCH_AT.value_set(self._next_at)
                if self._next_at
                else sa.NEXT_TOUCH_AT.value_unset()
            )
        self._upsert(updates, flush=True)
        self._published = wanted
        workflow.set_current_details(self._details(c, step))

    def _upsert(self, updates: list[SearchAttributeUpdate[Any]], flush: bool = False) -> None:
        """Lean runs gather a step's changes and upsert them once, when the step publishes
        (`flush`); older runs upsert each change where it happens, as they were recorded."""
        if not self._lean:
            if updates:
                workflow.upsert_search_attributes(updates)
            return
        self._search_attributes += updates
        if flush and self._search_attributes:
            workflow.upsert_search_attributes(self._search_attributes)
            self._search_attributes = []

    async def _publish_contact_keys(self, c: Conversation) -> None:
        """Keep `ContactKeys` (how inbound replies find this lead) in step with the contact
        data merged inquiries add. The starter and the API set them at start; a workflow
        started otherwise (an operator's CLI) or carrying merged data hashes them here, with
        the dealer's secret, in a local activity."""
        identifiers = c.contact_identifiers()
        set_at_start = workflow.info().typed_search_attributes.get(sa.CONTACT_KEYS) is not None
        due = lookups_due(identifiers, c.contact_fingerprint, set_at_start, len(c.inquiries))
        if due is None:
            return
        if self._opt_outs:
            # Before the first touch (and when merged inquiries add an address): an erased
            # earlier lead of this customer may have left an opt-out behind.
            refused = await workflow.execute_local_activity(
                names.OPTED_OUT_CHANNELS,
                ContactKeysRequest(dealer_id=c.plan.dealer_id, identifiers=identifiers),
                result_type=list[Channel],
                start_to_close_timeout=LOAD_TIMEOUT,
            )
            c.suppress(workflow.now(), refused)
        if due.hash_keys:
            keys = await workflow.execute_local_activity(
                names.CONTACT_KEYS,
                ContactKeysRequest(dealer_id=c.plan.dealer_id, identifiers=identifiers),
                result_type=list[str],
                start_to_close_timeout=LOAD_TIMEOUT,
            )
            self._upsert([sa.CONTACT_KEYS.value_set(keys)])
        c.contact_fingerprint = due.fingerprint

    def _details(self, c: Conversation, step: TouchDue | CadenceDone | None) -> str:
        done = f"{len(c.touches)} of {c.touches_planned} touches done"
        if step is not None:
            upcoming = f"{self._step_label(c, step)}, {describe(step.at, c.plan.timezone)}"
            return f"{c.status.value}: {done}; next {upcoming}"
        task = f"; task {c.open_task_id}" if c.open_task_id else ""
        return f"{c.status.value}: {done}{task}"

    # --- signals --------------------------------------------------------------------------

    async def _ready(self) -> Conversation:
        self._arrived_early += 1
        try:
            await workflow.wait_condition(lambda: self._c is not None)
        finally:
            self._arrived_early -= 1
        assert self._c is not None
        return self._c

    @workflow.signal
    async def customer_replied(self, reply: CustomerReplied) -> None:
        c = await self._ready()
        if not c.first_time(reply.event_id):
            return
        metrics.replied(c, reply.channel)
        needs_human = c.replied(
            workflow.now(), reply.channel, reply.text, reply.subject, reply.message_id
        )
        _log(c, "customer_replied", channel=reply.channel, status=c.status.value)
        self._changed = True
        if not needs_human:
            return
        if c.open_task_kind is TaskKind.REPLY:
            await self._tell_task(c)
            return
        # A call or no-channel task was about reaching the customer; now they answered, the
        # work is a reply. Open it first (its id is set before any await, so a second reply
        # joins it), then close the task it replaces.
        replaced = c.open_task_id
        await self._open_task(c, TaskKind.REPLY)
        if replaced is not None:
            await self._close_task_by_id(replaced, "customer replied")

    @workflow.signal
    async def delivery_failed(self, failure: DeliveryFailed) -> None:
        c = await self._ready()
        if _earlier_conversation(failure.conversation) or not c.first_time(failure.event_id):
            return
        now = workflow.now()
        if failure.message is not None:
            message = c.message_by_number(failure.message)
            if message is None or not c.message_report(
                message, DeliveryStatus.FAILED, failure.reason
            ):
                return
            c.delivery_failed(now, failure.channel, failure.reason, failure.permanent)
        elif failure.touch is None:
            c.delivery_failed(now, failure.channel, failure.reason, failure.permanent)
        elif not c.delivery_report(
            now,
            failure.touch,
            failure.channel,
            DeliveryStatus.FAILED,
            failure.reason,
            failure.permanent,
        ):
            return  # already delivered (out of order), or kept until the touch is recorded
        self._changed = True

    @workflow.signal
    async def delivery_status(self, report: DeliveryReport) -> None:
        c = await self._ready()
        if _earlier_conversation(report.conversation) or not c.first_time(report.event_id):
            return
        if report.message is not None:
            message = c.message_by_number(report.message)
            if message is not None:
                c.message_report(message, report.status)
            return
        c.delivery_report(workflow.now(), report.touch, report.channel, report.status)

    @workflow.signal
    async def opted_out(self, opt_out: OptedOut) -> None:
        c = await self._ready()
        if c.first_time(opt_out.event_id):
            was = c.status
            c.opt_out(workflow.now(), opt_out.channel, opt_out.text or "")
            _log(c, "opted_out", channel=opt_out.channel, status=c.status.value)
            metrics.opted_out(c, opt_out.channel, was)
            self._changed = True

    @workflow.signal
    async def opted_in(self, opt_in: OptedIn) -> None:
        c = await self._ready()
        if c.first_time(opt_in.event_id):
            c.opt_in(workflow.now(), opt_in.channel, opt_in.text or "")
            self._changed = True

    @workflow.signal
    async def auto_replied(self, auto: AutoReplied) -> None:
        c = await self._ready()
        if c.first_time(auto.event_id):
            c.auto_replied(workflow.now(), auto.channel, auto.until, auto.text or "", auto.subject)
            self._changed = True

    @workflow.signal
    async def new_inquiry(self, lead: Lead) -> None:
        await self._merge(lead)

    async def _merge(self, lead: Lead) -> bool:
        c = await self._ready()
        merged = c.merge(workflow.now(), lead)
        if merged:
            self._changed = True
            await self._tell_task(c)
        return merged

    # --- updates --------------------------------------------------------------------------

    @workflow.update
    async def record_outcome(self, request: RecordOutcome) -> LeadState:
        c = await self._ready()
        _refuse(c.refuse_outcome(request))
        c.record_outcome(workflow.now(), request)
        _log(c, "outcome_recorded", outcome=request.outcome.value, status=c.status.value)
        metrics.outcome(c, request.outcome.value)
        self._changed = True
        if request.outcome is Outcome.APPOINTMENT and workflow.patched(CONFIRMATION_PATCH):
            # Sent by the main loop: the salesperson's answer does not wait for a provider
            # (nor time out while it is slow, inviting a second booking).
            self._confirmations.append((c.appointment_at, c.appointment_kind))
        await self._close_task(c, f"outcome {request.outcome.value}")
        return self.state()

    async def _send_confirmations(self, c: Conversation) -> None:
        while self._confirmations:
            at, kind = self._confirmations.pop(0)
            await self._confirm_appointment(c, at, kind)

    async def _confirm_appointment(
        self, c: Conversation, at: datetime | None, kind: AppointmentKind | None
    ) -> None:
        """The customer gets the appointment in writing, on their channel; without one, the
        salesperson confirms it on the call they booked it on."""
        channel = c.message_channel()
        if channel is None or at is None:
            c.note(workflow.now(), EventName.CONFIRMATION_NOT_SENT, detail="no written channel")
            return
        number = c.next_message_number()
        message = c.add_message(
            ThreadMessage(
                at=workflow.now(),
                direction="out",
                channel=channel,
                by="blanco",
                text="",
                message=number,
                template="appointment/confirmation",
            )
        )
        request = self._written_request(
            c,
            channel,
            number,
            "blanco",
            appointment_at=at,
            appointment_kind=(kind or AppointmentKind.SHOWROOM).value,
            template=channel is Channel.WHATSAPP and not c.whatsapp_window_open(workflow.now()),
        )
        await self._send_written(c, message, request)

    @record_outcome.validator
    def _validate_outcome(self, request: RecordOutcome) -> None:
        if self._c is not None:
            _refuse(self._c.refuse_outcome(request))
            _refuse(self._c.refuse_appointment(request, workflow.now()))
            _refuse(self._c.refuse_dropping(request))
            _refuse(self._c.refuse_rebooking(request))

    @workflow.update
    async def log_call(self, call: LogCall) -> LeadState:
        c = await self._ready()
        _refuse(c.refuse_call())
        closes_task = c.call_closes_task(call)
        c.log_call(workflow.now(), call)
        self._changed = True
        if closes_task:
            await self._close_task(c, f"call {call.result.value}")
        return self.state()

    @log_call.validator
    def _validate_call(self, call: LogCall) -> None:
        if self._c is not None:
            _refuse(self._c.refuse_call())

    @workflow.update
    async def pause(self, _: Empty) -> LeadState:
        c = await self._ready()
        _refuse(c.refuse_pause())
        c.pause(workflow.now())
        self._changed = True
        return self.state()

    @pause.validator
    def _validate_pause(self, _: Empty) -> None:
        if self._c is not None:
            _refuse(self._c.refuse_pause())

    @workflow.update
    async def resume(self, _: Empty) -> LeadState:
        c = await self._ready()
        _refuse(c.refuse_resume())
        c.resume(workflow.now())
        self._changed = True
        return self.state()

    @resume.validator
    def _validate_resume(self, _: Empty) -> None:
        if self._c is not None:
            _refuse(self._c.refuse_resume())

    @workflow.signal
    async def task_claimed(self, claimed: TaskClaimed) -> None:
        """From the lead's `SalesTask`: who took it (and may write to the customer)."""
        c = await self._ready()
        c.task_claimed(workflow.now(), claimed.task_id, claimed.salesperson_id)
        self._milestone(c)

    @workflow.update
    async def send_message(self, request: SendMessage) -> ThreadMessage:
        """A salesperson writes to the customer (docs/api.md "Salesperson messages"). The update
        id is the client's idempotency key: Temporal answers a repeat within this run, and
        the conversation remembers the key across continue-as-new."""
        c = await self._ready()
        key = workflow.current_update_info().id  # type: ignore[union-attr]
        known = self._sent(c, key)
        if known is not None:
            return known
        _refuse(c.refuse_message(request, workflow.now()))
        channel = c.message_channel(request.channel)
        assert channel is not None  # refuse_message said why otherwise
        number = c.next_message_number()
        c.remember_key(key, number)
        message = c.add_message(
            ThreadMessage(
                at=workflow.now(),
                direction="out",
                channel=channel,
                by=request.salesperson_id,
                text=request.text,
                message=number,
            )
        )
        _log(c, "message_requested", number=number, channel=channel, by=request.salesperson_id)
        written = self._written_request(
            c,
            channel,
            number,
            request.salesperson_id,
            text=request.text,
            template=channel is Channel.WHATSAPP and request.template,
        )
        sent = await self._send_written(c, message, written)
        self._milestone(c)
        return sent

    @send_message.validator
    def _validate_message(self, request: SendMessage) -> None:
        info = workflow.current_update_info()
        if self._c is not None and (info is None or self._sent(self._c, info.id) is None):
            _refuse(self._c.refuse_message(request, workflow.now()))

    @staticmethod
    def _sent(c: Conversation, key: str) -> ThreadMessage | None:
        """The message an idempotency key already sent, when the thread still holds it."""
        number = c.message_keys.get(key)
        return None if number is None else c.message_by_number(number)

    # --- the query ------------------------------------------------------------------------

    @workflow.query
    def results_figures(self) -> ConversationFigures:
        """The conversation's row of the results store, as `record_conversation` writes it:
        what the backfill (`python -m results backfill`) reads from runs that started, or
        closed, before the store existed."""
        if self._c is None:
            raise ApplicationError(STILL_STARTING)
        return conversation_figures(self._c, _conversation())

    @workflow.query
    def state(self) -> LeadState:
        if self._c is None:
            raise ApplicationError(STILL_STARTING)
        return self._c.state(self._next_at)
