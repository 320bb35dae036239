"""One-click unsubscribe (RFC 8058): mail clients POST `List-Unsubscribe=One-Click` to the
link in the `List-Unsubscribe` header; a person following the link in the message gets a
page with a button (a GET never unsubscribes: link scanners follow every link)."""

from __future__ import annotations

from html import escape
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse

from api.bodies import FORM_LIMIT, read_body
from api.deps import ConfigDep, EngineDep
from api.errors import ApiError
from api.openapi import ERRORS
from leads.config import Config, Dealer
from leads.identity import check_unsubscribe_token, lead_dealer
from leads.models import Channel, OptedOut
from workflows.lead_follow_up import LeadFollowUp

router = APIRouter(prefix="/v1/unsubscribe", tags=["customers"])

Token = Annotated[str, Path(max_length=200, description="<lead id>.<channel>.<signature>")]

TEXTS = {
    "nl": {
        "ask": "Wilt u geen berichten meer van {dealer} ontvangen via {channel}?",
        "button": "Afmelden",
        "done": "U bent afgemeld. U ontvangt geen berichten meer van {dealer} via {channel}.",
    },
    "en": {
        "ask": "Stop receiving messages from {dealer} by {channel}?",
        "button": "Unsubscribe",
        "done": "You are unsubscribed. {dealer} will not send you messages by {channel} again.",
    },
}
CHANNEL_NAMES = {"email": "e-mail", "sms": "SMS", "whatsapp": "WhatsApp", "chat": "chat"}


def _verified(config: Config, token: str) -> tuple[Dealer, str, Channel]:
    lead = token.partition(".")[0]
    dealer_id = lead_dealer(lead, config.dealer_ids)
    checked = (
        check_unsubscribe_token(config.dealer(dealer_id).webhook_secret, token)
        if dealer_id
        else None
    )
    if dealer_id is None or checked is None or checked[1] not in CHANNEL_NAMES:
        raise ApiError(404, "unknown_link", "this unsubscribe link is not valid")
    return config.dealer(dealer_id), checked[0], Channel(checked[1])


def _page(dealer: Dealer, channel: Channel, key: str, form: bool) -> HTMLResponse:
    texts = TEXTS[dealer.locale]
    line = escape(texts[key].format(dealer=dealer.name, channel=CHANNEL_NAMES[channel.value]))
    button = (
        '<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">'
        f'<button type="submit">{escape(texts["button"])}</button></form>'
        if form
        else ""
    )
    return HTMLResponse(
        f'<!doctype html><html lang="{dealer.locale}"><meta charset="utf-8">'
        f"<title>{escape(dealer.name)}</title><body><p>{line}</p>{button}</body></html>"
    )


@router.get(
    "/{token}",
    response_class=HTMLResponse,
    responses=ERRORS,
    summary="The confirmation page behind the unsubscribe link",
)
async def confirm(token: Token, config: ConfigDep) -> HTMLResponse:
    dealer, _, channel = _verified(config, token)
    return _page(dealer, channel, "ask", form=True)


@router.post(
    "/{token}",
    response_class=HTMLResponse,
    responses=ERRORS,
    summary="RFC 8058 one-click unsubscribe",
)
async def unsubscribe(
    token: Token, request: Request, config: ConfigDep, engine: EngineDep
) -> HTMLResponse:
    dealer, lead_id, channel = _verified(config, token)
    await read_body(request, FORM_LIMIT)  # `List-Unsubscribe=One-Click`; its absence is fine
    # A lead that has ended needs nothing: it sends no more messages.
    await engine.signal(lead_id, LeadFollowUp.opted_out, OptedOut(channel=channel))
    return _page(dealer, channel, "done", form=False)
