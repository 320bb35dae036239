"""SendGrid's v3 mail/send endpoint, as far as Blanco uses it.

Answers 202 with an `X-Message-Id` header, like SendGrid; with an `api_key` it also checks the
Bearer token and answers 401 the way SendGrid does. `fail_next` scripts SendGrid-style errors.
"""

from __future__ import annotations

import itertools

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
        return Reply(202, headers={"X-Message-Id": f"fake-sg-{next(self._ids):06d}"})
