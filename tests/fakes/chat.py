"""A lead platform's chat endpoint: the `reply_url` that platform chat answers into.

Records every post and answers 200 unless told otherwise with `fail_next` (any status).
"""

from __future__ import annotations

from tests.fakes.server import FakeServer, RecordedRequest, Reply


class FakeChat(FakeServer):
    def reply_url(self, conversation: str = "conv-1") -> str:
        """A conversation's reply_url on this platform."""
        return f"{self.url}/conversations/{conversation}/messages"

    @property
    def posts(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == "POST"]

    def fail_next(self, status: int, n: int = 1) -> None:
        self.script(*[Reply.json(status, {"error": f"status {status}"})] * n)

    def answer(self, request: RecordedRequest) -> Reply:
        return Reply.json(200, {"ok": True})
