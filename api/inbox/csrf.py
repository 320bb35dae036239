"""CSRF tokens: every inbox form carries one in a hidden field, and every POST is refused
(403, "this form has expired") without the right one.

- Signed in: the token is an HMAC of the session id (keyed from the dealer's secret), so it
  needs no storage and dies with the session.
- The sign-in forms, before any session: a double-submit cookie (`blanco_csrf`, random,
  HttpOnly) whose value the form repeats; another site can make a browser post, but cannot
  read or set the cookie to match.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from fastapi import Request, Response

from api.errors import ApiError
from api.inbox.sessions import PATH, Session, dealer_key, https
from leads.config import Config

FIELD = "csrf"
COOKIE = "blanco_csrf"


def refused() -> ApiError:
    return ApiError(403, "csrf", "the form's CSRF token is missing or wrong")


def session_token(session: Session) -> str:
    mac = hmac.new(
        dealer_key(session.dealer, "csrf"), session.session_id.encode(), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def check_session_token(session: Session, fields: dict[str, str]) -> None:
    given = fields.get(FIELD, "")
    if not hmac.compare_digest(session_token(session).encode(), given.encode()):
        raise refused()


def sign_in_token(request: Request) -> str:
    """The double-submit value of this browser: its cookie's, or a new one (which the page
    that shows the form sets, `set_sign_in_cookie`)."""
    known = request.cookies.get(COOKIE, "")
    return known if 20 <= len(known) <= 100 else secrets.token_urlsafe(32)


def set_sign_in_cookie(response: Response, request: Request, config: Config, token: str) -> None:
    if request.cookies.get(COOKIE) != token:
        response.set_cookie(
            COOKIE, token, path=PATH, secure=https(request, config), httponly=True, samesite="lax"
        )


def check_sign_in_token(request: Request, fields: dict[str, str]) -> None:
    cookie = request.cookies.get(COOKIE, "")
    given = fields.get(FIELD, "")
    if not cookie or not hmac.compare_digest(cookie.encode(), given.encode()):
        raise refused()
