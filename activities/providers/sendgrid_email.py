"""E-mail through SendGrid's v3 mail/send API, with the official `sendgrid` client.

The request carries the touch key in `custom_args`, so the Event Webhook's bounces and
unsubscribes map back to the touch, and RFC 8058 one-click unsubscribe headers. Nothing that
identifies the customer goes anywhere but the recipient and the content.

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

from activities.providers.base import OutboundMessage, PermanentDeliveryError, ProviderRejected

DEFAULT_HOST = "https://api.sendgrid.com"
REASON_LIMIT = 120  # DeliveryFailed.reason holds 200 characters
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
    if message.unsubscribe_url:
        body["headers"] = {
            "List-Unsubscribe": f"<{message.unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",  # RFC 8058
        }
    return body


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
