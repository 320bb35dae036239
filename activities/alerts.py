"""Alerting salespeople that a task opened, is still unclaimed, or needs a manager.

Through the same providers as customer messages: e-mail when SendGrid is configured, else
SMS when Twilio is and the salesperson has a number, else a log line (outbox mode). Alerts
carry the task's (possibly blind) summary and a link to the task's inbox page, which names
only the task id: never customer data.
"""

from __future__ import annotations

import asyncio
from html import escape
from urllib.parse import quote

import structlog
from temporalio import activity

from activities.senders import Senders
from contracts import activities as names
from contracts.activities import AlertRequest, AlertResult, AlertStage
from leads.config import Config, Dealer, Salesperson
from leads.identity import alert_key
from leads.models import Channel
from providers.base import (
    OutboundMessage,
    PermanentDeliveryError,
    Provider,
    ProviderRejected,
)

log = structlog.get_logger(__name__)

_HEADLINES: dict[AlertStage, str] = {
    "open": "New {kind} task",
    "remind": "Still unclaimed: {kind} task",
    "escalate": "Escalation — unclaimed {kind} task",
    "reply": "The customer answered on open {kind} task",
}


def task_link(public_base_url: str, task_id: str) -> str:
    """The task's page in the inbox: where a salesperson claims it, from the alert."""
    return f"{public_base_url.rstrip('/')}/inbox/tasks/{quote(task_id, safe='')}"


def recipients(dealer: Dealer, stage: AlertStage) -> list[Salesperson]:
    """Escalations go to managers; everything else to the whole sales team."""
    if stage == "escalate":
        managers = [p for p in dealer.salespeople if p.role == "manager"]
        return managers or list(dealer.salespeople)
    return list(dealer.salespeople)


class AlertActivities:
    def __init__(self, config: Config, senders: Senders) -> None:
        self._config = config
        self._senders = senders

    def _route(self, person: Salesperson) -> tuple[Provider, Channel, str] | None:
        if self._senders.email is not None and person.email:
            return self._senders.email, Channel.EMAIL, person.email
        if self._senders.messaging is not None and person.phone:
            return self._senders.messaging, Channel.SMS, person.phone
        return None

    @activity.defn(name=names.ALERT_SALESPEOPLE)
    async def alert_salespeople(self, request: AlertRequest) -> AlertResult:
        dealer = self._config.dealer(request.dealer_id)
        headline = _HEADLINES[request.stage].format(kind=request.kind.value.replace("_", " "))
        link = task_link(self._config.api.public_base_url, request.task_id)
        text = f"{headline}: {request.summary}\n{link}"
        people = recipients(dealer, request.stage)
        via = "log"
        for person in people:
            route = self._route(person)
            if route is None:
                continue
            provider, channel, address = route
            via = channel.value
            info = activity.info()
            message = OutboundMessage(
                key=alert_key(
                    request.task_id, info.workflow_run_id or "", info.activity_id, person.id
                ),
                lead_id=request.lead_id,
                dealer_id=dealer.id,
                channel=channel,
                to=address,
                from_address=dealer.email_from
                if channel is Channel.EMAIL
                else dealer.sms_from or "",
                from_name="Blanco",
                subject=headline if channel is Channel.EMAIL else None,
                text=text,
                html=_html(headline, request.summary, link) if channel is Channel.EMAIL else None,
            )
            try:
                await asyncio.to_thread(provider.send, message)
            except (PermanentDeliveryError, ProviderRejected) as error:
                # One bad staff address must not block the others, nor retry forever.
                log.warning(
                    "alert_not_delivered", task_id=request.task_id, to=person.id, reason=str(error)
                )
        log.info(
            "salesperson_alert",
            task_id=request.task_id,
            lead_id=request.lead_id,
            stage=request.stage,
            kind=request.kind.value,
            recipients=[p.id for p in people],
            via=via,
            link=link,  # outbox mode: where a developer finds the task's page
        )
        return AlertResult(recipients=[p.id for p in people], via=via)


def _html(headline: str, summary: str, link: str) -> str:
    # Escaped: the summary names a vehicle a portal typed, and the link goes in an attribute.
    return (
        f"<p>{escape(headline)}: {escape(summary)}</p>"
        f'<p><a href="{escape(link)}">{escape(link)}</a></p>'
    )
