"""Passwordless sign-in: one-time links, and the Bearer token as a fallback.

A link is `{public_base_url}/inbox/sign-in/<dealer>.<salesperson>.<random>`: the random
part is `secrets.token_urlsafe(32)`, and the `SignIn` workflow keeps only its SHA-256 (the
ids name which workflow to ask; they are staff ids, not customer data). The API sends the
link itself, to the salesperson's e-mail address through SendGrid when it is configured,
else to their phone by SMS through Twilio. Without providers it appends one JSON line
`{dealer_id, salesperson_id, url, expires_at}` to `BLANCO_SIGN_IN_LINKS` (default
`.data/sign-in-links.jsonl`), where a developer running `make run` finds it; the log says
`sign_in_link_written`, never the URL.

Whoever asks gets the same answer whether or not the address belongs to anyone.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import structlog
from fastapi import Request

from activities.senders import Senders
from api.inbox.sessions import Session, digest, new_session_id
from api.inbox.sign_ins import SignIns
from api.inbox.texts import Texts
from api.signatures import salesperson_for
from leads.config import Config, Dealer, Salesperson
from leads.contact import analyse_phone, normalise_email
from leads.models import Channel
from providers.base import OutboundMessage
from workflows.sign_in import LINK_LIFETIME

log = structlog.get_logger("api.inbox")

LINKS_ENV = "BLANCO_SIGN_IN_LINKS"
DEFAULT_LINKS = ".data/sign-in-links.jsonl"
LINK_MINUTES = math.ceil(LINK_LIFETIME.total_seconds() / 60)
_RANDOM = re.compile(r"^[A-Za-z0-9_-]{43}$")  # token_urlsafe(32)
_ID = re.compile(r"^[a-z0-9-]{1,64}$")


def matching(config: Config, address: str) -> list[tuple[Dealer, Salesperson]]:
    """The salespeople whose e-mail address or phone number this is (normalised: case,
    spaces, a national or international way of writing the number)."""
    email = normalise_email(address) if "@" in address else None
    found = []
    for dealer in config.dealers:
        phone = None if email else analyse_phone(address, dealer.country).e164
        for person in dealer.salespeople:
            mine = normalise_email(person.email) if email else _number(person, dealer)
            if mine is not None and mine == (email or phone):
                found.append((dealer, person))
    return found


def _number(person: Salesperson, dealer: Dealer) -> str | None:
    return analyse_phone(person.phone, dealer.country).e164 if person.phone else None


def new_token(dealer: Dealer, person: Salesperson) -> str:
    return f"{dealer.id}.{person.id}.{secrets.token_urlsafe(32)}"


def token_owner(config: Config, token: str) -> tuple[Dealer, Salesperson] | None:
    parts = token.split(".")
    if len(parts) != 3 or not (_ID.match(parts[0]) and _ID.match(parts[1])):
        return None
    if not _RANDOM.match(parts[2]):
        return None
    try:
        dealer = config.dealer(parts[0])
    except KeyError:
        return None
    person = next((p for p in dealer.salespeople if p.id == parts[1]), None)
    return None if person is None else (dealer, person)


def link_url(config: Config, token: str) -> str:
    return f"{config.api.public_base_url.rstrip('/')}/inbox/sign-in/{token}"


@dataclass
class LinkDelivery:
    senders: Senders
    links_file: Path

    @classmethod
    def from_env(cls, config: Config, env: Mapping[str, str] = os.environ) -> LinkDelivery:
        return cls(
            Senders.from_env(config.api.public_base_url, env),
            Path(env.get(LINKS_ENV, DEFAULT_LINKS)),
        )

    @property
    def without_providers(self) -> bool:
        return self.senders.email is None and self.senders.messaging is None

    async def deliver(
        self, dealer: Dealer, person: Salesperson, url: str, expires_at: datetime
    ) -> str:
        """Send the link; returns how (`email`, `sms`, `file`, or `none` when the providers
        that are configured cannot reach this salesperson)."""
        if self.without_providers:
            self._write(dealer, person, url, expires_at)
            return "file"
        message = self._message(dealer, person, url)
        if message is None:
            log.warning("sign_in_link_undeliverable", dealer=dealer.id, salesperson=person.id)
            return "none"
        provider = self.senders.for_channel(message.channel, dealer.webhook_secret)
        try:
            await asyncio.to_thread(provider.send, message)
        except Exception as error:  # a provider's trouble: the answer to the page stays the same
            log.warning(
                "sign_in_link_not_delivered",
                dealer=dealer.id,
                salesperson=person.id,
                error_type=type(error).__name__,
            )
            return "none"
        log.info(
            "sign_in_link_sent", dealer=dealer.id, salesperson=person.id, via=message.channel.value
        )
        return message.channel.value

    def _message(self, dealer: Dealer, person: Salesperson, url: str) -> OutboundMessage | None:
        t = Texts(dealer.locale)
        common = {
            # Five parts: never read as a customer message's key on a provider's report.
            "key": f"signin:{dealer.id}:{person.id}:{secrets.token_hex(8)}:link",
            "lead_id": "",
            "dealer_id": dealer.id,
        }
        values = {"name": person.name, "dealer": dealer.name, "minutes": LINK_MINUTES, "url": url}
        if self.senders.email is not None and person.email:
            return OutboundMessage(
                **common,
                channel=Channel.EMAIL,
                to=person.email,
                from_address=dealer.email_from,
                from_name="Blanco",
                subject=t("mail.subject"),
                text=t("mail.text", **values),
            )
        number = analyse_phone(person.phone, dealer.country).e164 if person.phone else None
        if self.senders.messaging is not None and number and dealer.sms_from:
            return OutboundMessage(
                **common,
                channel=Channel.SMS,
                to=number,
                from_address=dealer.sms_from,
                text=t("sms.text", **values),
            )
        return None

    def _write(self, dealer: Dealer, person: Salesperson, url: str, expires_at: datetime) -> None:
        line = {
            "dealer_id": dealer.id,
            "salesperson_id": person.id,
            "url": url,
            "expires_at": expires_at.isoformat(),
        }
        self.links_file.parent.mkdir(parents=True, exist_ok=True)
        # Owner-only: each line opens an inbox for fifteen minutes.
        fd = os.open(self.links_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as file:
            file.write(json.dumps(line) + "\n")
        log.info(
            "sign_in_link_written",
            dealer=dealer.id,
            salesperson=person.id,
            file=str(self.links_file),
        )


def delivery(request: Request) -> LinkDelivery:
    """The app's link delivery, made from the environment on first use (tests set their own
    on `app.state.inbox_links`)."""
    found: LinkDelivery | None = getattr(request.app.state, "inbox_links", None)
    if found is None:
        found = LinkDelivery.from_env(request.app.state.config)
        request.app.state.inbox_links = found
    return found


async def send_links(config: Config, signins: SignIns, links: LinkDelivery, address: str) -> None:
    """A link to each salesperson this address belongs to (normally one). TooManyLinks
    when one of them asked too often."""
    for dealer, person in matching(config, address):
        token = new_token(dealer, person)
        expires_at = await signins.issue_link(dealer.id, person.id, digest(token))
        await links.deliver(dealer, person, link_url(config, token), expires_at)


async def redeem(config: Config, signins: SignIns, token: str) -> Session | None:
    """The session a link opens; None when the link names nobody (LinkRefused from the
    workflow when it is used or expired)."""
    owner = token_owner(config, token)
    if owner is None:
        return None
    dealer, person = owner
    session_id = new_session_id()
    expires_at = await signins.redeem(dealer.id, person.id, digest(token), digest(session_id))
    return Session(dealer, person, session_id, int(expires_at.timestamp()))


async def token_session(config: Config, signins: SignIns, token: str) -> Session:
    """A session for the holder of a salesperson's Bearer token (401 for an unknown one)."""
    dealer, person = salesperson_for(config, f"Bearer {token}")
    session_id = new_session_id()
    expires_at = await signins.open_session(dealer.id, person.id, digest(session_id))
    return Session(dealer, person, session_id, int(expires_at.timestamp()))
