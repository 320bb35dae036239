"""What the pages show, decided from the engine's state: the order of the task list, the
thread's bubbles, the channels a reply may take, times in the dealer's zone. Pure: no
Temporal, no request, so each decision is easy to test."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from api.inbox.texts import Texts
from leads.config import Dealer
from leads.models import (
    Channel,
    LeadState,
    LeadStatus,
    TaskState,
    TaskStatus,
    ThreadMessage,
)


def local(at: datetime, dealer: Dealer) -> datetime:
    return at.astimezone(ZoneInfo(dealer.timezone))


def clock(at: datetime, dealer: Dealer, now: datetime, t: Texts) -> str:
    """`14:05` today, `12-03 14:05` (nl) or `12/03 14:05` (en) on another day, local time."""
    mine, today = local(at, dealer), local(now, dealer)
    if mine.date() == today.date():
        return f"{mine:%H:%M}"
    return f"{mine:%d-%m %H:%M}" if t.locale == "nl" else f"{mine:%d/%m %H:%M}"


def age(since: datetime, now: datetime, t: Texts) -> str:
    seconds = max(0, int((now - since).total_seconds()))
    if seconds < 60:
        return t("age.now")
    if seconds < 3600:
        return t("age.minutes", n=seconds // 60)
    if seconds < 86400:
        return t("age.hours", n=seconds // 3600)
    return t("age.days", n=seconds // 86400)


def duration(left: timedelta, t: Texts) -> str:
    minutes = max(1, int(left.total_seconds() // 60))
    if minutes >= 60:
        return t("window.hours", h=minutes // 60, m=minutes % 60)
    return t("window.minutes", m=minutes)


def person_name(dealer: Dealer, salesperson_id: str | None) -> str:
    for person in dealer.salespeople:
        if person.id == salesperson_id:
            return person.name
    return salesperson_id or ""


# --- the task list ------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskRow:
    task: TaskState
    kind: str
    age: str
    assigned_name: str
    mine: bool
    due: str | None = None  # a call task's business-hours slot, still to come


def visible_tasks(tasks: list[TaskState], salesperson_id: str, manager: bool) -> list[TaskState]:
    """Open tasks first, the oldest first (rule 6: the longest wait is the most urgent), then
    claimed ones. A salesperson sees the open ones and their own; a manager sees every task,
    escalations first."""
    shown = [t for t in tasks if manager or t.assigned_to in (None, salesperson_id)]

    def order(task: TaskState) -> tuple[bool, bool, datetime]:
        escalated_first = manager and not task.escalated
        return (escalated_first, task.status is not TaskStatus.OPEN, task.opened_at)

    return sorted(shown, key=order)


def task_rows(
    tasks: list[TaskState],
    dealer: Dealer,
    salesperson_id: str,
    manager: bool,
    now: datetime,
    t: Texts,
) -> list[TaskRow]:
    rows = []
    for task in visible_tasks(tasks, salesperson_id, manager):
        mine = task.assigned_to == salesperson_id
        due = clock(task.due_at, dealer, now, t) if task.due_at and task.due_at > now else None
        rows.append(
            TaskRow(
                task=task,
                kind=t.label("task", task.kind),
                age=age(task.opened_at, now, t),
                assigned_name=person_name(dealer, task.assigned_to),
                mine=mine,
                due=due,
            )
        )
    return rows


# --- the thread ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Bubble:
    side: str  # "in" (the customer, left) or "out" (Blanco or a salesperson, right)
    by: str
    channel: str
    at: str
    subject: str | None
    text: str
    delivery: str | None
    marks: list[str] = field(default_factory=list)
    failed: str | None = None


def who(message: ThreadMessage, state: LeadState, dealer: Dealer, t: Texts) -> str:
    if message.by == "blanco":
        return t("by.blanco")
    if message.by == "customer" or message.direction == "in":
        name = state.customer.name if state.customer else None
        return name or t("by.customer")
    return person_name(dealer, message.by)


def bubbles(state: LeadState, dealer: Dealer, now: datetime, t: Texts) -> list[Bubble]:
    found = []
    for message in state.thread:
        marks = []
        if message.auto_reply:
            marks.append(t("thread.auto_reply"))
        if message.keyword:
            marks.append(t(f"thread.{message.keyword}"))
        if message.trimmed:
            marks.append(t("thread.trimmed"))
        found.append(
            Bubble(
                side="in" if message.direction == "in" else "out",
                by=who(message, state, dealer, t),
                channel=t.label("channel", message.channel or "inquiry"),
                at=clock(message.at, dealer, now, t),
                subject=message.subject,
                text=message.text,
                delivery=t.label("delivery", message.delivery) if message.delivery else None,
                marks=marks,
                failed=t("thread.failed", reason=message.failed) if message.failed else None,
            )
        )
    return found


# --- replying -----------------------------------------------------------------------------


def first_message_apart(state: LeadState) -> str | None:
    """The lead's own message, when the thread does not show it already (a lead from
    before the thread kept inquiries, or one whose oldest messages were dropped)."""
    if not state.message or any(m.text == state.message for m in state.thread):
        return None
    return state.message


def reply_channels(state: LeadState) -> list[Channel]:
    """The written channels that still reach the customer (phone is a call, not a message)."""
    return [channel for channel in state.usable_channels if channel.written]


def default_channel(state: LeadState) -> Channel | None:
    """The channel the customer last wrote on, when it is still usable (the engine's own
    default), else the first usable one."""
    usable = reply_channels(state)
    for message in reversed(state.thread):
        if message.direction == "in" and message.channel in usable:
            return message.channel
    return usable[0] if usable else None


def whatsapp_left(state: LeadState, now: datetime) -> timedelta | None:
    """How long free WhatsApp text is still allowed; None when the window is closed."""
    until = state.whatsapp_window_until
    return until - now if until is not None and until > now else None


def is_closed(state: LeadState) -> bool:
    return state.status.final


def shows_outcomes(state: LeadState) -> list[str]:
    """The outcome buttons, in the order a salesperson meets them (appointment is booked with
    its own form). Shown and no-show only follow an appointment."""
    after_appointment = ["shown", "no_show"] if state.status is LeadStatus.APPOINTMENT else []
    return [*after_appointment, "won", "not_interested", "unreachable"]
