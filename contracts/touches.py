"""How a touch's send request is built and its answer read: the same code on both sides of
the opening local activity (which may send the first answer) and in the workflow."""

from __future__ import annotations

from datetime import datetime

from contracts.activities import OpenedLead, SendRequest, SendResult
from leads.conversation import Conversation, TouchDue
from leads.messages import stage_for
from leads.milestones import answered_at, figures_if_sent
from leads.models import Channel, Lead, Touch


def opened_conversation(
    lead_id: str, lead: Lead, opened: OpenedLead, now: datetime
) -> tuple[Conversation, bool]:
    """A new lead's conversation from its opening, and whether the opening's look-ups were
    for its contact identifiers (always, so far: else the first step looks them up again)."""
    c = Conversation.start(lead_id, lead, opened.plan, now)
    matched = c.contact_identifiers() == opened.identifiers
    if matched:
        c.suppress(now, opened.refused)
    return c, matched


def recorded_figures(request: SendRequest, sent: SendResult) -> str | None:
    """The fingerprint of the figures a send wrote to the results store (`send_touch` writes
    `request.figures` at the provider's time); None when it wrote none."""
    if not sent.recorded or request.figures is None or sent.sent_at is None:
        return None
    return answered_at(request.figures, sent.sent_at).fingerprint()


def touch_template(c: Conversation, number: int, channel: Channel) -> str:
    """The message touch `number` sends: lead kind, stage of the cadence, channel."""
    stage = stage_for(number, c.touches_planned)
    return f"{c.lead.kind.value}/{stage.value}/{channel.value}"


def touch_request(
    c: Conversation, step: TouchDue, conversation: str, now: datetime, figures: bool = False
) -> SendRequest:
    """What the send of a due touch needs, for the workflow's send and the opening's.
    `figures`: with the conversation's figures should this touch, sent now, be its first
    answer, which the send writes to the results store (patch `results-with-send`)."""
    assert step.channel is not None
    request = SendRequest(
        lead_id=c.lead_id,
        dealer_id=c.plan.dealer_id,
        conversation=conversation,
        touch=step.number,
        total=c.touches_planned,
        channel=step.channel,
        to=c.addresses[step.channel],
        kind=c.lead.kind,
        locale=c.lead.customer.locale or c.plan.locale,
        customer_name=c.lead.customer.name,
        vehicle=c.lead.vehicle.label() if c.lead.vehicle else None,
        whatsapp_window_open=c.whatsapp_window_open(now),
    )
    if figures:
        template = touch_template(c, step.number, step.channel)
        sent = Touch(
            number=step.number, channel=step.channel, at=now, template=template, sent_at=now
        )
        request.figures = figures_if_sent(c, sent, conversation)
    return request
