"""What a SendGrid Event Webhook event means for the lead (rule 7 in docs/architecture.md):
bounces, drops, spam reports and unsubscribes suppress e-mail at once, the provider's
temporary trouble does not, and delivered / open reports move the message's status.

Pure functions: no Temporal, no network, no clock, no regexes. Nothing here copies free text
from an event into its result, so no personal data leaks into a workflow's history or the logs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from leads.models import Channel, DeliveryStatus

__all__ = ["EventAction", "sendgrid_event_action"]


@dataclass(frozen=True)
class EventAction:
    kind: Literal["failed", "opt_out", "status", "ignore"]
    channel: Channel  # Channel.EMAIL for SendGrid
    permanent: bool = False
    reason: str = ""  # short, never personal data: e.g. "bounce", "dropped: Bounced Address"
    status: DeliveryStatus | None = None  # kind "status": how far the message got


# SendGrid's fixed `reason` values of a dropped event (case-insensitive key → canonical text),
# and whether the drop says something about the address (permanent) or about our sending.
_DROPPED_REASONS: dict[str, tuple[str, bool]] = {
    "bounced address": ("Bounced Address", True),
    "invalid": ("Invalid", True),
    "unsubscribed address": ("Unsubscribed Address", True),
    "spam reporting address": ("Spam Reporting Address", True),
    "invalid smtpapi header": ("Invalid SMTPAPI header", False),
    "spam content (if spam checker app is enabled)": ("Spam Content", False),
    "spam content": ("Spam Content", False),
    "recipient list over package quota": ("Recipient List over Package Quota", False),
}
_DROPPED_OPT_OUT = frozenset({"Unsubscribed Address", "Spam Reporting Address"})
_OPT_OUT_EVENTS: dict[str, str] = {
    "spamreport": "spam report",
    "unsubscribe": "unsubscribe",
    "group_unsubscribe": "group unsubscribe",
}
_BOUNCE_TYPES: dict[str, tuple[str, bool]] = {
    "bounce": ("bounce", True),
    "blocked": ("blocked", False),  # the receiving server refuses for now
    "expired": ("expired", False),  # retried for days without success: not a verdict
}
_STATUS_EVENTS: dict[str, DeliveryStatus] = {
    "delivered": DeliveryStatus.DELIVERED,
    "open": DeliveryStatus.READ,
}


def sendgrid_event_action(event: Mapping[str, Any]) -> EventAction:
    """One SendGrid Event Webhook event → what the lead's workflow should hear.

    bounce (type 'bounce' or none) → failed, permanent; type 'blocked' or 'expired' → failed,
    temporary. dropped → failed, permanent, with SendGrid's fixed reason ('dropped: Invalid');
    but 'Unsubscribed Address' / 'Spam Reporting Address' → opt_out, and drops caused by our
    own sending ('Invalid SMTPAPI header', 'Spam Content', quota) → failed, temporary.
    spamreport, unsubscribe, group_unsubscribe → opt_out. delivered → status delivered; open →
    status read, except an open by a machine (`sg_machine_open`: Apple Mail Privacy Protection
    fetches every mail's images on arrival), which proves delivery only. Everything else
    (processed, deferred, click …) → ignore.
    Never copies free text from the event: every ``reason`` is one of the fixed strings here.
    """
    name = _field(event, "event")
    if name == "bounce":
        reason, permanent = _BOUNCE_TYPES.get(_field(event, "type") or "bounce", ("bounce", True))
        return EventAction("failed", Channel.EMAIL, permanent=permanent, reason=reason)
    if name == "dropped":
        known = _DROPPED_REASONS.get(_field(event, "reason"))
        if known is None:
            return EventAction("failed", Channel.EMAIL, permanent=True, reason="dropped")
        text, permanent = known
        kind: Literal["failed", "opt_out"] = "opt_out" if text in _DROPPED_OPT_OUT else "failed"
        return EventAction(kind, Channel.EMAIL, permanent=permanent, reason=f"dropped: {text}")
    if name in _OPT_OUT_EVENTS:
        return EventAction("opt_out", Channel.EMAIL, permanent=True, reason=_OPT_OUT_EVENTS[name])
    if name in _STATUS_EVENTS:
        status = _STATUS_EVENTS[name]
        if name == "open" and event.get("sg_machine_open") in (True, "true", "True"):
            status = DeliveryStatus.DELIVERED
        return EventAction("status", Channel.EMAIL, status=status)
    return EventAction("ignore", Channel.EMAIL)


def _field(event: Mapping[str, Any], key: str) -> str:
    value = event.get(key)
    return value.strip().casefold() if isinstance(value, str) else ""
