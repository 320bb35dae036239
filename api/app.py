"""The FastAPI application: routers per audience (dealer platforms, providers, customers,
salespeople), JSON errors, and one Temporal client shared by all requests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from temporalio.client import Client

from api import errors, intake, openapi, salespeople, unsubscribe
from api import inbound as inbound_routes
from api.deps import InboundSecrets
from api.engine import Engine
from client import connect
from leads.config import Config
from leads.models import Lead


def create_app(
    config: Config, client: Client | None = None, secrets: InboundSecrets | None = None
) -> FastAPI:
    """`client`: a connected Temporal client (tests); without one the app connects lazily at
    start-up, so it serves (503 for Temporal work) while Temporal is still coming up."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if client is None:
            app.state.engine = Engine(await connect(lazy=True), config)
        yield

    app = FastAPI(
        title="Blanco",
        version="1",
        description="Lead intake, inbound replies and events, and the salesperson API.",
        lifespan=lifespan,
    )
    app.state.config = config
    app.state.secrets = secrets or InboundSecrets.from_env()
    if client is not None:
        app.state.engine = Engine(client, config)
    errors.install(app)
    app.include_router(intake.router)
    app.include_router(inbound_routes.router)
    app.include_router(unsubscribe.router)
    app.include_router(salespeople.router)

    @app.get("/healthz", tags=["operators"], summary="Liveness")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    openapi.install(app, [Lead, intake.ChatReply])
    return app
