"""The manager's results page (`/inbox/results`) and its CSV export (`/inbox/results.csv`):
the funnel of a period by a grouping, and the perception audit (rule 8, docs/architecture.md).

Managers only: a salesperson gets the inbox's refusal page (403), as in the reports API.
Only the signed-in dealer's rows are read. The query holds dates and field names, nothing
about a customer. A bad value re-renders the form with what to correct (422).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from typing import Any

from fastapi import APIRouter, Request, Response

from api.deps import ResultsDep, read_results
from api.inbox import csrf, forms, period
from api.inbox.rendering import InboxRoute, describe, page, protect, texts
from api.inbox.report_view import audit_view, funnel_view
from api.inbox.sessions import Session, SessionDep
from api.inbox.texts import Texts
from api.inbox.views import local
from api.salespeople import manager
from results.audit import Audit, audit
from results.reports import GROUPINGS, Funnel, funnel, funnel_csv
from results.store import ResultsStore

router = APIRouter(prefix="/inbox", route_class=InboxRoute, include_in_schema=False)

# The audit's three funnels; the page's own grouping reuses one when it is the same.
AUDIT_GROUPINGS = ("contact_quality", "kind", "source")


def day_text(day: date, t: Texts) -> str:
    """`3-11-2026` (nl) or `3/11/2026` (en): the order each locale reads dates in."""
    return (
        f"{day.day}-{day.month}-{day.year}"
        if t.locale == "nl"
        else f"{day.day}/{day.month}/{day.year}"
    )


def today(session: Session) -> date:
    return local(datetime.now(UTC), session.dealer).date()


async def funnels(
    store: ResultsStore, dealer_id: str, start: datetime, end: datetime, by: list[str]
) -> tuple[Funnel, Audit]:
    """The chosen funnel and the audit's three, read side by side (each one GROUP BY): the
    page's whole cost in the store (`make bench-funnel` times it on 100,000 rows)."""
    wanted: list[tuple[str, ...]] = [tuple(by)]
    wanted += [(name,) for name in AUDIT_GROUPINGS if [name] != by]
    read = await asyncio.gather(
        *(read_results(funnel, store, dealer_id, start, end, list(each)) for each in wanted)
    )
    found = dict(zip(wanted, read, strict=True))
    groups = [found[(name,)].groups for name in AUDIT_GROUPINGS]
    return found[tuple(by)], audit(*groups)


def results_form(request: Request, session: Session, status: int, **context: Any) -> Response:
    return page(
        request,
        "results.html",
        status=status,
        session=session,
        csrf=csrf.session_token(session),
        groupings=GROUPINGS,
        **context,
    )


@router.get("/results")
async def results(request: Request, session: SessionDep, store: ResultsDep) -> Response:
    manager(session.caller)  # 403 otherwise: the refusal page says it is for managers
    t = texts(request)
    try:
        query = period.parse(request.query_params, today(session))
    except forms.Invalid as invalid:
        shown = period.shown_values(request.query_params)
        return results_form(
            request, session, 422, refusal=describe(invalid, t), shown=shown, report=None
        )
    start, end = query.bounds(session.dealer.timezone)
    found, audited = await funnels(store, session.dealer.id, start, end, query.by)
    shown = {
        "from": query.first.isoformat(),
        "to": query.last.isoformat(),
        "by": ",".join(query.by),
    }
    return results_form(
        request,
        session,
        200,
        shown=shown,
        report=funnel_view(found, session.dealer, t),
        audit=audit_view(audited, t),
        query=query,
        first=day_text(query.first, t),
        last=day_text(query.last, t),
        by_label=" · ".join(t(f"grouping.{name}") for name in query.by),
    )


@router.get("/results.csv")
async def results_csv(request: Request, session: SessionDep, store: ResultsDep) -> Response:
    manager(session.caller)
    query = period.parse(request.query_params, today(session))  # Invalid: the 422 page
    start, end = query.bounds(session.dealer.timezone)
    found = await read_results(funnel, store, session.dealer.id, start, end, query.by)
    name = f"funnel-{session.dealer.id}-{query.first}-{query.last}-{'-'.join(query.by)}.csv"
    response = Response(
        funnel_csv(found),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
    return protect(response)
