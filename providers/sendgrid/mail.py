"""E-mail through SendGrid's v3 mail/send API, with the official `sendgrid` client.

The request carries the message key in `custom_args`, so the Event Webhook's reports map back
to the touch or the salesperson's message, RFC 8058 one-click unsubscribe headers, and for an
answer the RFC 5322 threading headers (`In-Reply-To`, `References`). Nothing that identifies
the customer goes anywhere but the recipient and the content.

Errors are classified for the send activity (see base.py). Exception messages never contain
the response body as is: SendGrid's messages can quote the address they refuse.
"""

from __future__ import annotations

import http.client
import json
import re
from typing import Any

from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient

from providers.base import OutboundMessage, PermanentDeliveryError, ProviderRejected

DEFAULT_HOST = "https://api.sendgrid.com"
REASON_LIMIT = 120  # DeliveryFailed.reason holds 200 characters
# References keeps the thread's first message and the newest ones: mail servers refuse very
# long header lines, and clients thread on the first and the last id (RFC 5322 §3.6.4).
REFERENCES_KEPT = 20
# One msg-id, `<id-left@id-right>`: printable ASCII without blanks or another angle bracket.
_MSG_ID = re.compile(r"<[!-;=?-~]+@[!-;=?-~]+>")
_ADDRESS = re.compile(r"\S+@\S+")
_NUMBER = re.compile(r"\+?\d[\d ()./-]{5,}\d")


class SendGridUnavailable(Exception):
    """Transient: SendGrid throttled, failed or could not be reached. Temporal retries."""


class SendGridEmail:
    def __init__(self, api_key: str, host: str | None = None, timeout: float = 10.0) -> None:
        self._client = SendGridAPIClient(api_key=api_key, host=host or DEFAULT_HOST)
        # The library sets no timeout; python_http_client passes its own to every urlopen.
        self._client.client.timeout = timeout

    def send(self, message: OutboundMessage) -> str:
        try:
            response = self._client.send(mail_body(message))
        except HTTPError as exc:
            raise _classify(exc) from None  # `from None`: the body may quote the address
        except (OSError, http.client.HTTPException) as exc:
            # Timeouts, refused connections, resets, garbled responses.
            raise SendGridUnavailable(f"sendgrid unreachable: {type(exc).__name__}") from None
        message_id = response.headers.get("X-Message-Id")
        return str(message_id) if message_id else ""


def mail_body(message: OutboundMessage) -> dict[str, Any]:
    """The v3 mail/send JSON for one message."""
    sender: dict[str, str] = {"email": message.from_address}
    if message.from_name:
        sender["name"] = message.from_name
    # SendGrid requires text/plain before text/html.
    content = [{"type": "text/plain", "value": message.text}]
    if message.html:
        content.append({"type": "text/html", "value": message.html})
    body: dict[str, Any] = {
        "personalizations": [{"to": [{"email": message.to}]}],
        "from": sender,
        "subject": message.subject or "",
        "content": content,
        # Only identifiers: these come back in every Event Webhook post.
        "custom_args": {"blanco_touch": message.key, "blanco_lead": message.lead_id},
    }
    if message.reply_to:
        body["reply_to"] = {"email": message.reply_to}
    headers = threading_headers(message.in_reply_to, message.references)
    if message.unsubscribe_url:
        headers["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"  # RFC 8058
    if headers:
        body["headers"] = headers
    return body


def threading_headers(in_reply_to: str | None, references: tuple[str, ...]) -> dict[str, str]:
    """`In-Reply-To` and `References` (RFC 5322 §3.6.4) for an answer to the customer's mail.

    The ids come from the customer's mail client: one that is not a well-formed msg-id is left
    out (a line break in it would be a header injection, and SendGrid refuses the whole mail
    with a 400, which would block the customer's e-mail). References ends with the message
    answered, as the RFC asks, and repeats no id."""
    parent = msg_id(in_reply_to)
    chain = list(dict.fromkeys(i for i in map(msg_id, references) if i))
    if parent:
        chain = [i for i in chain if i != parent] + [parent]
    if len(chain) > REFERENCES_KEPT:
        chain = chain[:1] + chain[-(REFERENCES_KEPT - 1) :]
    headers = {"In-Reply-To": parent} if parent else {}
    if chain:
        headers["References"] = " ".join(chain)
    return headers


def msg_id(value: str | None) -> str | None:
    """One msg-id as a header carries it, `<...>`; None for anything else. Surrounding blanks
    and missing angle brackets (a platform that strips them) are forgiven."""
    text = (value or "").strip()
    if text and not text.startswith("<"):
        text = f"<{text}>"
    return text if _MSG_ID.fullmatch(text) else None


def _classify(exc: HTTPError) -> Exception:
    status = int(exc.status_code)
    if status in (400, 403):
        detail = _first_error(exc.body)
        return PermanentDeliveryError(
            f"sendgrid {status}: {detail}" if detail else f"sendgrid {status}"
        )
    if status == 429 or status >= 500:
        return SendGridUnavailable(f"sendgrid {status}")
    # 401 (bad key) and anything else 4xx (404, 413, 415): our request or account, not the
    # customer's address.
    return ProviderRejected(f"sendgrid {status}")


def _first_error(body: bytes | str | None) -> str:
    """The first error message of a SendGrid error body, scrubbed and cut short."""
    try:
        errors = json.loads(body or b"")["errors"]
        text = str(errors[0]["message"])
    except (ValueError, KeyError, IndexError, TypeError):
        return ""
    text = _NUMBER.sub("<number>", _ADDRESS.sub("<address>", text))
    return text if len(text) <= REASON_LIMIT else text[: REASON_LIMIT - 1] + "…"
