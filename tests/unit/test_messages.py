"""Message texts (leads/messages.py and leads/templates/): rules 1 and 7, docs/architecture.md.

Most tests run over every kind × stage × written channel × locale from `all_contexts()`, so
a new kind, stage or channel is checked the moment it is added.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from leads.messages import (
    MessageContext,
    RenderedMessage,
    WrittenContext,
    all_contexts,
    first_name,
    render,
    render_written,
    stage_for,
)
from leads.models import WRITTEN_CHANNELS, Channel, LeadKind, Stage

TEMPLATES = Path(__file__).resolve().parents[2] / "leads" / "templates"

# Contact data a customer might have given. Used only here: the context has no such fields,
# and the scan proves no text could echo them anyway.
SAMPLE_CUSTOMER = {
    "name": "Pieter de Vries",
    "email": "pieter.devries@example.nl",
    "phone": "+31612345678",
    "phone_local": "0612345678",
    "phone_placeholder": "0000000000",
}

# Rule 7: nothing about data quality, nothing that questions seriousness, no contact data.
FORBIDDEN = (
    "seems wrong",
    "invalid",
    "incorrect",
    "fake",
    "verify your",
    "controleer uw",
    "klopt niet",
    "ongeldig",
    "serious",
    "serieus",
    "really interested",
    "echt interesse",
    "phone number",
    "telefoonnummer",
    "e-mail address",
    "email address",
    "e-mailadres",
    "mobiel nummer",
)

OPT_OUT = {
    (Channel.SMS, "nl"): "Antwoord STOP om af te melden.",
    (Channel.SMS, "en"): "Reply STOP to opt out.",
    (Channel.WHATSAPP, "nl"): "Stuur STOP als u geen berichten meer wilt ontvangen.",
    (Channel.WHATSAPP, "en"): "Send STOP if you'd rather not hear from us.",
    (Channel.CHAT, "nl"): "Stuur STOP als u geen berichten meer wilt ontvangen.",
    (Channel.CHAT, "en"): "Send STOP if you'd rather not hear from us.",
}

SMS_MAX = 320  # two segments
CHAT_MAX = 600

# GSM 03.38 basic alphabet plus its extension table: anything else turns an SMS into UCS-2,
# which cuts a segment from 153 to 67 characters.
GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑܧ¿abcdefghijklmnopqrstuvwxyzäöñüà^{}\\[~]|€"
)


def _id(ctx: MessageContext) -> str:
    return f"{ctx.kind.value}-{ctx.stage.value}-{ctx.channel.value}-{ctx.locale}"


def _params(contexts: Iterable[MessageContext]) -> list[Any]:
    return [pytest.param(ctx, id=_id(ctx)) for ctx in contexts]


ALL = list(all_contexts())
EMAILS = [ctx for ctx in ALL if ctx.channel is Channel.EMAIL]
SHORTS = [ctx for ctx in ALL if ctx.channel is not Channel.EMAIL]


def _with(ctx: MessageContext, **changes: Any) -> MessageContext:
    return MessageContext.model_validate({**ctx.model_dump(), **changes})


def _blank(ctx: MessageContext) -> MessageContext:
    """The same touch for a lead that gave no name and no vehicle."""
    return _with(ctx, customer_name=None, vehicle=None)


def _long(ctx: MessageContext) -> MessageContext:
    """Realistic worst-case lengths, to keep the length limits honest."""
    return _with(
        ctx,
        dealer_name="Autobedrijf Van der Heijden-Hendriksen",
        customer_name="Maximiliaan van Oldenbarnevelt",
        vehicle="Mercedes-Benz GLC 300e 4MATIC AMG Line",
    )


def _everything(message: RenderedMessage) -> str:
    return "\n".join(part for part in (message.subject, message.text, message.html) if part)


# --- every text exists -----------------------------------------------------------------------


def test_all_contexts_covers_every_kind_stage_written_channel_and_locale() -> None:
    combinations = {(c.kind, c.stage, c.channel, c.locale) for c in ALL}
    assert len(ALL) == len(combinations) == len(LeadKind) * len(Stage) * len(WRITTEN_CHANNELS) * 2
    assert {c.channel for c in ALL} == set(WRITTEN_CHANNELS)


@pytest.mark.parametrize("ctx", _params(ALL + [_blank(c) for c in ALL]))
def test_every_context_renders(ctx: MessageContext) -> None:
    message = render(ctx)
    is_email = ctx.channel is Channel.EMAIL
    assert message.text.strip()
    assert (message.subject is not None) == is_email
    assert (message.html is not None) == is_email
    assert "None" not in _everything(message)  # a missing value never leaks as "None"
    assert ctx.dealer_name in message.text  # signed with the dealer's name
    if message.subject is not None:
        assert "\n" not in message.subject and message.subject.strip() == message.subject


@pytest.mark.parametrize(
    ("kind", "nl", "en"),
    [
        (LeadKind.BROCHURE_REQUEST, "brochure", "brochure"),
        (LeadKind.PRICE_REQUEST, "prijs", "price"),
        (LeadKind.TEST_DRIVE, "proefrit", "test drive"),
        (LeadKind.TRADE_IN, "taxatie", "value your car"),
        (LeadKind.OFFER, "uw bod", "your offer"),
        (LeadKind.CALLBACK_REQUEST, "bellen u", "call you"),
        (LeadKind.GENERAL, "helpen", "help"),
    ],
)
def test_first_message_fits_the_kind(kind: LeadKind, nl: str, en: str) -> None:
    for ctx in ALL:
        if ctx.kind is kind and ctx.stage is Stage.FIRST:
            assert (nl if ctx.locale == "nl" else en) in render(ctx).text.lower(), _id(ctx)


@pytest.mark.parametrize("ctx", _params(ALL))
def test_only_the_last_message_says_it_is_the_last(ctx: MessageContext) -> None:
    text = render(ctx).text.lower()
    said = "laatste bericht" in text or "last message" in text
    assert said == (ctx.stage is Stage.LAST)


@pytest.mark.parametrize("ctx", _params(c for c in ALL if c.locale == "nl"))
def test_dutch_texts_use_the_u_form(ctx: MessageContext) -> None:
    words = set(re.findall(r"[a-z]+", render(ctx).text.lower()))
    assert not words & {"je", "jij", "jou", "jouw", "jullie"}
    assert "u" in words


@pytest.mark.parametrize(
    ("family", "locale", "named", "neutral"),
    [
        ("email", "nl", "Beste Pieter,", "Goedendag,"),
        ("email", "en", "Hello Pieter,", "Hello,"),
        ("short", "nl", "Beste Pieter,", "Goedendag,"),
        ("short", "en", "Hi Pieter,", "Hello,"),
    ],
)
def test_greets_by_first_name_or_neutrally(
    family: str, locale: str, named: str, neutral: str
) -> None:
    for ctx in ALL:
        if ctx.locale == locale and (ctx.channel is Channel.EMAIL) == (family == "email"):
            assert render(ctx).text.startswith(named), _id(ctx)
            assert render(_blank(ctx)).text.startswith(neutral), _id(ctx)


@pytest.mark.parametrize(
    ("typed", "greeted"),
    [
        ("Pieter de Vries", "Pieter"),
        ("  pieter  ", "pieter"),  # as typed: no case games
        ("Anne-Marie", "Anne-Marie"),
        ("Pieter, ", "Pieter"),
        ("Dhr. Jansen", None),
        ("de Vries", None),
        (None, None),
        ("", None),
        ("   ", None),
        # Contact data typed in the name box is never echoed back (rule 7).
        (SAMPLE_CUSTOMER["email"], None),
        (SAMPLE_CUSTOMER["phone"], None),
        (SAMPLE_CUSTOMER["phone_placeholder"], None),
    ],
)
def test_first_name(typed: str | None, greeted: str | None) -> None:
    assert first_name(typed) == greeted


@pytest.mark.parametrize(("locale", "generic"), [("nl", "de auto"), ("en", "the car")])
def test_no_vehicle_gives_generic_wording(locale: str, generic: str) -> None:
    for kind in (LeadKind.BROCHURE_REQUEST, LeadKind.PRICE_REQUEST, LeadKind.OFFER):
        for ctx in ALL:
            if ctx.kind is kind and ctx.locale == locale:
                assert generic in render(_blank(ctx)).text, _id(ctx)


# --- rule 7: respect -------------------------------------------------------------------------


@pytest.mark.parametrize("ctx", _params(ALL))
def test_rule7_every_message_carries_an_opt_out(ctx: MessageContext) -> None:
    message = render(ctx)
    if ctx.channel is Channel.EMAIL:
        url = ctx.unsubscribe_url
        assert url is not None and message.html is not None
        assert url in message.text
        assert f'<a href="{url}">' in message.html
    else:
        # The opt-out is the last line: an SMS must end with it, the others do too.
        assert message.text.endswith(OPT_OUT[ctx.channel, ctx.locale])


@pytest.mark.parametrize("ctx", _params(ALL + [_blank(c) for c in ALL]))
def test_rule7_no_message_questions_the_customer_or_mentions_their_data(
    ctx: MessageContext,
) -> None:
    scanned = _everything(render(ctx)).lower()
    for phrase in FORBIDDEN:
        assert phrase not in scanned
    for key in ("email", "phone", "phone_local", "phone_placeholder"):
        assert SAMPLE_CUSTOMER[key].lower() not in scanned


@pytest.mark.parametrize(
    "path",
    [pytest.param(p, id=p.relative_to(TEMPLATES).as_posix()) for p in TEMPLATES.rglob("*.*")],
)
def test_rule7_no_template_holds_a_forbidden_phrase(path: Path) -> None:
    source = path.read_text(encoding="utf-8").lower()
    for phrase in FORBIDDEN:
        assert phrase not in source


@pytest.mark.parametrize("ctx", _params(c for c in ALL if c.kind is LeadKind.OFFER))
def test_rule7_an_offer_is_thanked_never_judged_or_quoted(ctx: MessageContext) -> None:
    message = render(ctx)
    # The words the customer reads; the HTML part holds the same paragraphs plus styling.
    words = f"{message.subject or ''}\n{message.text}".lower()
    words = words.replace((ctx.unsubscribe_url or "").lower(), "")
    assert not re.search(r"\b(low|lower|laag|lage|lager|amount|bedrag)\b", words)
    assert not re.search(r"\d", words)  # no amount, not even by accident
    if ctx.stage is Stage.FIRST:
        assert "dank voor uw bod" in words or "thank" in words


@pytest.mark.parametrize("ctx", _params(EMAILS))
def test_rule7_html_escapes_what_the_customer_and_dealer_typed(ctx: MessageContext) -> None:
    hostile = _with(
        ctx,
        customer_name="<script>x</script>",
        dealer_name="Bakker & <Zn>",
        vehicle='"Golf" <b>',
    )
    message = render(hostile)
    assert message.html is not None
    assert "<script>" not in message.html and "<b>" not in message.html
    assert "&lt;script&gt;x&lt;/script&gt;" in message.html
    assert "Bakker &amp; &lt;Zn&gt;" in message.html
    assert "<script>x</script>" in message.text  # plain text stays as typed


@pytest.mark.parametrize("ctx", _params(c for c in SHORTS if c.channel is Channel.SMS))
def test_rule7_sms_fits_two_segments_of_gsm7(ctx: MessageContext) -> None:
    for variant in (ctx, _blank(ctx), _long(ctx)):
        text = render(variant).text
        assert len(text) <= SMS_MAX, f"{len(text)} characters"
        assert set(text) <= GSM7, set(text) - GSM7


@pytest.mark.parametrize("ctx", _params(c for c in SHORTS if c.channel is not Channel.SMS))
def test_rule7_chat_and_whatsapp_stay_short(ctx: MessageContext) -> None:
    for variant in (ctx, _blank(ctx), _long(ctx)):
        assert len(render(variant).text) <= CHAT_MAX


# --- rule 1: blank leads ---------------------------------------------------------------------


def test_rule1_the_context_holds_nothing_about_data_quality() -> None:
    assert set(MessageContext.model_fields) == {
        "kind",
        "stage",
        "channel",
        "locale",
        "dealer_name",
        "customer_name",
        "vehicle",
        "unsubscribe_url",
    }


@pytest.mark.parametrize(
    "extra",
    [
        {"phone_valid": False},
        {"email_valid": False},
        {"lead_score": 3},
        {"serious": False},
        {"offer_amount": 9500},
        {"customer_email": SAMPLE_CUSTOMER["email"]},
        {"customer_phone": SAMPLE_CUSTOMER["phone"]},
    ],
)
def test_rule1_a_data_quality_field_is_refused(extra: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        _with(ALL[0], **extra)


@pytest.mark.parametrize("ctx", _params(ALL))
def test_rule1_a_missing_name_is_a_missing_name_however_it_is_missing(
    ctx: MessageContext,
) -> None:
    renders = [render(_with(ctx, customer_name=name)) for name in (None, "", "   ")]
    assert renders[0] == renders[1] == renders[2]


@pytest.mark.parametrize("ctx", _params(c for c in ALL if c.stage is not Stage.FIRST))
def test_rule1_follow_up_and_last_texts_depend_only_on_the_names(ctx: MessageContext) -> None:
    # Another customer with another name and a placeholder number in the name box gets the
    # same words: only the greeting differs.
    pieter = render(_with(ctx, customer_name="Pieter"))
    anna = render(_with(ctx, customer_name="Anna"))
    placeholder = render(_with(ctx, customer_name=SAMPLE_CUSTOMER["phone_placeholder"]))
    blank = render(_with(ctx, customer_name=None))
    assert _everything(pieter) == _everything(anna).replace("Anna", "Pieter")
    assert placeholder == blank


@pytest.mark.parametrize("ctx", _params(SHORTS))
def test_rule1_short_texts_ignore_the_unsubscribe_url(ctx: MessageContext) -> None:
    assert render(ctx) == render(_with(ctx, unsubscribe_url="https://other.example/u/x"))


# --- stage_for -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("touch", "total", "stage"),
    [
        (1, 8, Stage.FIRST),
        (2, 8, Stage.FOLLOW_UP),
        (7, 8, Stage.FOLLOW_UP),
        (8, 8, Stage.LAST),
        (9, 8, Stage.LAST),  # past the end: still a goodbye, not a crash
        (1, 1, Stage.FIRST),
        (1, 2, Stage.FIRST),
        (2, 2, Stage.LAST),
        (2, 3, Stage.FOLLOW_UP),
    ],
)
def test_stage_for(touch: int, total: int, stage: Stage) -> None:
    assert stage_for(touch, total) is stage


@pytest.mark.parametrize(("touch", "total"), [(0, 8), (-1, 8), (1, 0)])
def test_stage_for_counts_from_one(touch: int, total: int) -> None:
    with pytest.raises(ValueError):
        stage_for(touch, total)


# --- refused contexts ------------------------------------------------------------------------


def test_phone_is_never_a_message() -> None:
    sms = next(c for c in ALL if c.channel is Channel.SMS)
    with pytest.raises(ValueError, match="phone"):
        _with(sms, channel=Channel.PHONE)
    with pytest.raises(ValueError, match="phone"):
        render(sms.model_copy(update={"channel": Channel.PHONE}))  # skips validation


@pytest.mark.parametrize("url", [None, ""])
def test_rule7_email_without_unsubscribe_url_is_refused(url: str | None) -> None:
    email = EMAILS[0]
    with pytest.raises(ValueError, match="unsubscribe_url"):
        _with(email, unsubscribe_url=url)
    with pytest.raises(ValueError, match="unsubscribe_url"):
        render(email.model_copy(update={"unsubscribe_url": url}))


def test_unsubscribe_url_must_be_http() -> None:
    with pytest.raises(ValueError, match="http"):
        _with(EMAILS[0], unsubscribe_url="javascript:alert(1)")


@pytest.mark.parametrize("channel", WRITTEN_CHANNELS)
@pytest.mark.parametrize("locale", ["nl", "en"])
@pytest.mark.parametrize("what", ["salesperson", "confirmation"])
def test_rule7_a_message_outside_the_cadence_carries_an_opt_out_too(
    channel: Channel, locale: Any, what: str
) -> None:
    """A salesperson's own words and an appointment's confirmation are written messages like
    the touches: the unsubscribe link (e-mail) or the STOP line, and no contact data."""
    content: dict[str, Any] = (
        {"text": "Zaterdag om 10:00 staat de Golf klaar.", "signer": "Jan de Boer"}
        if what == "salesperson"
        else {"appointment_at": datetime(2026, 12, 5, 10, 0), "appointment_kind": "test_drive"}
    )
    link = "https://blanco.example/v1/unsubscribe/t"
    rendered = render_written(
        WrittenContext(
            channel=channel,
            locale=locale,
            dealer_name="Autohuis West",
            customer_name="Pieter de Vries",
            vehicle="Volkswagen Golf",
            unsubscribe_url="https://blanco.example/v1/unsubscribe/t"
            if channel is Channel.EMAIL
            else None,
            **content,
        )
    )
    if channel is Channel.EMAIL:
        assert link in rendered.text and rendered.html and link in rendered.html
        assert rendered.subject
    else:
        assert "STOP" in rendered.text.splitlines()[-1]
    assert "@" not in rendered.text and "06" not in rendered.text
