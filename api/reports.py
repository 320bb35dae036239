"""The managers' reports (docs/reports.md): `GET /v1/reports/funnel` (JSON, or CSV with
`Accept: text/csv`) and `GET /v1/reports/speed`, on the results store.

A manager's Bearer token (the salesperson API's), only the caller's dealer's rows. The query
holds dates and field names, nothing about a customer; anything the reports cannot answer is
a 422 `invalid_query` naming the parameter, and a store that cannot be read is a 503
`results_unavailable`, never a 500. The store is synchronous (SQLAlchemy): each report runs in
a thread so a slow database never stalls the event loop that serves everything else."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo

import structlog
from fastapi import APIRouter, Header, Query, Response

from api.deps import ResultsDep, read_results
from api.errors import ApiError
from api.openapi import ERRORS
from api.salespeople import ManagerDep
from results.reports import (
    DEFAULT_BY,
    DEFAULT_DAYS,
    GROUPINGS,
    LONGEST_DAYS,
    Funnel,
    check_grouping,
    funnel,
    funnel_csv,
)
from results.speed import Speed, speed

router = APIRouter(prefix="/v1/reports", tags=["reports"], responses=ERRORS)
log = structlog.get_logger("api")

T = TypeVar("T")
LONGEST_VALUE = 40  # a datetime with its offset, or "contact_quality,salesperson"
CSV = "text/csv"
# In a query string an unencoded `+` arrives as a space: "…T10:00:00 01:00" meant +01:00.
SPACED_OFFSET = re.compile(r"(T[0-9:.]+) ([0-9]{2}(:?[0-9]{2})?)$")

FromParam = Annotated[
    str | None,
    Query(
        alias="from",
        description="first day (YYYY-MM-DD, the dealer's local day) or instant (ISO 8601; "
        "without an offset: the dealer's local time); default: 30 days before `to`",
    ),
]
ToParam = Annotated[
    str | None,
    Query(
        alias="to",
        description="last day, included (YYYY-MM-DD), or the instant the period ends before "
        "(ISO 8601); default: the end of today",
    ),
]
ByParam = Annotated[
    list[str] | None,
    Query(
        description=f"one or two of {', '.join(GROUPINGS)}: comma-separated or repeated; "
        f"default: {DEFAULT_BY}",
    ),
]
AcceptHeader = Annotated[str | None, Header(description="`text/csv` for the CSV; JSON otherwise")]


def invalid(message: str) -> ApiError:
    return ApiError(422, "invalid_query", message)


@dataclass(frozen=True)
class Period:
    start: datetime  # aware, in the dealer's zone; the period is [start, end)
    end: datetime


def _raw(value: str | None, name: str) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not value:
        raise invalid(f"{name}: empty; give a date (YYYY-MM-DD) or an ISO 8601 time")
    if len(value) > LONGEST_VALUE:
        raise invalid(f"{name}: longer than {LONGEST_VALUE} characters")
    return value


def _bound(raw: str, name: str, zone: ZoneInfo) -> datetime:
    """A date is the dealer's local day: `from` its first moment, `to` the first moment of
    the day after (the last day is included). A time without an offset is local."""
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        pass
    else:
        day = day + timedelta(days=1) if name == "to" else day
        return datetime.combine(day, time(), zone)
    try:
        at = datetime.fromisoformat(SPACED_OFFSET.sub(r"\1+\2", raw))
    except ValueError:
        raise invalid(f"{name}: not a date (YYYY-MM-DD) or an ISO 8601 time") from None
    return at.replace(tzinfo=zone) if at.tzinfo is None else at.astimezone(zone)


def period(start: str | None, end: str | None, timezone: str, now: datetime) -> Period:
    """[from, to) in the dealer's zone; by default the last 30 local days, today included
    (as the results page)."""
    try:
        return _period(_raw(start, "from"), _raw(end, "to"), ZoneInfo(timezone), now)
    except OverflowError:  # year 1 or 9999 and a day's or an offset's arithmetic
        raise invalid("from, to: a time out of range") from None


def _period(first: str | None, last: str | None, zone: ZoneInfo, now: datetime) -> Period:
    if last is None:
        tomorrow = now.astimezone(zone).date() + timedelta(days=1)
        upper = datetime.combine(tomorrow, time(), zone)
    else:
        upper = _bound(last, "to", zone)
    # Local wall-clock arithmetic: 30 days back is the same local hour across DST.
    lower = upper - timedelta(days=DEFAULT_DAYS) if first is None else _bound(first, "from", zone)
    lower, upper = _normal(lower, zone), _normal(upper, zone)
    if lower >= upper:
        raise invalid("from: must come before to")
    if upper - lower > timedelta(days=LONGEST_DAYS):
        raise invalid(f"to: at most {LONGEST_DAYS} days after from")
    return Period(lower, upper)


def _normal(at: datetime, zone: ZoneInfo) -> datetime:
    """The same instant with the zone's offset at that instant (after arithmetic on a local
    time, or a local time that does not exist)."""
    return at.astimezone(UTC).astimezone(zone)


def grouping(by: list[str] | None) -> list[str]:
    if not by:
        return [DEFAULT_BY]
    names = [name.strip() for item in by for name in item.split(",")]
    if any(len(name) > LONGEST_VALUE for name in names):
        raise invalid(f"by: longer than {LONGEST_VALUE} characters")
    if "" in names:
        raise invalid(f"by: empty grouping; use one or two of {', '.join(GROUPINGS)}")
    try:
        return check_grouping(names)
    except ValueError as error:
        raise invalid(f"by: {error}") from None


def wants_csv(accept: str | None) -> bool:
    """Whether `Accept` prefers CSV over JSON (q-values honoured; a tie or no preference
    is JSON, the default)."""
    quality = {"json": 0.0, "csv": 0.0}
    for part in (accept or "").split(","):
        media, *params = (piece.strip() for piece in part.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        media = media.lower()
        if media == CSV:
            quality["csv"] = max(quality["csv"], q)
        elif media in ("application/json", "application/*", "*/*"):
            quality["json"] = max(quality["json"], q)
    return quality["csv"] > 0 and quality["csv"] > quality["json"]


FUNNEL_CONTENT: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the funnel: JSON, or CSV (one row per group, then the total)",
        "content": {CSV: {"schema": {"type": "string"}}},
    }
}


@router.get(
    "/funnel",
    response_model=Funnel,
    response_model_by_alias=True,
    responses=FUNNEL_CONTENT,
    summary="The funnel per group, with 95% Wilson intervals (managers)",
)
async def get_funnel(
    who: ManagerDep,
    store: ResultsDep,
    start: FromParam = None,
    end: ToParam = None,
    by: ByParam = None,
    accept: AcceptHeader = None,
) -> Any:
    names = grouping(by)
    wanted = period(start, end, who.dealer.timezone, datetime.now(UTC))
    found = await read_results(funnel, store, who.dealer.id, wanted.start, wanted.end, names)
    if not wants_csv(accept):
        return found
    filename = f"funnel-{wanted.start.date()}-{wanted.end.date()}-{'-'.join(names)}.csv"
    return Response(
        funnel_csv(found),
        media_type=f"{CSV}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get(
    "/speed",
    response_model=Speed,
    response_model_by_alias=True,
    summary="First automated answer, and each salesperson's reply → claim and reply → "
    "first message: p50 / p90 in seconds; tasks reminded and escalated (managers)",
)
async def get_speed(
    who: ManagerDep, store: ResultsDep, start: FromParam = None, end: ToParam = None
) -> Speed:
    wanted = period(start, end, who.dealer.timezone, datetime.now(UTC))
    return await read_results(speed, store, who.dealer.id, wanted.start, wanted.end)
