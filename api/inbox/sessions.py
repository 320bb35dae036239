"""The inbox session: a signed cookie naming dealer, salesperson, session id and expiry, and
the checks every inbox request makes (signature, expiry, and the `SignIn` workflow's word
that the session is still live, so signing out ends it on every replica at once).

The cookie is `blanco_session`: HttpOnly (no script reads it), SameSite=Lax (another site's
form posts without it), Path=/inbox, Secure when the request or the public base URL is HTTPS.
Its signature is an HMAC keyed by a key derived from the dealer's `webhook_secret`: no new
secret to configure, and a different key from the webhooks' own.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Response

from api.deps import ConfigDep, EngineDep
from api.inbox.sign_ins import SignIns
from api.salespeople import Caller
from leads.config import Config, Dealer, Salesperson, webhook_key

COOKIE = "blanco_session"
PATH = "/inbox"
VERSION = "v1"


class NotSignedIn(Exception):
    """No live session: a page sends the browser to sign in, a form or fragment says so."""


@dataclass(frozen=True)
class Session:
    dealer: Dealer
    person: Salesperson
    session_id: str
    expires_at: int  # Unix seconds

    @property
    def caller(self) -> Caller:
        return Caller(self.dealer, self.person)

    @property
    def hash(self) -> str:
        return digest(self.session_id)

    @property
    def manager(self) -> bool:
        return self.caller.is_manager


def digest(secret: str) -> str:
    """What the SignIn workflow stores of a token or session id."""
    return hashlib.sha256(secret.encode()).hexdigest()


def dealer_key(dealer: Dealer, purpose: str) -> bytes:
    """A key for one purpose (`session`, `csrf`), derived from the dealer's secret."""
    return hmac.new(
        webhook_key(dealer.webhook_secret), f"blanco inbox {purpose}".encode(), hashlib.sha256
    ).digest()


def _sign(dealer: Dealer, payload: str) -> str:
    mac = hmac.new(dealer_key(dealer, "session"), payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def new_session_id() -> str:
    return secrets.token_urlsafe(32)


def cookie_value(dealer: Dealer, person: Salesperson, session_id: str, expires_at: int) -> str:
    # Dealer and salesperson ids are [a-z0-9-], session ids URL-safe base64: "." separates.
    payload = ".".join((VERSION, dealer.id, person.id, session_id, str(expires_at)))
    return f"{payload}.{_sign(dealer, payload)}"


def parse_cookie(config: Config, value: str | None, now: float | None = None) -> Session | None:
    """The session a cookie names, when its signature is right and it has not expired."""
    parts = (value or "").split(".")
    if len(parts) != 6 or parts[0] != VERSION or not parts[4].isdecimal() or len(parts[4]) > 12:
        return None
    _, dealer_id, person_id, session_id, expires, signature = parts
    try:
        dealer = config.dealer(dealer_id)
    except KeyError:
        return None
    expected = _sign(dealer, ".".join(parts[:5]))
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        return None
    person = next((p for p in dealer.salespeople if p.id == person_id), None)
    if person is None or int(expires) <= (time.time() if now is None else now):
        return None  # a salesperson removed from the config is signed out
    return Session(dealer, person, session_id, int(expires))


def https(request: Request, config: Config) -> bool:
    return request.url.scheme == "https" or config.api.public_base_url.startswith("https:")


def set_session_cookie(
    response: Response, request: Request, config: Config, session: Session
) -> None:
    response.set_cookie(
        COOKIE,
        cookie_value(session.dealer, session.person, session.session_id, session.expires_at),
        max_age=max(0, session.expires_at - int(time.time())),
        path=PATH,
        secure=https(request, config),
        httponly=True,
        samesite="lax",
    )


def clear_session_cookie(response: Response, request: Request, config: Config) -> None:
    response.delete_cookie(
        COOKIE, path=PATH, secure=https(request, config), httponly=True, samesite="lax"
    )


def sign_ins(request: Request, engine: EngineDep) -> SignIns:
    config: Config = request.app.state.config
    return SignIns(engine.client, config.temporal.task_queue)


SignInsDep = Annotated[SignIns, Depends(sign_ins)]


async def signed_in(request: Request, config: ConfigDep, signins: SignInsDep) -> Session:
    """The request's live session, or NotSignedIn."""
    session = parse_cookie(config, request.cookies.get(COOKIE))
    if session is None:
        raise NotSignedIn
    request.state.inbox_locale = session.dealer.locale  # pages about the refusal too
    if not await signins.live(session.dealer.id, session.person.id, session.hash):
        raise NotSignedIn
    request.state.inbox_session = session
    return session


SessionDep = Annotated[Session, Depends(signed_in)]
