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

import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.providers.base import OutboundMessage, PermanentDeliveryError, ProviderRejected
from activities.senders import Senders
from leads.config import Config, Dealer
from leads.identity import message_key, reply_address, unsubscribe_token
from leads.messages import MessageContext, first_name, render, stage_for
from leads.models import Channel, LeadKind, Locale, Payload

PERMANENT = "PermanentDelivery"
REJECTED = "ProviderRejected"
# On the worker's Prometheus endpoint, through the SDK's activity meter (which adds namespace,
# task_queue and activity_type): a message a provider accepted, by dealer and channel.
TOUCHES_SENT = "blanco_touches_sent_total"

log = structlog.get_logger(__name__)


class SendRequest(Payload):
    lead_id: str
    dealer_id: str
    # The first run id of the conversation (None: scheduled by a version before it was sent).
    conversation: str | None = None
    touch: int
    total: int
    channel: Channel
    to: str
    kind: LeadKind
    locale: Locale
    customer_name: str | None = None
    vehicle: str | None = None
    whatsapp_window_open: bool = False


class SendResult(Payload):
    provider: str
    message_id: str


def build_message(request: SendRequest, dealer: Dealer, public_base_url: str) -> OutboundMessage:
    """Render the touch's text and address it: pure, so it is tested without a provider."""
    base = public_base_url.rstrip("/")
    token = unsubscribe_token(dealer.webhook_secret, request.lead_id, request.channel.value)
    unsubscribe_url = f"{base}/v1/unsubscribe/{token}"
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
    from_address = {
        Channel.EMAIL: dealer.email_from,
        Channel.SMS: dealer.sms_from or "",
        Channel.WHATSAPP: dealer.whatsapp_from or "",
        Channel.CHAT: dealer.name,
    }[request.channel]
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
        from_address=from_address,
        from_name=dealer.name,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        reply_to=(
            reply_address(dealer.webhook_secret, request.lead_id, dealer.reply_domain)
            if request.channel is Channel.EMAIL and dealer.reply_domain
            else None
        ),
        unsubscribe_url=unsubscribe_url if request.channel is Channel.EMAIL else None,
        whatsapp_content_sid=content_sid,
        whatsapp_content_variables=(
            {
                "1": first_name(request.customer_name) or "",
                "2": request.vehicle or "",
                "3": dealer.name,
            }
            if content_sid
            else None
        ),
    )


class SendingActivities:
    def __init__(self, config: Config, senders: Senders) -> None:
        self._config = config
        self._senders = senders

    @activity.defn(name="send_touch")
    async def send_touch(self, request: SendRequest) -> SendResult:
        dealer = self._config.dealer(request.dealer_id)
        message = build_message(request, dealer, self._config.api.public_base_url)
        provider = self._senders.for_channel(request.channel, dealer.webhook_secret)
        needs_template = (
            request.channel is Channel.WHATSAPP
            and not request.whatsapp_window_open
            and message.whatsapp_content_sid is None
            and provider is self._senders.messaging
        )
        if needs_template:
            raise ApplicationError(
                "no approved WhatsApp template for this stage outside the 24-hour window",
                type=PERMANENT,
                non_retryable=True,
            )
        try:
            # The provider libraries are synchronous: keep them off the event loop.
            message_id = await asyncio.to_thread(provider.send, message)
        except PermanentDeliveryError as error:
            log.info("send_permanent_failure", touch_key=message.key, reason=error.reason)
            raise ApplicationError(error.reason, type=PERMANENT, non_retryable=True) from None
        except ProviderRejected as error:
            log.warning("send_rejected", touch_key=message.key, reason=str(error))
            raise ApplicationError(str(error), type=REJECTED, non_retryable=True) from None
        activity.metric_meter().create_counter(
            TOUCHES_SENT, "Messages a provider accepted, by dealer and channel."
        ).add(1, {"dealer": request.dealer_id, "channel": request.channel.value})
        provider_name = type(provider).__name__
        log.info("touch_sent", touch_key=message.key, provider=provider_name)
        return SendResult(provider=provider_name, message_id=message_id)
