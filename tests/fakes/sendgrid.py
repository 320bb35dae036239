"""SendGrid's v3 mail/send endpoint, as far as Blanco uses it.

Answers 202 with an `X-Message-Id` header, like SendGrid; with an `api_key` it also checks the
Bearer token and answers 401 the way SendGrid does, and it refuses custom headers SendGrid
refuses (reserved names, values that are not one line of text) with its 400. `sent` reads each
accepted mail as a recipient would see its envelope and headers. `fail_next` scripts
SendGrid-style errors.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from tests.fakes.server import FakeServer, RecordedRequest, Reply

MAIL_SEND = "/v3/mail/send"

# What SendGrid answers for each status, in its error format.
ERRORS: dict[int, tuple[str, str | None]] = {
    400: ("Does not contain a valid address.", "personalizations.0.to.0.email"),
    401: ("The provided authorization grant is invalid, expired, or revoked", None),
    403: ("The from address does not match a verified Sender Identity.", "from"),
    413: ("Payload Too Large", None),
    429: ("too many requests", None),
    500: ("internal server error", None),
    503: ("service unavailable", None),
}


# Headers SendGrid sets itself: a mail that names one in `headers` is refused.
RESERVED_HEADERS = frozenset(
    {
        "x-sg-id", "x-sg-eid", "received", "dkim-signature", "content-type",
        "content-transfer-encoding", "to", "from", "subject", "reply-to", "cc", "bcc",
    }
)  # fmt: skip


@dataclass(frozen=True)
class SentMail:
    """One accepted mail/send request, read the way the recipient's side sees it."""

    sender: str  # the From address
    sender_name: str | None
    to: list[str]
    subject: str
    text: str | None  # the text/plain part
    html: str | None
    reply_to: str | None
    headers: dict[str, str]  # the custom headers (In-Reply-To, References, List-Unsubscribe)
    custom_args: dict[str, str]

    @property
    def key(self) -> str | None:
        """The message key Blanco gave it, which the Event Webhook brings back."""
        return self.custom_args.get("blanco_touch")

    @classmethod
    def of(cls, document: dict[str, Any]) -> SentMail:
        content = {part["type"]: part["value"] for part in document.get("content", [])}
        return cls(
            sender=document["from"]["email"],
            sender_name=document["from"].get("name"),
            to=[t["email"] for p in document["personalizations"] for t in p["to"]],
            subject=document.get("subject", ""),
            text=content.get("text/plain"),
            html=content.get("text/html"),
            reply_to=(document.get("reply_to") or {}).get("email"),
            headers=dict(document.get("headers") or {}),
            custom_args=dict(document.get("custom_args") or {}),
        )


def header_problem(headers: Any) -> str | None:
    """Why SendGrid would refuse these custom headers, or None."""
    if not isinstance(headers, dict):
        return "headers must be an object"
    for name, value in headers.items():
        if name.lower() in RESERVED_HEADERS:
            return f"{name} is a reserved header"
        if not isinstance(value, str) or "\r" in value or "\n" in value:
            return f"the value of {name} must be a string on one line"
    return None


def error_reply(status: int, message: str | None = None, field: str | None = None) -> Reply:
    default_message, default_field = ERRORS.get(status, ("error", None))
    error = {"message": message or default_message, "field": field or default_field, "help": None}
    return Reply.json(status, {"errors": [error]})


class FakeSendGrid(FakeServer):
    def __init__(self, api_key: str | None = None) -> None:
        super().__init__()
        self.api_key = api_key
        self._ids = itertools.count(1)

    @property
    def host(self) -> str:
        """What `SendGridAPIClient(host=...)` takes (SENDGRID_API_HOST)."""
        return self.url

    @property
    def mails(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == "POST" and r.path == MAIL_SEND]

    @property
    def sent(self) -> list[SentMail]:
        """The mails SendGrid accepted (202), oldest first."""
        return [
            SentMail.of(r.json)
            for r, status in self.answered
            if status == 202 and r.method == "POST" and r.path == MAIL_SEND
        ]

    def wait_for_sent(self, n: int, timeout: float = 5.0) -> list[SentMail]:
        """Wait until at least n mails were accepted; fail after the deadline. It blocks: from
        a test whose worker runs on its event loop, `await asyncio.to_thread(...)` it."""
        self.wait_until(lambda: len(self.sent) >= n, timeout, f"{n} mails accepted")
        return self.sent

    def fail_next(
        self, status: int, n: int = 1, message: str | None = None, field: str | None = None
    ) -> None:
        """Answer the next n requests with this status and a SendGrid error body."""
        self.script(*[error_reply(status, message, field)] * n)

    def answer(self, request: RecordedRequest) -> Reply:
        if request.method != "POST" or request.path != MAIL_SEND:
            return error_reply(404, "not found")
        if self.api_key is not None and request.header("authorization") != f"Bearer {self.api_key}":
            return error_reply(401)
        problem = header_problem((request.json or {}).get("headers", {}))
        if problem:
            return error_reply(400, problem, "headers")
        return Reply(202, headers={"X-Message-Id": f"fake-sg-{next(self._ids):06d}"})
