"""Who may call: each webhook is verified with its sender's own library before anything
touches Temporal (a forged, stale or unsigned request starts, signals and updates nothing).

- dealer platforms: Standard Webhooks over the body's raw bytes, the dealer's
  `webhook_secret`, timestamps within ±5 minutes;
- Twilio: `X-Twilio-Signature` with `twilio.request_validator.RequestValidator` over the
  public URL (what Twilio signed, also behind a proxy), with TWILIO_AUTH_TOKEN;
- SendGrid Event Webhook: ECDSA with `sendgrid.EventWebhook` over the raw body, plus a
  freshness check of its timestamp;
- SendGrid Inbound Parse: HTTP basic auth (SENDGRID_PARSE_BASIC_AUTH) in the URL it posts to;
- salespeople: Bearer tokens, compared as SHA-256 digests in constant time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import time
from collections.abc import Mapping

from sendgrid import EventWebhook
from twilio.request_validator import RequestValidator

from api.errors import ApiError
from leads.config import Config, Dealer, Salesperson, webhook_key

TOLERANCE_SECONDS = 5 * 60


def unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message)


def verify_standard_webhook(dealer: Dealer, body: bytes, headers: Mapping[str, str]) -> str:
    """Check the Standard Webhooks signature over the body's raw bytes; return `webhook-id`.

    The spec signs `{webhook-id}.{webhook-timestamp}.{body}` as bytes, whatever the body's
    encoding. The `standardwebhooks` library decodes the body as UTF-8 first, so a correctly
    signed ADF document in ISO-8859-1, windows-1252 or UTF-16 would fail there as a bad
    signature: the check is done here over the bytes, the library's way otherwise (its
    secret format, its ±5 minute window, every `v1,` signature of the header tried), and
    the tests hold it to the library's own signatures."""
    wanted = ("webhook-id", "webhook-timestamp", "webhook-signature")
    missing = [name for name in wanted if not headers.get(name)]
    if missing:
        raise unauthorized(f"missing signature header(s): {', '.join(missing)}")
    msg_id, stamp = headers["webhook-id"], headers["webhook-timestamp"]
    try:
        seconds = math.floor(float(stamp))
    except (ValueError, OverflowError):
        raise unauthorized("signature not valid: invalid signature headers") from None
    age = time.time() - seconds
    if age > TOLERANCE_SECONDS:
        raise unauthorized("signature not valid: message timestamp too old")
    if age < -TOLERANCE_SECONDS:
        raise unauthorized("signature not valid: message timestamp too new")
    signed = f"{msg_id}.{seconds}.".encode() + body
    expected = hmac.new(webhook_key(dealer.webhook_secret), signed, hashlib.sha256).digest()
    for candidate in headers["webhook-signature"].split(" "):
        version, _, value = candidate.partition(",")
        try:
            given = base64.b64decode(value, validate=True)
        except (ValueError, binascii.Error):
            continue
        if version == "v1" and hmac.compare_digest(expected, given):
            return msg_id
    raise unauthorized("signature not valid: no matching signature found")


def verify_twilio(
    auth_token: str | None, url: str, params: Mapping[str, str], signature: str | None
) -> None:
    if not auth_token:
        raise unauthorized("Twilio webhooks are refused: TWILIO_AUTH_TOKEN is not configured")
    if not signature:
        raise unauthorized("missing header: X-Twilio-Signature")
    if not RequestValidator(auth_token).validate(url, dict(params), signature):
        raise unauthorized("X-Twilio-Signature not valid for this URL and body")


def verify_sendgrid_event(
    public_key: str | None,
    body: bytes,
    signature: str | None,
    timestamp: str | None,
    now: float | None = None,
) -> None:
    if not public_key:
        raise unauthorized(
            "SendGrid events are refused: SENDGRID_EVENT_PUBLIC_KEY is not configured"
        )
    if not signature or not timestamp:
        raise unauthorized(
            "missing header: X-Twilio-Email-Event-Webhook-Signature or "
            "X-Twilio-Email-Event-Webhook-Timestamp"
        )
    try:
        age = abs((now or time.time()) - int(timestamp))
    except ValueError:
        raise unauthorized("X-Twilio-Email-Event-Webhook-Timestamp is not a number") from None
    if age > TOLERANCE_SECONDS:
        raise unauthorized("SendGrid event timestamp too old or too new")
    try:
        valid = EventWebhook(public_key).verify_signature(body.decode(), signature, timestamp)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        valid = False
    if not valid:
        raise unauthorized("SendGrid event signature not valid")


def verify_basic_auth(expected: str | None, authorization: str | None) -> None:
    """Inbound Parse posts to https://user:password@host/…: the URL's credentials arrive as
    basic auth."""
    if not expected:
        raise unauthorized(
            "SendGrid Inbound Parse is refused: SENDGRID_PARSE_BASIC_AUTH is not configured"
        )
    scheme, _, value = (authorization or "").partition(" ")
    if scheme.lower() != "basic" or not value:
        raise unauthorized("missing basic auth credentials")
    try:
        given = base64.b64decode(value, validate=True)
    except (ValueError, binascii.Error):
        raise unauthorized("malformed basic auth credentials") from None
    if not hmac.compare_digest(given, expected.encode()):
        raise unauthorized("wrong basic auth credentials")


def salesperson_for(config: Config, authorization: str | None) -> tuple[Dealer, Salesperson]:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized("missing Bearer token")
    digest = hashlib.sha256(token.strip().encode()).hexdigest().encode()
    found: tuple[Dealer, Salesperson] | None = None
    for dealer in config.dealers:
        for person in dealer.salespeople:
            # Every token is compared, found or not: the time taken says nothing.
            if person.token_sha256 and hmac.compare_digest(digest, person.token_sha256.encode()):
                found = (dealer, person)
    if found is None:
        raise unauthorized("unknown Bearer token")
    return found
