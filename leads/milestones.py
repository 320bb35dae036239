"""What the results store records of a conversation and of its tasks (rule 8: judge by the
result).

Figures only, never who: ids, kinds, channels, flags about the contact data and the times
of each milestone. No name, address, phone number or message text leaves through here; the
outcome's reason is the salesperson's short label ("price", "bought elsewhere"), trimmed.

The figures are derived from what the conversation already keeps (its timeline, touches and
thread), so a run started before the store existed gives the same row as one that wrote it
all along (the backfill relies on that). The store merges each write by `revision`: a first
milestone's time is kept once set, the rest follows the newest revision.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from enum import StrEnum

from pydantic import Field

from leads.contact import contact_quality
from leads.conversation import Conversation
from leads.models import (
    AppointmentKind,
    Channel,
    LeadKind,
    LeadStatus,
    Outcome,
    Payload,
    TaskKind,
    Touch,
)
from leads.timeline import (
    CLOSING_EVENTS,
    CONTACT_EVENTS,
    EventName,
    opened_task_kind,
    outcome_event,
)

# The local activities that write them (activities/results.py), by name: workflows call them
# without importing the database stack.
RECORD_CONVERSATION = "record_conversation"
REASON_KEPT = 120  # a label, not a story: longer reasons are cut
NO_CHANNEL = "none"  # first_channel of a lead whose first touch was a no-channel task


class FinalOutcome(StrEnum):
    """How a conversation ended, as the funnel counts it."""

    WON = "won"
    LOST = "lost"
    NOT_INTERESTED = "not_interested"
    UNREACHABLE = "unreachable"
    OPTED_OUT = "opted_out"


FINAL_STATUS = {
    LeadStatus.WON: FinalOutcome.WON,
    LeadStatus.UNREACHABLE: FinalOutcome.UNREACHABLE,
    LeadStatus.OPTED_OUT: FinalOutcome.OPTED_OUT,
}


class ConversationFigures(Payload):
    """One row of the results store: one conversation of one lead."""

    conversation_id: str  # the first run id of the lead's chain of runs
    lead_id: str
    dealer_id: str
    source: str
    kind: LeadKind
    first_channel: str  # a Channel's value, or "none"
    usable_channels: list[Channel]
    contact_quality: str  # leads.contact.ContactQuality
    email_usable: bool
    phone_usable: bool
    phone_placeholder: bool
    no_usable_channel: bool
    arrived_at: datetime
    first_answer_at: datetime | None = None  # the first automated message accepted
    first_reply_at: datetime | None = None  # two-way contact
    touches_to_reply: int | None = None
    claimed_at: datetime | None = None  # the task after the reply claimed
    first_human_message_at: datetime | None = None
    salesperson_id: str | None = None
    appointment_set_at: datetime | None = None
    appointment_at: datetime | None = None
    appointment_kind: AppointmentKind | None = None
    shown_at: datetime | None = None
    no_show_at: datetime | None = None
    status: LeadStatus
    outcome: FinalOutcome | None = None
    outcome_reason: str | None = None
    closed_at: datetime | None = None
    revision: int  # grows with everything the conversation records
    tasks: list[TaskFigures] = Field(default_factory=list)

    def fingerprint(self) -> str:
        """What changed since the last write; the revision alone does not count."""
        figures = self.model_dump(mode="json", exclude={"revision"})
        return hashlib.sha256(json.dumps(figures, sort_keys=True).encode()).hexdigest()[:16]


class TaskFigures(Payload):
    """One row per sales task: how fast a human took it, and whether it had to be chased.
    Derived by the lead, which opens, hears of the claim of, and closes each of its tasks."""

    task_key: str  # <conversation id>:<task number>
    lead_id: str
    dealer_id: str
    kind: TaskKind
    opened_at: datetime
    claimed_at: datetime | None = None
    salesperson_id: str | None = None
    reminded: bool = False  # unclaimed past the dealer's remind_after: the task reminded
    escalated: bool = False  # past escalate_after: managers were alerted
    done_at: datetime | None = None


def _first(
    c: Conversation, names: frozenset[str], after: datetime | None = None
) -> datetime | None:
    for event in c.events:
        if event.what in names and (after is None or event.at >= after):
            return event.at
    return None


def _closed(c: Conversation) -> datetime | None:
    """The last closing line: an opt-out of one channel may have come long before."""
    if not c.status.final:
        return None
    closing = [event.at for event in c.events if event.what in CLOSING_EVENTS]
    return closing[-1] if closing else None


def _first_answer(c: Conversation) -> datetime | None:
    for touch in c.touches:
        if touch.channel is not None and touch.channel.written and touch.failed is None:
            return touch.sent_at or touch.at
    return None


def _first_channel(c: Conversation) -> str:
    channel = c.touches[0].channel if c.touches else c.channel_for(1)
    return channel.value if channel is not None else NO_CHANNEL


def _first_human_message(c: Conversation) -> datetime | None:
    for message in c.thread:
        if message.direction == "out" and message.by != "blanco" and message.failed is None:
            return message.at
    return None


def _outcome(c: Conversation) -> FinalOutcome | None:
    if c.status is LeadStatus.LOST:
        lost = c.outcome is not None and c.outcome.value == "not_interested"
        return FinalOutcome.NOT_INTERESTED if lost else FinalOutcome.LOST
    return FINAL_STATUS.get(c.status)


def conversation_figures(c: Conversation, conversation_id: str) -> ConversationFigures:
    quality = contact_quality(c.lead.customer, c.plan.country)
    replied = _first(c, CONTACT_EVENTS)
    claimed = _first(c, frozenset({EventName.TASK_CLAIMED}), after=replied)
    outcome = _outcome(c)
    dropped = outcome in (FinalOutcome.LOST, FinalOutcome.NOT_INTERESTED)
    reason = c.outcome_reason if dropped else None
    return ConversationFigures(
        conversation_id=conversation_id,
        lead_id=c.lead_id,
        dealer_id=c.plan.dealer_id,
        source=c.lead.source,
        kind=c.lead.kind,
        first_channel=_first_channel(c),
        usable_channels=[channel for channel in Channel if channel in c.addresses],
        contact_quality=quality.quality.value,
        email_usable=quality.email_usable,
        phone_usable=quality.phone_usable,
        phone_placeholder=quality.phone_placeholder,
        no_usable_channel=not c.addresses,
        arrived_at=c.arrival,
        first_answer_at=_first_answer(c),
        first_reply_at=replied,
        touches_to_reply=(
            None if replied is None else sum(1 for t in c.touches if t.at <= replied)
        ),
        claimed_at=claimed,
        first_human_message_at=_first_human_message(c),
        salesperson_id=c.salesperson_id,
        appointment_set_at=_first(c, frozenset({outcome_event(Outcome.APPOINTMENT)})),
        appointment_at=c.appointment_at,
        appointment_kind=c.appointment_kind,
        shown_at=_first(c, frozenset({outcome_event(Outcome.SHOWN)})),
        no_show_at=_first(c, frozenset({outcome_event(Outcome.NO_SHOW)})),
        status=c.status,
        outcome=outcome,
        outcome_reason=reason[:REASON_KEPT] if reason else None,
        closed_at=_closed(c),
        revision=c.events_recorded() + len(c.touches) + len(c.thread) + c.thread_dropped,
        tasks=_task_figures(c, conversation_id),
    )


def figures_if_sent(
    c: Conversation, touch: Touch, conversation_id: str
) -> ConversationFigures | None:
    """The figures `c` gives once `touch` is recorded, when it would be the conversation's
    first answer: the one touch whose send is a milestone, written by the send itself (its
    first answer's time then set by `answered_at`). None for any other touch."""
    if _first_answer(c) is not None or touch.channel is None or not touch.channel.written:
        return None
    probe = _probe(c)
    probe.record_touch(touch)
    return conversation_figures(probe, conversation_id)


def _probe(c: Conversation) -> Conversation:
    """A copy that recording a touch can change while `c` stays as it is: its own lists of
    touches and messages (what `record_touch` appends to), the rest shared, a tenth of a
    whole copy's cost. Early delivery reports waiting for the touch change more: then a
    whole copy."""
    if c.early_reports:
        return c.model_copy(deep=True)
    return c.model_copy(update={"touches": [*c.touches], "thread": [*c.thread]})


def answered_at(figures: ConversationFigures, at: datetime) -> ConversationFigures:
    """`figures_if_sent`'s figures, the provider having taken the first answer at `at`."""
    return figures.model_copy(update={"first_answer_at": at})


def _task_figures(c: Conversation, conversation_id: str) -> list[TaskFigures]:
    """Each task the lead opened, from its timeline: `task_opened_<kind>`, `task_claimed`
    and `task_closed` lines name the task. A task reminds and escalates on the plan's
    timings while nobody has claimed it, so those follow from the claim's time."""
    found: dict[str, TaskFigures] = {}
    for event in c.events:
        tid = event.detail or ""
        opened = opened_task_kind(event.what)
        if opened is not None:
            found[tid] = TaskFigures(
                task_key=f"{conversation_id}:{tid.rsplit('-', 1)[-1]}",
                lead_id=c.lead_id,
                dealer_id=c.plan.dealer_id,
                kind=opened,
                opened_at=event.at,
            )
        elif tid not in found:
            continue
        elif event.what == EventName.TASK_CLAIMED:
            task = found[tid]
            task.claimed_at = task.claimed_at or event.at
            task.salesperson_id = event.by
        elif event.what == EventName.TASK_CLOSED:
            found[tid].done_at = found[tid].done_at or event.at
    for task in found.values():
        taken = task.claimed_at or task.done_at
        if taken is not None:
            task.reminded = taken - task.opened_at >= c.plan.remind_after
            task.escalated = taken - task.opened_at >= c.plan.escalate_after
    return list(found.values())
