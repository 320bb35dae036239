"""How far a message got, from provider reports that arrive out of order: a status never
moves backwards.

Pure functions: no Temporal, no network, no clock, no regexes.
"""

from __future__ import annotations

from leads.models import DeliveryStatus

__all__ = ["advance"]

_PROGRESS: dict[DeliveryStatus, int] = {
    DeliveryStatus.QUEUED: 0,
    DeliveryStatus.SENT: 1,
    DeliveryStatus.DELIVERED: 2,
    DeliveryStatus.READ: 3,
}
_TERMINAL_FAILURES = frozenset({DeliveryStatus.UNDELIVERED, DeliveryStatus.FAILED})


def advance(current: DeliveryStatus | None, new: DeliveryStatus) -> DeliveryStatus:
    """The message's status after a report of ``new``; it never moves backwards.

    queued < sent < delivered < read. Undelivered and failed are terminal: nothing moves them
    (not even the other failure). A failure after delivered or read is a late or out-of-order
    report: the message stays delivered/read. A read report implies delivery, so it is taken from
    any earlier state. The first report (``current`` None) is taken as it is.
    """
    if current is None:
        return new
    if current in _TERMINAL_FAILURES:
        return current
    rank = _PROGRESS[current]
    if new in _TERMINAL_FAILURES:
        return current if rank >= _PROGRESS[DeliveryStatus.DELIVERED] else new
    return new if _PROGRESS[new] > rank else current
