"""LeadFollowUp's business metrics, through the SDK's workflow metric meter: the worker serves
them on its Prometheus endpoint (`BLANCO_WORKER_METRICS`) next to the SDK's own series.

The meter records nothing while a workflow replays (after a worker restart or a cache
eviction), so each event counts once, when it happens; recording issues no command, so these
calls never change a workflow's history. Labels: the dealer id, a channel, the lead's kind and
an outcome — never anything the customer wrote, nor the lead id. The SDK adds `namespace`,
`task_queue` and `workflow_type` (and `service_name`).

Names are given whole (`_total`, `_seconds`): the runtime adds no suffixes (worker.py).
"""

from __future__ import annotations

from typing import Literal

from temporalio import workflow
from temporalio.common import MetricAttributes, MetricCounter

from leads.conversation import Conversation
from leads.models import Channel, LeadStatus, Touch

REPLIES = "blanco_replies_total"
OPT_OUTS = "blanco_opt_outs_total"
OUTCOMES = "blanco_lead_outcomes_total"
FIRST_RESPONSE = "blanco_first_response_seconds"
# Rule 4 wants the first answer within a second; a lead whose first usable channel came with a
# later inquiry, or whose provider was down, waits hours.
FIRST_RESPONSE_BUCKETS = (
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 14400.0, 86400.0,
)  # fmt: skip


def replied(c: Conversation, channel: Channel) -> None:
    """A customer's reply heard (a provider's repeat is not)."""
    _counter(REPLIES, "Customer replies, by channel.").add(1, _labels(c, channel=channel.value))


def opted_out(c: Conversation, channel: Channel | Literal["all"], was: LeadStatus) -> None:
    """An opt-out heard; `was` the status before it: one that ends the lead is its outcome."""
    value = channel.value if isinstance(channel, Channel) else channel
    _counter(OPT_OUTS, "Opt-outs (STOP, unsubscribe, spam reports), by channel.").add(
        1, _labels(c, channel=value)
    )
    if c.status is LeadStatus.OPTED_OUT and was is not LeadStatus.OPTED_OUT:
        outcome(c, LeadStatus.OPTED_OUT.value)


def outcome(c: Conversation, name: str) -> None:
    """An outcome recorded: appointment, won, lost, not_interested, unreachable (by a
    salesperson or when the cadence ran out) or opted_out."""
    _counter(OUTCOMES, "Outcomes recorded, by outcome and lead kind.").add(
        1, _labels(c, outcome=name, kind=c.lead.kind.value)
    )


def message_sent(c: Conversation, channel: Channel) -> None:
    """A touch's message was sent; call it before the touch is recorded. The conversation's
    first one records the time from the lead's arrival: speed to lead (rule 4)."""
    if any(_was_sent(touch) for touch in c.touches):
        return
    seconds = (workflow.now() - c.arrival).total_seconds()
    workflow.metric_meter().create_histogram_float(
        FIRST_RESPONSE, "Seconds from a lead's arrival to the first message sent to the customer."
    ).record(seconds, _labels(c, channel=channel.value))


def _was_sent(touch: Touch) -> bool:
    """A message a provider took: not a task, not a send that failed (a provider's report on
    it means it went out, even when the send itself timed out)."""
    written = touch.channel is not None and touch.channel.written
    return written and (touch.failed is None or touch.delivery is not None)


def _counter(name: str, description: str) -> MetricCounter:
    return workflow.metric_meter().create_counter(name, description)


def _labels(c: Conversation, **labels: str) -> MetricAttributes:
    return {"dealer": c.plan.dealer_id, **labels}
