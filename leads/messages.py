"""The words the engine sends: one text per kind × stage × channel family × locale.

Pure Python plus Jinja2: no Temporal, no network. The wording lives in
``leads/templates/<locale>/{email,short}.txt`` as plain-text macros (one per lead kind, one
branch per stage); the layouts in ``leads/templates/layout/`` only arrange the finished parts.

Rule 7 (respect; docs/architecture.md) is enforced here and in those files: every message carries an
opt-out (the unsubscribe link in both parts of an e-mail, a STOP line otherwise), and no text
questions the customer's seriousness or mentions their contact data. Rule 1 (blank leads):
the context holds nothing about data quality, so no text can depend on it.

The wording macros are called from Python, never from the HTML layout: a macro defined in a
non-escaping template and called from an escaping one returns its output marked safe
*without* escaping it. Handing the layouts plain strings keeps escaping in one place.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from functools import lru_cache
from typing import Any, Literal

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from jinja2.environment import TemplateModule
from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from leads.models import WRITTEN_CHANNELS, Channel, LeadKind, Locale, Stage

ChannelFamily = Literal["email", "short"]

# First words that are a title or a surname prefix ("Dhr. Jansen", "de Vries"): greeting by
# them alone ("Beste Dhr.,") reads worse than the neutral greeting.
_NOT_A_FIRST_NAME = frozenset({"dhr", "mevr", "mw", "mr", "mrs", "ms", "miss", "dr", "de", "van"})


class MessageContext(BaseModel):
    """Everything a text may depend on; nothing about data quality (rule 1)."""

    model_config = ConfigDict(extra="forbid")

    kind: LeadKind
    stage: Stage
    channel: Channel
    locale: Locale
    dealer_name: str
    customer_name: str | None = None  # as typed; greeted by its first word
    vehicle: str | None = None  # e.g. "Volkswagen Golf"; None gives "de auto" / "the car"
    unsubscribe_url: str | None = None  # required for e-mail

    @field_validator("unsubscribe_url")
    @classmethod
    def _http_only(cls, url: str | None) -> str | None:
        # It becomes an href: anything but http(s) (say javascript:) has no place there.
        if url is not None and not url.startswith(("https://", "http://")):
            raise ValueError("unsubscribe_url must be an http(s) URL")
        return url

    @model_validator(mode="after")
    def _sendable(self) -> MessageContext:
        _check_sendable(self.channel, self.unsubscribe_url)
        return self


def _check_sendable(channel: Channel, unsubscribe_url: str | None) -> None:
    """A written channel, and an e-mail only with its unsubscribe link (rule 7)."""
    if not channel.written:
        raise ValueError("phone is a call task, not a message")
    if channel is Channel.EMAIL and not unsubscribe_url:
        raise ValueError("an e-mail needs an unsubscribe_url (rule 7)")


class RenderedMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: str | None  # e-mail only
    text: str  # e-mail: the text/plain part; otherwise the whole message
    html: str | None  # e-mail only, autoescaped


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("leads", "templates"),
        undefined=StrictUndefined,  # a typo in a template is an error, not a silent blank
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def stage_for(touch: int, total: int) -> Stage:
    """Touch 1 is the first answer, the last touch of the cadence says goodbye.

    A cadence of one touch is only a first answer. A touch past the end counts as the last
    one rather than failing: a message is still better than a stuck workflow.
    """
    if touch < 1 or total < 1:
        raise ValueError(f"touch and total count from 1 (touch={touch}, total={total})")
    if touch == 1:
        return Stage.FIRST
    if touch >= total:
        return Stage.LAST
    return Stage.FOLLOW_UP


def first_name(customer_name: str | None) -> str | None:
    """The first word of the name as typed, or None for a neutral greeting.

    A "name" with a digit or an @ is contact data typed in the wrong box; echoing it would
    mention the customer's data (rule 7), so it gets the neutral greeting too.
    """
    words = (customer_name or "").split()
    if not words:
        return None
    word = words[0].rstrip(",.;:")
    if (
        not word
        or word.rstrip(".").lower() in _NOT_A_FIRST_NAME
        or "@" in word
        or any(c.isdigit() for c in word)
    ):
        return None
    return word


def render(ctx: MessageContext) -> RenderedMessage:
    """The message for one touch. Raises ValueError for phone or an e-mail without link."""
    # Re-validate: model_copy(update=...) and model_construct skip the validators.
    ctx = MessageContext.model_validate(ctx.model_dump())
    if ctx.channel is Channel.EMAIL:
        return _render_email(ctx)
    return _render_short(ctx)


def _words(ctx: MessageContext | WrittenContext, family: str) -> TemplateModule:
    values = {
        "dealer_name": ctx.dealer_name,
        "first_name": first_name(ctx.customer_name),
        "vehicle": (ctx.vehicle or "").strip() or None,
    }
    return _environment().get_template(f"{ctx.locale}/{family}.txt").make_module(values)


def _say(words: TemplateModule, macro: str, *args: str | int) -> str:
    """Call a wording macro and fold its source line breaks into single spaces."""
    return " ".join(str(getattr(words, macro)(*args)).split())


def _render_email(ctx: MessageContext) -> RenderedMessage:
    words = _words(ctx, "email")
    kind, stage = ctx.kind.value, ctx.stage.value
    subject = _say(words, f"{kind}_subject", stage)
    paragraphs = [
        _say(words, "greeting"),
        _say(words, kind, stage),
        _say(words, "closing", stage),
    ]
    return _compose_email(ctx, words, subject, paragraphs, ctx.dealer_name)


def _compose_email(
    ctx: MessageContext | WrittenContext,
    words: TemplateModule,
    subject: str,
    paragraphs: list[str],
    signature: str,
) -> RenderedMessage:
    """Both parts of an e-mail from finished paragraphs, with the unsubscribe line (rule 7)."""
    parts: dict[str, Any] = {
        "locale": ctx.locale,
        "subject": subject,
        "paragraphs": paragraphs,
        "sign_off": _say(words, "sign_off"),
        "dealer_name": signature,
        "unsubscribe_text": _say(words, "unsubscribe_text"),
        "unsubscribe_label": _say(words, "unsubscribe_label"),
        "unsubscribe_url": ctx.unsubscribe_url,
    }
    env = _environment()
    return RenderedMessage(
        subject=subject,
        text=env.get_template("layout/email.txt").render(parts),
        html=env.get_template("layout/email.html").render(parts),
    )


def _render_short(ctx: MessageContext) -> RenderedMessage:
    words = _words(ctx, "short")
    kind, stage = ctx.kind.value, ctx.stage.value
    text = (
        _environment()
        .get_template("layout/short.txt")
        .render(
            greeting=_say(words, "greeting"),
            body=_say(words, kind, stage),
            closing=_say(words, "closing", stage),
            sign_off=_say(words, "sign_off"),
            opt_out=_say(words, "opt_out", ctx.channel.value),
        )
    )
    return RenderedMessage(subject=None, text=text, html=None)


class WrittenContext(BaseModel):
    """A message outside the cadence: a salesperson's own words (`text`), or the confirmation
    of an appointment (`appointment_at` in the dealer's time zone, and its kind)."""

    model_config = ConfigDict(extra="forbid")

    channel: Channel
    locale: Locale
    dealer_name: str
    customer_name: str | None = None
    vehicle: str | None = None
    unsubscribe_url: str | None = None  # required for e-mail
    text: str | None = None
    signer: str | None = None  # the salesperson's name
    subject: str | None = None  # e-mail: "Re: …" of the customer's mail
    appointment_at: datetime | None = None
    appointment_kind: str | None = None

    @model_validator(mode="after")
    def _sendable(self) -> WrittenContext:
        _check_sendable(self.channel, self.unsubscribe_url)
        if (self.text is None) == (self.appointment_at is None):
            raise ValueError("a written message is either a salesperson's text or a confirmation")
        return self


def render_written(ctx: WrittenContext) -> RenderedMessage:
    """A salesperson's message or an appointment's confirmation, with the opt-out every
    written message carries (rule 7)."""
    words = _words(ctx, "personal")
    signature = f"{ctx.signer}, {ctx.dealer_name}" if ctx.signer else ctx.dealer_name
    if ctx.appointment_at is not None:
        at, kind = ctx.appointment_at, ctx.appointment_kind or "showroom"
        when = f"{_say(words, 'weekday', at.weekday())} {at.day} {_say(words, 'month', at.month)}"
        when = f"{when} {_say(words, 'at')} {at:%H:%M}"
        subject = _say(words, "subject", kind)
        family = _words(ctx, "email" if ctx.channel is Channel.EMAIL else "short")
        paragraphs = [_say(family, "greeting"), _say(words, "body", kind, when)]
    else:
        subject = ctx.subject or _say(words, "answer_subject")
        paragraphs = [p.strip() for p in (ctx.text or "").split("\n\n") if p.strip()]
    if ctx.channel is Channel.EMAIL:
        return _compose_email(ctx, _words(ctx, "email"), subject, paragraphs, signature)
    short = _words(ctx, "short")
    body = "\n\n".join(paragraphs) if ctx.text is not None else "\n".join(paragraphs)
    lines = [body, signature, _say(short, "opt_out", ctx.channel.value)]
    return RenderedMessage(subject=None, text="\n".join(lines), html=None)


SAMPLE_DEALER = "Autohuis West"
SAMPLE_CUSTOMER = "Pieter de Vries"
SAMPLE_VEHICLE = "Volkswagen Golf"
SAMPLE_UNSUBSCRIBE_URL = "https://blanco.example/v1/unsubscribe/sample-token"


def all_contexts() -> Iterator[MessageContext]:
    """Every kind × stage × written channel × locale with sample data, to scan every text."""
    locales: tuple[Locale, ...] = ("nl", "en")
    for kind in LeadKind:
        for stage in Stage:
            for channel in WRITTEN_CHANNELS:
                for locale in locales:
                    yield MessageContext(
                        kind=kind,
                        stage=stage,
                        channel=channel,
                        locale=locale,
                        dealer_name=SAMPLE_DEALER,
                        customer_name=SAMPLE_CUSTOMER,
                        vehicle=SAMPLE_VEHICLE,
                        unsubscribe_url=(
                            SAMPLE_UNSUBSCRIBE_URL if channel is Channel.EMAIL else None
                        ),
                    )
