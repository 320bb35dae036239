"""Twilio's Messages API (2010-04-01), as far as Blanco uses it.

Checks HTTP basic auth against the account SID and auth token (401 with error 20003 otherwise,
as Twilio does) and answers 201 with a Message resource the `twilio` library parses.
`sent` reads each accepted message; `fail_next` and `error_next` script Twilio-style errors.
"""

from __future__ import annotations

import base64
import itertools
import re
from dataclasses import dataclass
from email.utils import formatdate
from urllib.parse import parse_qs, urlsplit

from tests.fakes.server import FakeServer, RecordedRequest, Reply

MESSAGES = re.compile(r"^/2010-04-01/Accounts/(?P<sid>AC\w+)/Messages\.json$")

# The error codes Twilio answers for plain HTTP trouble.
STATUS_CODES: dict[int, tuple[int, str]] = {
    401: (20003, "Authenticate"),
    404: (20404, "The requested resource was not found"),
    429: (20429, "Too Many Requests"),
    500: (20500, "Internal Server Error"),
    503: (20503, "Service Unavailable"),
}


@dataclass(frozen=True)
class SentText:
    """One message Twilio accepted (201), as its form said it."""

    to: str  # whatsapp:+… for WhatsApp
    sender: str  # the From: the dealer's number or WhatsApp sender
    body: str | None
    content_sid: str | None  # an approved WhatsApp template instead of a body
    status_callback: str | None

    @property
    def key(self) -> str | None:
        """The message key the status callback carries back (`?touch=`)."""
        if not self.status_callback:
            return None
        return parse_qs(urlsplit(self.status_callback).query).get("touch", [None])[0]

    @classmethod
    def of(cls, request: RecordedRequest) -> SentText:
        return cls(
            to=request.field("To") or "",
            sender=request.field("From") or "",
            body=request.field("Body"),
            content_sid=request.field("ContentSid"),
            status_callback=request.field("StatusCallback"),
        )


def error_reply(code: int, status: int = 400, message: str | None = None) -> Reply:
    return Reply.json(
        status,
        {
            "code": code,
            "message": message or f"Error {code}",
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
    )


class FakeTwilio(FakeServer):
    def __init__(
        self,
        account_sid: str = "AC" + "0" * 32,
        auth_token: str = "fake-auth-token",
    ) -> None:
        super().__init__()
        self.account_sid = account_sid
        self.auth_token = auth_token
        self._ids = itertools.count(1)

    @property
    def base_url(self) -> str:
        """What TwilioMessaging(base_url=...) takes (TWILIO_API_BASE_URL)."""
        return self.url

    @property
    def messages(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == "POST" and MESSAGES.match(r.path)]

    @property
    def sent(self) -> list[SentText]:
        """The messages Twilio accepted, oldest first."""
        return [
            SentText.of(r)
            for r, status in self.answered
            if status == 201 and r.method == "POST" and MESSAGES.match(r.path)
        ]

    def wait_for_sent(self, n: int, timeout: float = 5.0) -> list[SentText]:
        """Wait until at least n messages were accepted; fail after the deadline. It blocks: from
        a test whose worker runs on its event loop, `await asyncio.to_thread(...)` it."""
        self.wait_until(lambda: len(self.sent) >= n, timeout, f"{n} messages accepted")
        return self.sent

    def fail_next(self, status: int, n: int = 1) -> None:
        """Answer the next n requests with this HTTP status and Twilio's error for it."""
        code, message = STATUS_CODES.get(status, (status, "Error"))
        self.script(*[error_reply(code, status, message)] * n)

    def error_next(
        self, code: int, status: int = 400, message: str | None = None, n: int = 1
    ) -> None:
        """Answer the next n requests with this Twilio error code."""
        self.script(*[error_reply(code, status, message)] * n)

    def answer(self, request: RecordedRequest) -> Reply:
        match = MESSAGES.match(request.path)
        if request.method != "POST" or match is None:
            return error_reply(20404, 404, STATUS_CODES[404][1])
        expected = (
            "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        )
        if match["sid"] != self.account_sid or request.header("authorization") != expected:
            return error_reply(20003, 401, "Authenticate")
        sid = f"SM{next(self._ids):032x}"
        now = formatdate(usegmt=True)  # Twilio's dates are RFC 2822
        return Reply.json(
            201,
            {
                "sid": sid,
                "account_sid": self.account_sid,
                "to": request.field("To"),
                "from": request.field("From"),
                "body": request.field("Body") or "",
                "status": "queued",
                "direction": "outbound-api",
                "api_version": "2010-04-01",
                "num_segments": "1",
                "num_media": "0",
                "price": None,
                "price_unit": "USD",
                "error_code": None,
                "error_message": None,
                "messaging_service_sid": None,
                "date_created": now,
                "date_updated": now,
                "date_sent": None,
                "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
                "subresource_uris": {
                    "media": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}/Media.json"
                },
            },
        )
