"""Answers in a platform's chat: a signed JSON POST to the lead's `reply_url`.

Signed the Standard Webhooks way with the dealer's webhook secret, the same scheme the platform
uses towards us. `webhook-id` is the touch key, so a platform that deduplicates on it ignores
our retries of the same touch.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from math import floor

import httpx
from standardwebhooks import Webhook

from providers.base import OutboundMessage, PermanentDeliveryError, ProviderRejected


class ChatUnavailable(Exception):
    """Transient: the platform throttled, failed or could not be reached. Temporal retries."""


class PlatformChat:
    def __init__(self, secret: str, timeout: float = 10.0) -> None:
        self._webhook = Webhook(secret)
        self._timeout = timeout

    def send(self, message: OutboundMessage) -> str:
        msg_id = message.key
        payload = json.dumps(
            {"lead_id": message.lead_id, "touch": message.touch, "text": message.text},
            ensure_ascii=False,
            separators=(",", ":"),
        )
        now = datetime.now(UTC)
        headers = {
            "content-type": "application/json",
            "webhook-id": msg_id,
            # The signature covers this whole-second timestamp; `sign` floors it the same way.
            "webhook-timestamp": str(floor(now.timestamp())),
            "webhook-signature": self._webhook.sign(msg_id, now, payload),
        }
        try:
            response = httpx.post(
                message.to,
                content=payload.encode("utf-8"),
                headers=headers,
                timeout=self._timeout,
            )
        except (httpx.InvalidURL, httpx.UnsupportedProtocol):
            # A reply_url we can never post to: this conversation cannot be answered.
            raise PermanentDeliveryError("chat reply_url unusable") from None
        except httpx.TransportError as exc:
            # Timeouts, refused connections, protocol errors; the text would name the URL.
            raise ChatUnavailable(f"chat unreachable: {type(exc).__name__}") from None
        status = response.status_code
        if 200 <= status < 300:
            return msg_id
        if status == 429 or status >= 500:
            raise ChatUnavailable(f"chat {status}")
        if status in (404, 410):
            raise PermanentDeliveryError("chat conversation gone")
        # 401/403 (our signature or secret), 400/422 (our payload), redirects we do not follow.
        raise ProviderRejected(f"chat {status}")
