"""How much of a lead's timeline its conversation carries (issue 13, hazard 2).

The timeline rides every continue-as-new input and every `state` query, so it is bounded:
the newest `EVENTS_KEPT` lines, and the oldest summarised as counts by kind. Lines that other
decisions read are never dropped: the first of each kind (the first reply, the first
appointment: milestones and `any_reply`) and every task line (the results store's task
figures and erasure find a lead's tasks by them; a lead opens few).
"""

from __future__ import annotations

import hashlib

from leads.models import Event

EVENTS_KEPT = 200
# Provider event ids heard (webhooks are delivered at least once, and retried for days),
# kept as fixed-size digests: a raw id can be a long Message-ID.
EVENTS_REMEMBERED = 500
SEEN_DIGEST = 20  # hex characters: 80 bits, no collision among 500 ids


def pinned(event: Event, earlier_kinds: set[str]) -> bool:
    return event.what.startswith("task_") or event.what not in earlier_kinds


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
