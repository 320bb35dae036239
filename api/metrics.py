"""The API's Prometheus metrics (`GET /metrics`): every request by route template, method and
status, and the business counters only the API knows (leads accepted, duplicates).

Labels never carry what a request holds: the route is the template (`/v1/leads/{lead_id}`),
never the path (paths carry lead ids and unsubscribe tokens); dealers are configured ids;
intakes and kinds are fixed sets. One registry per app, so several apps in one process (the
tests) never collide, and nothing else in the process adds to it by accident.
"""

from __future__ import annotations

import time

from fastapi import FastAPI, Response
from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from leads.models import IntakeResult, LeadKind

# No `*_created` series next to every counter and histogram: they double the series and
# nothing here reads them. (Process-wide, and this process has no other registry.)
disable_created_metrics()  # type: ignore[no-untyped-call]

UNMATCHED = "unmatched"  # the route label of a request no route handled (an unknown path)
PREFLIGHT = "cors_preflight"  # a CORS preflight, answered before routing
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER_METHOD = "other"

# The `intake` label: how a lead came in. A platform's JSON or ADF delivery, or a customer's
# SMS, WhatsApp or e-mail that no running conversation took (it starts a lead of its own).
JSON = "json"
ADF = "adf"


class ApiMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        # The process's CPU, memory, file descriptors and garbage collections, as usual.
        for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
            self.registry.register(collector)
        http = ["route", "method", "status"]
        self.requests = Counter(
            "blanco_http_requests",
            "HTTP requests answered, by route template, method and status.",
            http,
            registry=self.registry,
        )
        self.latency = Histogram(
            "blanco_http_request_duration_seconds",
            "Time from a request's arrival to the end of its answer, in seconds.",
            http,
            registry=self.registry,
        )
        lead = ["dealer", "intake", "kind"]
        self.accepted = Counter(
            "blanco_leads_accepted",
            "Leads the API accepted (202, or a customer's message that became a lead), "
            "duplicates included.",
            lead,
            registry=self.registry,
        )
        self.duplicates = Counter(
            "blanco_lead_duplicates",
            "Accepted leads that joined the customer's existing conversation.",
            lead,
            registry=self.registry,
        )

    def request(self, route: str, method: str, status: int, seconds: float) -> None:
        method = method if method in METHODS else OTHER_METHOD
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route, method, str(status)).observe(seconds)

    def lead_accepted(
        self, dealer_id: str, intake: str, kind: LeadKind, result: IntakeResult
    ) -> None:
        labels = (dealer_id, intake, kind.value)
        self.accepted.labels(*labels).inc()
        if result.duplicate:
            self.duplicates.labels(*labels).inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def route_label(scope: Scope) -> str:
    """The template of the route that handled the request (set by the router on the scope)."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    headers = dict(scope.get("headers") or ())
    if scope.get("method") == "OPTIONS" and b"access-control-request-method" in headers:
        return PREFLIGHT
    return UNMATCHED


class RequestMetrics:
    """ASGI middleware, outermost: counts and times every request, error answers included."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # unless an answer starts: the server answers 500 to an exception

        async def send_seeing_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_seeing_status)
        finally:
            elapsed = time.perf_counter() - started
            self.metrics.request(route_label(scope), scope["method"], status, elapsed)


def install(app: FastAPI) -> ApiMetrics:
    """Count every request (install after the other middleware, so this one is outermost) and
    serve `GET /metrics`, itself counted like any route."""
    metrics = ApiMetrics()
    app.state.metrics = metrics
    app.add_middleware(RequestMetrics, metrics=metrics)

    @app.get(
        "/metrics",
        tags=["operators"],
        summary="Prometheus metrics",
        response_class=Response,
        responses={
            200: {
                "content": {"text/plain": {"schema": {"type": "string"}}},
                "description": "the Prometheus text format (0.0.4)",
            }
        },
    )
    async def prometheus_metrics() -> Response:
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_PLAIN_0_0_4)

    return metrics
