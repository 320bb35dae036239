"""Twilio and SendGrid: the customer's replies and the providers' reports on our messages.

Each webhook is verified first (api/signatures.py). Then the message is routed to its lead
without a lookup table: Twilio's status callback and SendGrid's events carry the message key we
sent with the message; a reply is routed by its `reply+<token>` address or by the keyed hash
of the sender's address (the workflow publishes those as `ContactKeys`; api/reply_routing.py).
What a message means (STOP, an out-of-office) is decided in `leads/` (`keywords.py`,
`auto_reply.py`); what a provider's form or report says, in its package (`providers/twilio/`,
`providers/sendgrid/`).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, time
from email.parser import HeaderParser
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import structlog
from fastapi import APIRouter, Depends, Header, Request, Response
from pydantic import BaseModel

from api import reply_routing
from api.bodies import (
    EVENTS_LIMIT,
    FORM_LIMIT,
    MAIL_LIMIT,
    MAIL_PART_LIMIT,
    read_body,
    read_form,
    text_fields,
)
from api.deps import ConfigDep, EngineDep, MetricsDep, SecretsDep
from api.errors import ApiError
from api.metrics import ApiMetrics
from api.openapi import ERRORS, form_schema
from api.signatures import verify_basic_auth, verify_sendgrid_event, verify_twilio
from api.temporal_calls import Engine
from leads.attachments import with_attachments
from leads.auto_reply import auto_reply
from leads.config import Config, Dealer
from leads.contact import analyse_phone, normalise_email
from leads.identity import (
    MessageKey,
    address_key,
    check_reply_token,
    lead_dealer,
    parse_message_key,
)
from leads.keywords import Keyword, opt_keyword
from leads.models import (
    AutoReplied,
    Channel,
    Customer,
    CustomerReplied,
    DeliveryFailed,
    DeliveryReport,
    DeliveryStatus,
    Lead,
    LeadKind,
    OptedIn,
    OptedOut,
)
from providers.sendgrid.events import sendgrid_event_action
from providers.sendgrid.webhooks import PARSE_FIELDS, envelope, header_message_id
from providers.twilio.callbacks import twilio_failure_permanent, twilio_status
from providers.twilio.webhooks import TWILIO_FIELDS, twilio_media
from workflows.lead_follow_up import LeadFollowUp

router = APIRouter(prefix="/v1/inbound", tags=["providers"])
log = structlog.get_logger("api")

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
WHATSAPP = "whatsapp:"
TEXT_LIMIT = 10_000  # MessageText
SUBJECT_LIMIT = 200  # ShortText
EMAIL_LIMIT = 200  # Customer.email
CHANNELS = frozenset(channel.value for channel in Channel)


class Received(BaseModel):
    """What the API did with a provider's post."""

    status: str  # delivered | new_lead | ignored
    lead_id: str | None = None
    events: int | None = None
    applied: int | None = None


def public_url(config: Config, request: Request) -> str:
    """The URL Twilio signed: the configured public base, not the host this process sees
    behind a proxy."""
    query = request.url.query
    base = config.api.public_base_url.rstrip("/")
    return f"{base}{request.url.path}" + (f"?{query}" if query else "")


def _number(value: str) -> str:
    return value.removeprefix(WHATSAPP).replace(" ", "")


def dealer_for_number(config: Config, to: str) -> Dealer | None:
    wanted = _number(to)
    for dealer in config.dealers:
        numbers = {_number(n) for n in (dealer.sms_from, dealer.whatsapp_from) if n}
        if wanted and wanted in numbers:
            return dealer
    return None


async def reply_or_new_lead(
    engine: Engine,
    metrics: ApiMetrics,
    dealer: Dealer,
    keys: list[str],
    reply: CustomerReplied,
    new_lead: Lead,
    direct: str | None = None,
) -> Received:
    """Rule 6: a reply reaches the customer's running conversation. When none runs, the
    message is never dropped: from a customer the dealer had a conversation with (that has
    ended), it starts a new one already engaged — a reply task, no automatic cadence; from
    someone new it is a lead of its own (rule 1). Either counts as a lead accepted through
    the reply's channel."""
    lead_id = await reply_routing.deliver(
        engine, dealer, keys, LeadFollowUp.customer_replied, reply, first=direct
    )
    if lead_id is not None:
        return Received(status="delivered", lead_id=lead_id)
    returning = direct is not None or await reply_routing.known(engine, dealer, keys)
    started = await engine.start(dealer, new_lead, reply=reply if returning else None)
    metrics.lead_accepted(dealer.id, reply.channel.value, new_lead.kind, started)
    return Received(status="new_lead", lead_id=started.lead_id)


# --- Twilio ------------------------------------------------------------------------------

TwilioSignature = Annotated[str | None, Header(alias="X-Twilio-Signature", max_length=200)]


async def twilio_params(
    request: Request,
    config: ConfigDep,
    secrets: SecretsDep,
    x_twilio_signature: TwilioSignature = None,
) -> dict[str, str]:
    """The form Twilio posted, once its signature over the public URL is verified."""
    _, form = await read_form(request, FORM_LIMIT)
    params = text_fields(form)
    verify_twilio(
        secrets.twilio_auth_token, public_url(config, request), params, x_twilio_signature
    )
    return params


TwilioParams = Annotated[dict[str, str], Depends(twilio_params)]


@router.post(
    "/twilio/messages",
    response_class=Response,
    responses={200: {"content": {"application/xml": {}}, "description": "empty TwiML"}, **ERRORS},
    openapi_extra=form_schema(TWILIO_FIELDS),
    summary="Twilio inbound SMS / WhatsApp",
)
async def twilio_message(
    params: TwilioParams, config: ConfigDep, engine: EngineDep, metrics: MetricsDep
) -> Response:
    dealer = dealer_for_number(config, params.get("To", ""))
    if dealer is None:
        raise ApiError(404, "unknown_number", "the To number belongs to no configured dealer")
    sender = params.get("From", "")
    channel = Channel.WHATSAPP if sender.startswith(WHATSAPP) else Channel.SMS
    phone = analyse_phone(_number(sender), dealer.country).e164 or _number(sender)
    keys = [address_key(dealer.webhook_secret, "phone", phone)]
    media = twilio_media(params)
    text = with_attachments(params.get("Body", "")[:TEXT_LIMIT], media)
    event_id = params.get("MessageSid") or None
    keyword = None if media else opt_keyword(text)
    if keyword is Keyword.STOP:  # the number's every conversation, not just one
        stop = OptedOut(channel=channel, event_id=event_id, text=text)
        await reply_routing.deliver_all(engine, dealer, keys, LeadFollowUp.opted_out, stop)
    elif keyword is Keyword.START:
        start = OptedIn(channel=channel, event_id=event_id, text=text)
        await reply_routing.deliver_all(engine, dealer, keys, LeadFollowUp.opted_in, start)
    else:
        now = datetime.now(UTC)
        await reply_or_new_lead(
            engine,
            metrics,
            dealer,
            keys,
            CustomerReplied(channel=channel, text=text, received_at=now, event_id=event_id),
            Lead(
                source=channel.value,
                external_id=event_id,
                received_at=now,
                customer=Customer(phone=phone, preferred_channel=channel),
                message=text or None,
            ),
        )
    return Response(EMPTY_TWIML, media_type="application/xml")


@router.post(
    "/twilio/status",
    status_code=200,
    response_model=Received,
    responses=ERRORS,
    openapi_extra=form_schema(
        {"MessageSid": "", "MessageStatus": "queued … read", "ErrorCode": "on failure"}
    ),
    summary="Twilio delivery status callbacks",
)
async def twilio_status_callback(
    request: Request, params: TwilioParams, config: ConfigDep, engine: EngineDep
) -> Received:
    key = parse_touch_key(config, request.query_params.get("touch", ""))
    status = twilio_status(params.get("MessageStatus", ""))
    if key is None or status is None:
        return Received(status="ignored")
    event_id = f"{params.get('MessageSid', '')}:{status.value}"
    if status in (DeliveryStatus.FAILED, DeliveryStatus.UNDELIVERED):
        code_text = params.get("ErrorCode", "")
        code = int(code_text) if code_text.isdecimal() else None
        reason = f"twilio {status.value}" + (f" {code}" if code else "")
        delivered = await signal_failure(
            engine, key, reason, twilio_failure_permanent(code), event_id
        )
    else:
        delivered = await signal_status(engine, key, status, event_id)
    return Received(status="delivered" if delivered else "ignored", lead_id=key.lead_id)


def parse_touch_key(config: Config, key: str) -> MessageKey | None:
    """The parts of the message key the send activity gave the provider: a touch's
    (`leads.identity.message_key`) or a salesperson's message's (`person_message_key`, touch 0
    and its number). None for a key of no configured dealer's lead or an unknown channel (a
    salesperson's alert, another system's mail)."""
    parsed = parse_message_key(key)
    if parsed is None or lead_dealer(parsed.lead_id, config.dealer_ids) is None:
        return None
    return parsed if parsed.channel in CHANNELS else None


async def signal_status(
    engine: Engine, key: MessageKey, status: DeliveryStatus, event_id: str | None
) -> bool:
    """A provider's progress report on the touch or salesperson's message the key names."""
    report = DeliveryReport(
        channel=Channel(key.channel),
        touch=key.touch,
        status=status,
        event_id=event_id,
        conversation=key.conversation,
        message=key.message,
    )
    return await engine.signal(key.lead_id, LeadFollowUp.delivery_status, report)


async def signal_failure(
    engine: Engine, key: MessageKey, reason: str, permanent: bool, event_id: str | None
) -> bool:
    """A provider's report that the touch or salesperson's message the key names failed."""
    failure = DeliveryFailed(
        channel=Channel(key.channel),
        reason=reason,
        permanent=permanent,
        touch=key.touch,
        event_id=event_id,
        conversation=key.conversation,
        message=key.message,
    )
    return await engine.signal(key.lead_id, LeadFollowUp.delivery_failed, failure)


# --- SendGrid ----------------------------------------------------------------------------


@router.post(
    "/sendgrid/parse",
    response_model=Received,
    responses=ERRORS,
    openapi_extra={
        "requestBody": {
            "content": {
                "multipart/form-data": form_schema(PARSE_FIELDS)["requestBody"]["content"][
                    "application/x-www-form-urlencoded"
                ]
            }
        }
    },
    summary="SendGrid Inbound Parse: e-mail replies",
)
async def sendgrid_parse(
    request: Request,
    config: ConfigDep,
    secrets: SecretsDep,
    engine: EngineDep,
    metrics: MetricsDep,
    authorization: Annotated[str | None, Header(max_length=1000)] = None,
) -> Received:
    verify_basic_auth(secrets.sendgrid_parse_basic_auth, authorization)
    _, form = await read_form(request, MAIL_LIMIT, part_limit=MAIL_PART_LIMIT)
    fields = text_fields(form)
    recipients, sender = envelope(fields)
    routed = _route_mail(config, recipients)
    if routed is None:
        log.info("inbound_mail_ignored", reason="no dealer address among the recipients")
        return Received(status="ignored")
    dealer, direct = routed
    headers = {k.lower(): v for k, v in HeaderParser().parsestr(fields.get("headers", "")).items()}
    subject = fields.get("subject", "")
    text = (fields.get("text") or fields.get("html") or "")[:TEXT_LIMIT]
    message_id = header_message_id(headers.get("message-id"))
    event_id = (headers.get("message-id") or "").strip()[:200] or None
    # For the thread: the subject as the customer wrote it, on one line and within bounds.
    shown_subject = " ".join(subject.split())[:SUBJECT_LIMIT] or None
    keys = []
    sender_email = normalise_email(sender)
    if sender_email and len(sender_email) > EMAIL_LIMIT:
        sender_email = None  # valid, but longer than a lead document holds: no address
    if sender_email:
        keys.append(address_key(dealer.webhook_secret, "email", sender_email))
    tz = ZoneInfo(dealer.timezone)
    auto = auto_reply(headers, subject, text, datetime.now(tz).date())
    if auto is not None:
        until = datetime.combine(auto.until, time(0), tzinfo=tz) if auto.until else None
        signal = AutoReplied(
            channel=Channel.EMAIL,
            until=until,
            event_id=event_id,
            subject=shown_subject,
            text=text or None,
        )
        lead_id = await reply_routing.deliver(
            engine, dealer, keys, LeadFollowUp.auto_replied, signal, first=direct
        )
        # An out-of-office of nobody we write to is not a lead.
        return Received(status="delivered" if lead_id else "ignored", lead_id=lead_id)
    now = datetime.now(UTC)
    return await reply_or_new_lead(
        engine,
        metrics,
        dealer,
        keys,
        CustomerReplied(
            channel=Channel.EMAIL,
            text=text,
            received_at=now,
            event_id=event_id,
            subject=shown_subject,
            message_id=message_id,
        ),
        Lead(
            source="email",
            kind=LeadKind.GENERAL,
            received_at=now,
            customer=Customer(email=sender_email, preferred_channel=Channel.EMAIL),
            message=text or None,
        ),
        direct=direct,
    )


def _route_mail(config: Config, recipients: list[str]) -> tuple[Dealer, str | None] | None:
    """The dealer the mail was sent to, and the lead its `reply+<token>` address names."""
    fallback: Dealer | None = None
    for address in recipients:
        local, _, domain = address.lower().rpartition("@")
        for dealer in config.dealers:
            if dealer.reply_domain and domain == dealer.reply_domain.lower():
                if local.startswith("reply+"):
                    lead = check_reply_token(dealer.webhook_secret, dealer.id, local[6:])
                    if lead:
                        return dealer, lead
                fallback = fallback or dealer
            elif address.lower() == dealer.email_from.lower():
                fallback = fallback or dealer
    return (fallback, None) if fallback else None


EventSignature = Annotated[
    str | None, Header(alias="X-Twilio-Email-Event-Webhook-Signature", max_length=500)
]
EventTimestamp = Annotated[
    str | None, Header(alias="X-Twilio-Email-Event-Webhook-Timestamp", max_length=40)
]


@router.post(
    "/sendgrid/events",
    response_model=Received,
    responses=ERRORS,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"type": "array", "items": {"type": "object"}}}
            },
        }
    },
    summary="SendGrid Event Webhook: bounces, drops, spam reports, unsubscribes",
)
async def sendgrid_events(
    request: Request,
    config: ConfigDep,
    secrets: SecretsDep,
    engine: EngineDep,
    signature: EventSignature = None,
    timestamp: EventTimestamp = None,
) -> Received:
    body = await read_body(request, EVENTS_LIMIT)
    verify_sendgrid_event(secrets.sendgrid_event_public_key, body, signature, timestamp)
    try:
        events = json.loads(body)
    except (ValueError, RecursionError):
        raise ApiError(400, "bad_json", "the body is not JSON") from None
    if not isinstance(events, list):
        raise ApiError(400, "bad_events", "the body must be a JSON array of events")
    applied = 0
    for event in events:
        if isinstance(event, dict) and await _apply_event(config, engine, event):
            applied += 1
    return Received(status="delivered", events=len(events), applied=applied)


async def _apply_event(config: Config, engine: Engine, event: dict[str, Any]) -> bool:
    """Unknown leads (mail sent by something else, an erased lead) are acknowledged and
    ignored: SendGrid would otherwise retry them for days."""
    key = parse_touch_key(config, str(event.get("blanco_touch") or ""))
    action = sendgrid_event_action(event)
    if key is None or action.kind == "ignore":
        return False
    event_id = str(event.get("sg_event_id") or "")[:200] or None
    if action.kind == "opt_out":
        signal = OptedOut(channel=Channel.EMAIL, event_id=event_id)
        return await engine.signal(key.lead_id, LeadFollowUp.opted_out, signal)
    # The key's channel is e-mail for every mail we send; the event says what it reports on.
    key = key._replace(channel=action.channel.value)
    if action.kind == "status":
        assert action.status is not None
        return await signal_status(engine, key, action.status, event_id)
    return await signal_failure(engine, key, action.reason, action.permanent, event_id)
