"""One access line per request, and the request's context bound for every line it logs.

Bound: `route` (the route's template, never the path: paths carry tokens — unsubscribe links,
the Temporal UI's codec endpoint), `method`, and `lead_id`, `task_id`, `dealer` when the route
names a lead, a task or a dealer that exists in the configuration (a path is a stranger's
input: nothing else of it is logged). The access line adds `status` and `duration_ms`.
uvicorn's own access log stays off.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable

import structlog
from fastapi import FastAPI
from starlette.routing import Route, compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from leads.identity import lead_dealer, task_lead

log = structlog.get_logger("api.access")

QUIET_ROUTES = frozenset({"/healthz", "/metrics"})  # probes and scrapes: DEBUG, not INFO
UNMATCHED = "(unmatched)"


def route_templates(app: FastAPI) -> list[str]:
    """Every route's template: the documented ones (the OpenAPI paths, wherever a router put
    them) and the app's own undocumented routes (the docs pages)."""
    documented = list(app.openapi().get("paths", {}))
    return documented + [route.path for route in app.routes if isinstance(route, Route)]


class AccessLog:
    def __init__(
        self, app: ASGIApp, templates: Callable[[], list[str]], dealer_ids: Iterable[str]
    ) -> None:
        self.app = app
        self._templates = templates  # asked at the first request, once every route exists
        self._patterns: list[tuple[re.Pattern[str], str]] | None = None
        self._dealer_ids = tuple(dealer_ids)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route, params = self.match(scope["path"])
        status = 500  # unless the app answers: an exception that escaped everything

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        started = time.perf_counter()
        context = {"route": route, "method": scope["method"], **self.ids(params)}
        with structlog.contextvars.bound_contextvars(**context):
            try:
                await self.app(scope, receive, send_and_note)
            finally:
                level = logging.DEBUG if route in QUIET_ROUTES else logging.INFO
                duration = round((time.perf_counter() - started) * 1000, 1)
                log.log(level, "request", status=status, duration_ms=duration)

    def match(self, path: str) -> tuple[str, dict[str, str]]:
        """The template of the route `path` goes to, and its path parameters."""
        if self._patterns is None:
            self._patterns = [(compile_path(t)[0], t) for t in dict.fromkeys(self._templates())]
        for pattern, template in self._patterns:
            found = pattern.match(path)
            if found:
                return template, found.groupdict()
        return UNMATCHED, {}

    def ids(self, params: dict[str, str]) -> dict[str, str]:
        """lead_id, task_id and dealer from the path, only when they are well formed and name
        a configured dealer."""
        found: dict[str, str] = {}
        dealer = params.get("dealer_id")
        if dealer in self._dealer_ids:
            found["dealer"] = dealer
        task = params.get("task_id")
        lead = task_lead(task) if task else params.get("lead_id")
        owner = lead_dealer(lead, self._dealer_ids) if lead else None
        if lead and owner:
            found.update(lead_id=lead, dealer=owner)
            if task:
                found["task_id"] = task
        return found
