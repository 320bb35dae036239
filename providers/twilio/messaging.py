"""SMS and WhatsApp through Twilio's Messages API, with the official `twilio` client.

The status callback carries only the touch key, so delivery reports map back to the touch
without a lookup and without personal data in URLs. Outside WhatsApp's 24-hour window only an
approved template may be sent: then the message goes out as `ContentSid` + `ContentVariables`.

Errors are classified for the send activity (see base.py). Twilio's error messages quote the
number they refuse, so exceptions carry only the status and the error code.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from twilio.base.exceptions import TwilioException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from leads.models import Channel
from providers.base import OutboundMessage, PermanentDeliveryError, ProviderRejected
from providers.twilio.errors import Verdict, twilio_verdict

WHATSAPP = "whatsapp:"


class TwilioUnavailable(Exception):
    """Transient: Twilio throttled, failed or could not be reached. Temporal retries."""


class TwilioMessaging:
    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        base_url: str | None = None,
        status_callback_base: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self._client = Client(
            account_sid, auth_token, http_client=TwilioHttpClient(timeout=timeout)
        )
        if base_url:
            # Points the Api domain (and so Messages) at another host: the local fake.
            self._client.api.base_url = base_url.rstrip("/")
        self._status_callback_base = (
            status_callback_base.rstrip("/") if status_callback_base else None
        )

    def send(self, message: OutboundMessage) -> str:
        try:
            sent = self._client.messages.create(**self.create_args(message))
        except TwilioException as exc:
            raise _classify(exc) from None  # `from None`: Twilio's message quotes the number
        except OSError as exc:
            # requests' Timeout and ConnectionError are OSErrors; their text is only the URL.
            raise TwilioUnavailable(f"twilio unreachable: {type(exc).__name__}") from None
        return str(sent.sid)

    def create_args(self, message: OutboundMessage) -> dict[str, Any]:
        """Keyword arguments of `messages.create` for one message."""
        if message.channel is Channel.WHATSAPP:
            to, sender = _whatsapp(message.to), _whatsapp(message.from_address)
        elif message.channel is Channel.SMS:
            to, sender = message.to, message.from_address
        else:
            raise ValueError(f"twilio does not send {message.channel.value}")
        args: dict[str, Any] = {"to": to, "from_": sender}
        if message.channel is Channel.WHATSAPP and message.whatsapp_content_sid:
            args["content_sid"] = message.whatsapp_content_sid
            if message.whatsapp_content_variables is not None:
                args["content_variables"] = json.dumps(message.whatsapp_content_variables)
        else:
            args["body"] = message.text
        if self._status_callback_base:
            args["status_callback"] = (
                f"{self._status_callback_base}/v1/inbound/twilio/status"
                f"?touch={quote(message.key, safe='')}"
            )
        return args


def _whatsapp(address: str) -> str:
    return address if address.startswith(WHATSAPP) else WHATSAPP + address


def _classify(exc: TwilioException) -> Exception:
    # TwilioRestException and the RFC 9457 TwilioServiceException both carry these; without an
    # error body the library puts the HTTP status in `code`.
    status = getattr(exc, "status", None)
    code = getattr(exc, "code", None)
    label = f"twilio {code}" if code is not None else "twilio error"
    if not isinstance(status, int):
        return ProviderRejected("twilio client error")  # raised before any request: our setup
    verdict = twilio_verdict(code if isinstance(code, int) else None)
    if verdict is Verdict.ADDRESS:
        return PermanentDeliveryError(f"twilio {code}")
    if verdict is Verdict.OURS or status in (401, 403):
        return ProviderRejected(label)
    if verdict is Verdict.TEMPORARY or status == 429 or status >= 500:
        return TwilioUnavailable(f"twilio {status}")
    # Other 4xx are our request or configuration (63007 ...): the customer's address may be
    # fine, so the channel is kept.
    return ProviderRejected(label)
