"""Dealer platforms: leads as JSON or ADF XML, and chat replies, all signed with Standard
Webhooks. Idempotence is Temporal's: the lead id is derived from the customer, and the start
is signal-with-start with USE_EXISTING, so twenty deliveries at once are one workflow."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from pydantic import BaseModel, Field, StringConstraints, model_validator

from api import reply_routing
from api.bodies import INTAKE_LIMIT, parse_json, read_body
from api.deps import DealerDep, EngineDep, MetricsDep
from api.errors import ApiError
from api.metrics import ADF, JSON
from api.openapi import ERRORS, body_schema
from api.signatures import verify_standard_webhook
from api.temporal_calls import Engine
from leads.adf import AdfError, parse_adf
from leads.attachments import with_attachments
from leads.config import Dealer
from leads.identity import address_key, lead_dealer
from leads.keywords import Keyword, opt_keyword
from leads.models import Channel, CustomerReplied, IntakeResult, Lead, OptedIn, OptedOut
from workflows.lead_follow_up import LeadFollowUp

router = APIRouter(prefix="/v1/dealers/{dealer_id}", tags=["dealer platforms"])


class AdfIntakeResult(IntakeResult):
    """The first prospect's answer, and every prospect's when the document holds several."""

    leads: list[IntakeResult]


class ChatAccepted(BaseModel):
    lead_id: str


class ChatAttachment(BaseModel):
    """A file the customer sent in the platform chat; only its media type reaches the lead."""

    model_config = {"str_strip_whitespace": True, "hide_input_in_errors": True}

    content_type: Annotated[str, StringConstraints(min_length=1, max_length=100)] = Field(
        description="its media type, e.g. image/jpeg"
    )
    name: Annotated[str, StringConstraints(max_length=200)] | None = None
    url: Annotated[str, StringConstraints(max_length=2000)] | None = None


class ChatReply(BaseModel):
    """A customer's message in the platform conversation of a lead."""

    model_config = {"str_strip_whitespace": True, "hide_input_in_errors": True}

    lead_id: Annotated[str, StringConstraints(max_length=120)] | None = None
    external_id: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    source: Annotated[str, StringConstraints(max_length=64)] | None = Field(
        default=None, description="the portal of external_id, when ids could collide"
    )
    text: Annotated[str, StringConstraints(max_length=10_000)] = Field(
        default="", description="required unless the message carries attachments"
    )
    attachments: Annotated[list[ChatAttachment], Field(max_length=20)] = Field(
        default_factory=list, description="files sent without (or with) text"
    )
    received_at: datetime | None = None
    message_id: Annotated[str, StringConstraints(max_length=200)] | None = Field(
        default=None, description="the platform's id of this message: a repeat is heard once"
    )

    @model_validator(mode="after")
    def _names_a_lead(self) -> ChatReply:
        if not (self.lead_id or self.external_id):
            raise ValueError("give lead_id or external_id")
        return self


WebhookId = Annotated[str | None, Header(alias="webhook-id", max_length=200)]
WebhookTimestamp = Annotated[str | None, Header(alias="webhook-timestamp", max_length=40)]
WebhookSignature = Annotated[str | None, Header(alias="webhook-signature", max_length=2000)]


async def signed_body(
    request: Request,
    dealer: DealerDep,
    webhook_id: WebhookId = None,
    webhook_timestamp: WebhookTimestamp = None,
    webhook_signature: WebhookSignature = None,
) -> bytes:
    """The raw body, once its Standard Webhooks signature is verified (the headers are
    declared here for the OpenAPI document; the library reads them from the request)."""
    body = await read_body(request, INTAKE_LIMIT)
    verify_standard_webhook(dealer, body, request.headers)
    return body


SignedBody = Annotated[bytes, Depends(signed_body)]


@router.post(
    "/leads",
    status_code=202,
    response_model=IntakeResult,
    responses=ERRORS,
    openapi_extra=body_schema("application/json", "Lead"),
    summary="Deliver a lead (JSON)",
)
async def intake_json(
    body: SignedBody, dealer: DealerDep, engine: EngineDep, metrics: MetricsDep
) -> IntakeResult:
    lead = parse_json(body, Lead, "lead")
    if lead.dealer_id not in (None, dealer.id):
        raise ApiError(422, "invalid_lead", "dealer_id: does not match the dealer in the URL")
    result = await engine.start(dealer, lead)
    metrics.lead_accepted(dealer.id, JSON, lead.kind, result)
    return result


@router.post(
    "/leads/adf",
    status_code=202,
    response_model=AdfIntakeResult,
    responses=ERRORS,
    openapi_extra=body_schema("application/xml", None),
    summary="Deliver a lead (ADF 1.0 XML, also inside an e-mail body)",
)
async def intake_adf(
    body: SignedBody, dealer: DealerDep, engine: EngineDep, metrics: MetricsDep
) -> AdfIntakeResult:
    try:
        leads = parse_adf(body)
    except AdfError as error:
        raise ApiError(422, "invalid_adf", str(error)) from None
    results = []
    for lead in leads:
        results.append(await engine.start(dealer, lead))
        metrics.lead_accepted(dealer.id, ADF, lead.kind, results[-1])
    return AdfIntakeResult(
        lead_id=results[0].lead_id, duplicate=results[0].duplicate, leads=results
    )


@router.post(
    "/chat",
    status_code=202,
    response_model=ChatAccepted,
    responses=ERRORS,
    openapi_extra=body_schema("application/json", "ChatReply"),
    summary="A customer's message in the platform chat: a reply, or STOP / START",
)
async def chat_reply(
    request: Request, body: SignedBody, dealer: DealerDep, engine: EngineDep
) -> ChatAccepted:
    reply = parse_json(body, ChatReply, "chat_reply")
    if not reply.text and not reply.attachments:
        raise ApiError(
            422, "invalid_chat_reply", "text: empty; a message needs text or attachments"
        )
    signal, arg = chat_signal(reply, reply.message_id or request.headers.get("webhook-id"))
    lead_id = await chat_lead(engine, dealer, reply, signal, arg)
    if lead_id is None:
        which = "lead_id" if reply.lead_id else "external_id"
        raise ApiError(404, "unknown_lead", f"no running lead with this {which}")
    return ChatAccepted(lead_id=lead_id)


def chat_signal(reply: ChatReply, event_id: str | None) -> tuple[Callable[..., Any], Any]:
    """Rule 7 in the chat as in SMS: every chat message ends with "Stuur STOP …", so a STOP
    opts out of the chat and START opts back in; anything else is a reply (rule 6), and
    attachments say what came."""
    keyword = None if reply.attachments else opt_keyword(reply.text)
    # The keyword's text goes with it: the thread shows what the customer wrote.
    if keyword is Keyword.STOP:
        stop = OptedOut(channel=Channel.CHAT, event_id=event_id, text=reply.text)
        return LeadFollowUp.opted_out, stop
    if keyword is Keyword.START:
        start = OptedIn(channel=Channel.CHAT, event_id=event_id, text=reply.text)
        return LeadFollowUp.opted_in, start
    return LeadFollowUp.customer_replied, CustomerReplied(
        channel=Channel.CHAT,
        text=with_attachments(reply.text, [a.content_type for a in reply.attachments]),
        received_at=reply.received_at or datetime.now(UTC),
        event_id=event_id,
    )


async def chat_lead(
    engine: Engine, dealer: Dealer, reply: ChatReply, signal: Callable[..., Any], arg: Any
) -> str | None:
    """Signal the running lead the chat message belongs to; its id, or None when none runs."""
    if reply.lead_id:
        if lead_dealer(reply.lead_id, engine.config.dealer_ids) != dealer.id:
            return None
        return reply.lead_id if await engine.signal(reply.lead_id, signal, arg) else None
    assert reply.external_id is not None
    if reply.source:
        key = address_key(dealer.webhook_secret, "ext", f"{reply.source}:{reply.external_id}")
        return await reply_routing.deliver(engine, dealer, [key], signal, arg)
    # Without the portal an id could name two leads: refuse rather than guess.
    key = address_key(dealer.webhook_secret, "extid", reply.external_id)
    found = await reply_routing.find(engine, dealer, [key])
    if len(found) > 1:
        raise ApiError(409, "ambiguous", "several leads have this external_id: give source")
    if found and await engine.signal(found[0], signal, arg):
        return found[0]
    return None
