"""How much of a lead's timeline its conversation carries (issue 13, hazard 2).

The timeline rides every continue-as-new input and every `state` query, so it is bounded:
the newest `EVENTS_KEPT` lines, and the oldest summarised as counts by kind. Lines that other
decisions read are never dropped: the first of each kind (the first reply, the first
appointment: milestones and `any_reply`) and every task line (the results store's task
figures and erasure find a lead's tasks by them; a lead opens few).
"""

from __future__ import annotations

import hashlib
from enum import StrEnum

from leads.models import CallResult, Event, Outcome, TaskKind


class EventName(StrEnum):
    """What a timeline line records (`Event.what`). The line keeps a plain string, so a name
    a newer version adds passes through this one; code compares against these, never against
    string literals. Three families carry a value: `call_event`, `outcome_event` and
    `task_opened`."""

    AUTO_REPLY = "auto_reply"
    CUSTOMER_REPLIED = "customer_replied"
    DELIVERY_FAILED = "delivery_failed"
    OPTED_OUT = "opted_out"
    OPTED_IN = "opted_in"
    SUPPRESSED = "suppressed"  # a channel refused by an erased earlier lead of the customer
    NEW_INQUIRY = "new_inquiry"
    PAUSED = "paused"
    RESUMED = "resumed"
    UNREACHABLE = "unreachable"
    TASK_CLAIMED = "task_claimed"
    TASK_CLOSED = "task_closed"
    CONFIRMATION_NOT_SENT = "confirmation_not_sent"


TASK_OPENED = "task_opened_"
TASK_LINE = "task_"


def call_event(result: CallResult) -> str:
    return f"call_{result.value}"


def outcome_event(outcome: Outcome) -> str:
    return f"outcome_{outcome.value}"


def task_opened(kind: TaskKind) -> str:
    return f"{TASK_OPENED}{kind.value}"


# Two-way contact: the customer answered, or a call reached them.
CONTACT_EVENTS = frozenset({EventName.CUSTOMER_REPLIED, call_event(CallResult.REACHED)})
# Lines that may close the conversation.
CLOSING_EVENTS = frozenset(
    {
        EventName.UNREACHABLE,
        EventName.OPTED_OUT,
        outcome_event(Outcome.WON),
        outcome_event(Outcome.LOST),
        outcome_event(Outcome.NOT_INTERESTED),
    }
)


def opened_task_kind(what: str) -> TaskKind | None:
    """The kind of task a `task_opened_<kind>` line opened; None for any other line."""
    if not what.startswith(TASK_OPENED):
        return None
    try:
        return TaskKind(what.removeprefix(TASK_OPENED))
    except ValueError:
        return None  # a kind a newer version added


EVENTS_KEPT = 200
# Provider event ids heard (webhooks are delivered at least once, and retried for days),
# kept as fixed-size digests: a raw id can be a long Message-ID.
EVENTS_REMEMBERED = 500
SEEN_DIGEST = 20  # hex characters: 80 bits, no collision among 500 ids


def pinned(event: Event, earlier_kinds: set[str]) -> bool:
    return event.what.startswith(TASK_LINE) or event.what not in earlier_kinds


def drop_oldest(events: list[Event], limit: int = EVENTS_KEPT) -> Event | None:
    """Past `limit`, remove (in place) and return the oldest line that is not pinned."""
    if len(events) <= limit:
        return None
    kinds: set[str] = set()
    for index, event in enumerate(events):
        if not pinned(event, kinds):
            return events.pop(index)
        kinds.add(event.what)
    return None  # every line pinned: a lead with hundreds of tasks keeps them all


def seen_key(event_id: str) -> str:
    """What the conversation remembers of a provider event id."""
    return hashlib.sha256(event_id.encode()).hexdigest()[:SEEN_DIGEST]
