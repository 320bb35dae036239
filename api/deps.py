"""What every route may ask for: the configuration, the engine (Temporal), the webhook
secrets from the environment, the dealer named in the URL, the app's metrics and the results
store."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import structlog
from fastapi import Depends, Path, Request
from sqlalchemy.exc import SQLAlchemyError

from api.errors import ApiError
from api.metrics import ApiMetrics
from api.temporal_calls import Engine
from leads.config import Config, Dealer
from results.store import ResultsStore

T = TypeVar("T")
log = structlog.get_logger("api")


@dataclass(frozen=True)
class InboundSecrets:
    """docs/operating.md "Environment": the providers' webhook credentials."""

    twilio_auth_token: str | None = None
    sendgrid_event_public_key: str | None = None
    sendgrid_parse_basic_auth: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> InboundSecrets:
        return cls(
            twilio_auth_token=env.get("TWILIO_AUTH_TOKEN") or None,
            sendgrid_event_public_key=env.get("SENDGRID_EVENT_PUBLIC_KEY") or None,
            sendgrid_parse_basic_auth=env.get("SENDGRID_PARSE_BASIC_AUTH") or None,
        )


def engine(request: Request) -> Engine:
    found: Engine = request.app.state.engine
    return found


def config(request: Request) -> Config:
    found: Config = request.app.state.config
    return found


def secrets(request: Request) -> InboundSecrets:
    found: InboundSecrets = request.app.state.secrets
    return found


def results(request: Request) -> ResultsStore:
    found: ResultsStore = request.app.state.results
    return found


async def read_results(report: Callable[..., T], *args: Any) -> T:
    """A read of the results store, in a thread (SQLAlchemy is synchronous: a slow database
    must not stall the event loop). A store that cannot be read is a 503
    `results_unavailable`, for the reports API and the results page alike, never a 500."""
    try:
        return await asyncio.to_thread(report, *args)
    except SQLAlchemyError as error:
        # The type only: a driver's message may carry the URL's host or user.
        log.warning("results_unavailable", error_type=type(error).__name__)
        raise ApiError(
            503, "results_unavailable", "the results store cannot be read; retry"
        ) from None


def metrics(request: Request) -> ApiMetrics:
    found: ApiMetrics = request.app.state.metrics
    return found


def dealer(
    dealer_id: Annotated[str, Path(max_length=64, description="the dealer's id")],
    settings: Annotated[Config, Depends(config)],
) -> Dealer:
    try:
        return settings.dealer(dealer_id)
    except KeyError:
        raise ApiError(404, "unknown_dealer", "no such dealer") from None


EngineDep = Annotated[Engine, Depends(engine)]
ConfigDep = Annotated[Config, Depends(config)]
SecretsDep = Annotated[InboundSecrets, Depends(secrets)]
DealerDep = Annotated[Dealer, Depends(dealer)]
MetricsDep = Annotated[ApiMetrics, Depends(metrics)]
ResultsDep = Annotated[ResultsStore, Depends(results)]
