"""The send activity: one message of one touch, rendered and handed to its provider.

Idempotent per message key (lead, conversation, touch, channel): the outbox writes a touch once
however often the activity is retried, and providers receive the key (SendGrid `custom_args`,
Twilio status-callback query, the platform chat's `webhook-id`) so their events map back to
the touch of this conversation. Failures are classified for
the workflow: `PermanentDelivery` (move to the next channel), `ProviderRejected` (our side is
misconfigured: record, keep the channel), anything else is retried with backoff.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.senders import Senders
from contracts import activities as names
from contracts.activities import MessageRequest, SendRequest, SendResult, TouchAttempt
from contracts.errors import PERMANENT, REJECTED
from leads.config import Config, Dealer
from leads.conversation import WHATSAPP_TEMPLATE_MISSING
from leads.identity import message_key, person_message_key, reply_address, unsubscribe_token
from leads.messages import (
    MessageContext,
    WrittenContext,
    first_name,
    render,
    render_written,
    stage_for,
)
from leads.milestones import answered_at
from leads.models import Channel, LeadKind, Stage
from providers.base import OutboundMessage, PermanentDeliveryError, ProviderRejected

# On the worker's Prometheus endpoint, through the SDK's activity meter (which adds namespace,
# task_queue and activity_type): a message a provider accepted, by dealer and channel.
TOUCHES_SENT = "blanco_touches_sent_total"

log = structlog.get_logger(__name__)

if TYPE_CHECKING:  # a worker without a results store needs no database stack
    from activities.results import ResultsActivities


def _unsubscribe_url(dealer: Dealer, lead: str, channel: Channel, public_base_url: str) -> str:
    token = unsubscribe_token(dealer.webhook_secret, lead, channel.value)
    return f"{public_base_url.rstrip('/')}/v1/unsubscribe/{token}"


def _from_address(dealer: Dealer, channel: Channel) -> str:
    return {
        Channel.EMAIL: dealer.email_from,
        Channel.SMS: dealer.sms_from or "",
        Channel.WHATSAPP: dealer.whatsapp_from or "",
        Channel.CHAT: dealer.name,
    }[channel]


def _reply_to(dealer: Dealer, lead: str, channel: Channel) -> str | None:
    """E-mail goes out with the lead's `reply+<token>` address: the answer finds its lead."""
    if channel is Channel.EMAIL and dealer.reply_domain:
        return reply_address(dealer.webhook_secret, lead, dealer.reply_domain)
    return None


def build_written(request: MessageRequest, dealer: Dealer, public_base_url: str) -> OutboundMessage:
    """Render a message outside the cadence and address it: pure, tested without a provider."""
    channel = request.channel
    unsubscribe_url = (
        _unsubscribe_url(dealer, request.lead_id, channel, public_base_url)
        if channel is Channel.EMAIL
        else None
    )
    local = None
    if request.appointment_at is not None:
        local = request.appointment_at.astimezone(ZoneInfo(dealer.timezone))
    signer = next((p.name for p in dealer.salespeople if p.id == request.by), None)
    rendered = render_written(
        WrittenContext(
            channel=channel,
            locale=request.locale,
            dealer_name=dealer.name,
            customer_name=request.customer_name,
            vehicle=request.vehicle,
            unsubscribe_url=unsubscribe_url,
            text=None if local is not None else request.text or "",
            signer=signer,
            subject=request.subject,
            appointment_at=local,
            appointment_kind=request.appointment_kind,
        )
    )
    content_sid = None
    if channel is Channel.WHATSAPP and request.template:
        templates = dealer.whatsapp_templates
        content_sid = templates.get("follow_up") or next(iter(templates.values()), None)
        # The customer gets the approved template, not the typed text: the thread (and the
        # outbox) keep the words it was approved with, the cadence's follow-up.
        rendered = render(
            MessageContext(
                kind=request.kind or LeadKind.GENERAL,
                stage=Stage.FOLLOW_UP,
                channel=channel,
                locale=request.locale,
                dealer_name=dealer.name,
                customer_name=request.customer_name,
                vehicle=request.vehicle,
            )
        )
    return OutboundMessage(
        key=person_message_key(
            request.lead_id, request.conversation, request.number, channel.value
        ),
        lead_id=request.lead_id,
        dealer_id=request.dealer_id,
        conversation=request.conversation,
        touch=None,
        by=request.by,
        channel=channel,
        to=request.to,
        from_address=_from_address(dealer, channel),
        from_name=dealer.name,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        reply_to=_reply_to(dealer, request.lead_id, channel),
        in_reply_to=request.in_reply_to if channel is Channel.EMAIL else None,
        references=tuple(request.references) if channel is Channel.EMAIL else (),
        unsubscribe_url=unsubscribe_url,
        whatsapp_content_sid=content_sid,
        whatsapp_content_variables=(
            _template_variables(request.customer_name, request.vehicle, dealer)
            if content_sid
            else None
        ),
    )


def _template_variables(name: str | None, vehicle: str | None, dealer: Dealer) -> dict[str, str]:
    return {"1": first_name(name) or "", "2": vehicle or "", "3": dealer.name}


def build_message(request: SendRequest, dealer: Dealer, public_base_url: str) -> OutboundMessage:
    """Render the touch's text and address it: pure, so it is tested without a provider."""
    unsubscribe_url = _unsubscribe_url(dealer, request.lead_id, request.channel, public_base_url)
    stage = stage_for(request.touch, request.total)
    rendered = render(
        MessageContext(
            kind=request.kind,
            stage=stage,
            channel=request.channel,
            locale=request.locale,
            dealer_name=dealer.name,
            customer_name=request.customer_name,
            vehicle=request.vehicle,
            unsubscribe_url=unsubscribe_url if request.channel is Channel.EMAIL else None,
        )
    )
    content_sid = None
    if request.channel is Channel.WHATSAPP and not request.whatsapp_window_open:
        # Outside WhatsApp's 24-hour window only an approved template may be sent.
        content_sid = dealer.whatsapp_templates.get(stage.value)
    return OutboundMessage(
        key=message_key(
            request.lead_id, request.conversation, request.touch, request.channel.value
        ),
        lead_id=request.lead_id,
        dealer_id=request.dealer_id,
        conversation=request.conversation,
        touch=request.touch,
        channel=request.channel,
        to=request.to,
        from_address=_from_address(dealer, request.channel),
        from_name=dealer.name,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        reply_to=_reply_to(dealer, request.lead_id, request.channel),
        unsubscribe_url=unsubscribe_url if request.channel is Channel.EMAIL else None,
        whatsapp_content_sid=content_sid,
        whatsapp_content_variables=(
            _template_variables(request.customer_name, request.vehicle, dealer)
            if content_sid
            else None
        ),
    )


class SendingActivities:
    def __init__(
        self, config: Config, senders: Senders, results: ResultsActivities | None = None
    ) -> None:
        self._config = config
        self._senders = senders
        self._results = results  # None: a request's figures are not written (tests)

    @activity.defn(name=names.SEND_TOUCH)
    async def send_touch(self, request: SendRequest) -> SendResult:
        dealer = self._config.dealer(request.dealer_id)
        message = build_message(request, dealer, self._config.api.public_base_url)
        window_closed = request.channel is Channel.WHATSAPP and not request.whatsapp_window_open
        sent = await self._deliver(message, dealer, window_closed)
        if request.figures is not None and self._results is not None and sent.sent_at:
            # After the send: the customer's answer never waits for the store.
            sent.recorded = await self._results.write(answered_at(request.figures, sent.sent_at))
        return sent

    async def attempt(self, request: SendRequest) -> TouchAttempt | None:
        """`send_touch`, from inside another activity: its classified failures as data; None
        for any other failure (the lead then sends the touch itself, with its retries)."""
        try:
            return TouchAttempt(sent=await self.send_touch(request))
        except ApplicationError as error:
            if error.type not in (PERMANENT, REJECTED):
                return None
            return TouchAttempt(failure=error.type, reason=error.message)
        except Exception as error:  # whatever it was, the lead's own send retries it
            log.warning("first_touch_not_sent", lead_id=request.lead_id, error=type(error).__name__)
            return None

    @activity.defn(name=names.SEND_MESSAGE)
    async def send_message(self, request: MessageRequest) -> SendResult:
        """A salesperson's message or an appointment's confirmation, through the same
        providers and the same exactly-once key scheme as the cadence's touches."""
        dealer = self._config.dealer(request.dealer_id)
        message = build_written(request, dealer, self._config.api.public_base_url)
        return await self._deliver(message, dealer, request.template)

    async def _deliver(
        self, message: OutboundMessage, dealer: Dealer, needs_template: bool
    ) -> SendResult:
        """Hand one message to its provider; classify what goes wrong for the workflow."""
        provider = self._senders.for_channel(message.channel, dealer.webhook_secret)
        if (
            needs_template
            and message.whatsapp_content_sid is None
            and provider is self._senders.messaging
        ):
            # Outside WhatsApp's 24-hour window only an approved template may be sent.
            raise ApplicationError(
                WHATSAPP_TEMPLATE_MISSING,
                type=PERMANENT,
                non_retryable=True,
            )
        try:
            # The provider libraries are synchronous: keep them off the event loop.
            message_id = await asyncio.to_thread(provider.send, message)
            sent_at = datetime.now(UTC)
        except PermanentDeliveryError as error:
            log.info("send_permanent_failure", touch_key=message.key, reason=error.reason)
            raise ApplicationError(error.reason, type=PERMANENT, non_retryable=True) from None
        except ProviderRejected as error:
            log.warning("send_rejected", touch_key=message.key, reason=str(error))
            raise ApplicationError(str(error), type=REJECTED, non_retryable=True) from None
        activity.metric_meter().create_counter(
            TOUCHES_SENT, "Messages a provider accepted, by dealer and channel."
        ).add(1, {"dealer": message.dealer_id, "channel": message.channel.value})
        provider_name = type(provider).__name__
        log.info("touch_sent", touch_key=message.key, provider=provider_name, by=message.by)
        return SendResult(
            provider=provider_name,
            message_id=message_id,
            subject=message.subject,
            text=message.text,
            sent_at=sent_at,
        )
