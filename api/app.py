"""The FastAPI application: routers per audience (dealer platforms, providers, customers,
salespeople), JSON errors, and one Temporal client shared by all requests."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi_offline import FastAPIOffline
from temporalio.client import Client

from api import (
    codec_routes,
    errors,
    inbox,
    intake,
    metrics,
    openapi,
    reports,
    salespeople,
    unsubscribe,
)
from api import inbound as inbound_routes
from api.access_log import AccessLog, route_templates
from api.deps import InboundSecrets
from api.temporal_calls import Engine
from client import connect
from codec import EncryptionCodec, Keyring
from leads.config import Config
from leads.models import Lead, LogCall, RecordOutcome
from results.store import ResultsStore


def create_app(
    config: Config,
    client: Client | None = None,
    secrets: InboundSecrets | None = None,
    keys: Keyring | None = None,
    operator_token: str | None = None,
    results: ResultsStore | None = None,
) -> FastAPI:
    """`client`: a connected Temporal client (tests); without one the app connects lazily at
    start-up, so it serves (503 for Temporal work) while Temporal is still coming up. `keys`:
    the payload keys (default: the environment's, see codec.py). `results`: the results store
    the reports read (default: `BLANCO_RESULTS_URL`)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if client is None:
            app.state.engine = Engine(await connect(lazy=True, keys=keys), config)
        yield

    # /docs from the package's own copy of Swagger UI instead of a CDN: the docs work on a
    # machine without internet. No /redoc: ReDoc's side menu loads Redocly's logo from a CDN.
    app = FastAPIOffline(
        redoc_url=None,
        title="Blanco",
        version="1",
        description=(
            "Lead intake, inbound replies and events, the salesperson API and the "
            "managers' reports."
        ),
        lifespan=lifespan,
    )
    app.state.config = config
    app.state.secrets = secrets or InboundSecrets.from_env()
    app.state.results = results or ResultsStore.from_env()
    app.state.codec = EncryptionCodec(keys or Keyring.from_env())
    app.state.operator_token = (
        os.environ.get("BLANCO_OPERATOR_TOKEN") if operator_token is None else operator_token
    )
    # The Temporal UI calls the codec endpoint from the operator's browser.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=[config.api.ui_origin],
        allow_methods=["POST", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", "X-Namespace"],
        allow_credentials=True,
    )
    if client is not None:
        app.state.engine = Engine(client, config)
    errors.install(app)
    metrics.install(app)  # after the other middleware: it times and counts all of it
    # Outermost (added last): one line per request, its context bound for the lines inside.
    app.add_middleware(
        AccessLog,
        templates=lambda: route_templates(app) + inbox.route_templates(),
        dealer_ids=config.dealer_ids,
    )
    app.include_router(intake.router)
    app.include_router(inbound_routes.router)
    app.include_router(unsubscribe.router)
    app.include_router(salespeople.router)
    app.include_router(reports.router)
    app.include_router(codec_routes.router)
    app.mount(inbox.STATIC_PATH, inbox.static_files(), name="inbox-static")
    app.include_router(inbox.router)

    @app.get("/healthz", tags=["operators"], summary="Liveness")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    openapi.install(app, [Lead, intake.ChatReply, RecordOutcome, LogCall, salespeople.NewMessage])
    return app
