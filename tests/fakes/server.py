"""A small threaded HTTP server that records requests and answers from a script.

The provider fakes build on it: each decides its default answer (`answer`) and may be told to
answer the next requests differently (`script`), including not at all within the client's
timeout (`Reply.hang`). Every request is recorded, parsed as JSON or form when it is one.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

HANG_LIMIT = 30.0  # seconds a hanging answer waits at most, should stop() never come


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # names lower-cased
    body: bytes
    json: Any = None  # the parsed body when it was JSON
    form: dict[str, list[str]] | None = None  # the parsed body when it was form-encoded

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def field(self, name: str) -> str | None:
        """The single value of a form field."""
        values = (self.form or {}).get(name)
        return values[0] if values else None


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    hang: bool = False  # answer nothing until the server stops: the client must time out

    @classmethod
    def json(cls, status: int, document: Any, headers: Mapping[str, str] | None = None) -> Reply:
        return cls(
            status,
            json.dumps(document).encode(),
            {"Content-Type": "application/json", **(headers or {})},
        )


class FakeServer:
    """Listens on 127.0.0.1, on a free port, while started (`with fake:` or start/stop)."""

    def __init__(self) -> None:
        self._requests: list[RecordedRequest] = []
        self._statuses: dict[int, int] = {}  # request index → the status it was answered with
        self._script: deque[Reply] = deque()
        self._changed = threading.Condition()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- life cycle ---------------------------------------------------------------------------

    def start(self) -> Self:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        server.daemon_threads = True  # a hanging answer must not keep the test process alive
        self._server = server
        # A short poll interval: shutdown() waits up to one interval, at every test's end.
        self._thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # releases hanging answers
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "not started"
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- script and record --------------------------------------------------------------------

    def script(self, *replies: Reply) -> None:
        """Answer the next requests with these, in order, before the default answers again."""
        with self._changed:
            self._script.extend(replies)

    def hang_next(self, n: int = 1) -> None:
        self.script(*[Reply(0, hang=True)] * n)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._changed:
            return list(self._requests)

    @property
    def answered(self) -> list[tuple[RecordedRequest, int]]:
        """The requests answered so far, each with the HTTP status it got (not the hung ones)."""
        with self._changed:
            return [
                (r, self._statuses[i]) for i, r in enumerate(self._requests) if i in self._statuses
            ]

    def wait_for_requests(self, n: int, timeout: float = 5.0) -> list[RecordedRequest]:
        """Wait until at least n requests arrived; fail after the deadline."""
        self.wait_until(lambda: len(self._requests) >= n, timeout, f"{n} requests")
        return self.requests

    def wait_until(self, done: Callable[[], bool], timeout: float, what: str) -> None:
        """Wait until `done()` holds, re-checked at each request and answer; fail after the
        deadline naming `what`."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not done():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(self._requests)} requests; expected {what}")
                self._changed.wait(left)

    def answer(self, request: RecordedRequest) -> Reply:
        """The default answer; subclasses speak their provider's API."""
        return Reply(200)

    # --- used by the handler ------------------------------------------------------------------

    def _handle(self, request: RecordedRequest) -> Reply:
        with self._changed:
            index = len(self._requests)
            self._requests.append(request)
            self._changed.notify_all()
            scripted = self._script.popleft() if self._script else None
        reply = scripted if scripted is not None else self.answer(request)
        if not reply.hang:
            with self._changed:
                self._statuses[index] = reply.status
                self._changed.notify_all()
        return reply

    def _wait_for_stop(self) -> None:
        self._stopping.wait(HANG_LIMIT)


def _handler_for(fake: FakeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            reply = fake._handle(_record(self.command, self.path, dict(self.headers), body))
            if reply.hang:
                fake._wait_for_stop()
                self.close_connection = True
                return
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet test output

        def handle_one_request(self) -> None:
            try:
                super().handle_one_request()
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client gave up (timeout test): expected

    return Handler


def _record(method: str, target: str, headers: dict[str, str], body: bytes) -> RecordedRequest:
    parts = urlsplit(target)
    lowered = {name.lower(): value for name, value in headers.items()}
    content_type = lowered.get("content-type", "").split(";")[0].strip()
    parsed_json: Any = None
    form: dict[str, list[str]] | None = None
    if content_type == "application/json" and body:
        parsed_json = json.loads(body)
    elif content_type == "application/x-www-form-urlencoded":
        form = parse_qs(body.decode(), keep_blank_values=True)
    return RecordedRequest(
        method=method,
        path=parts.path,
        query=parse_qs(parts.query, keep_blank_values=True),
        headers=lowered,
        body=body,
        json=parsed_json,
        form=form,
    )
