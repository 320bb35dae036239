"""The managers' reports on the store: the funnel with 95% Wilson intervals, and speed
(docs/reports.md).

Rates are of the group's leads, every lead counted once whatever its form said (rule 8):
the funnel is how a manager sees that a brochure request or a low bid converts like any
other lead once each gets the same cadence."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, Integer, and_, case, func, select

from leads.milestones import FinalOutcome
from results.store import ResultsStore, naive_utc
from results.tables import conversations

GROUPINGS = ("source", "kind", "first_channel", "contact_quality", "salesperson")
STAGES = ("contacted", "appointment", "shown", "won", "lost", "unreachable", "opted_out")
SMALL_GROUP = 30  # fewer leads than this: too small to compare
# The API's and the results page's defaults, so that both show the same figures.
DEFAULT_DAYS = 30  # the last 30 days, today included
LONGEST_DAYS = 731  # two years: longer periods are a backfill's job, not a report's
DEFAULT_BY = "source"


class Rate(BaseModel):
    rate: float | None  # None when the group has no leads
    low: float | None
    high: float | None


class FunnelGroup(BaseModel):
    key: dict[str, str | None]
    leads: int
    contacted: int
    appointment: int
    shown: int
    won: int
    lost: int  # lost and not_interested
    unreachable: int
    opted_out: int
    rates: dict[str, Rate]  # per stage, of `leads`
    small: bool


class Funnel(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    start: datetime = Field(alias="from")
    end: datetime = Field(alias="to")
    by: list[str]
    groups: list[FunnelGroup]
    total: FunnelGroup


# A grouping's column: the API says "salesperson", the store keeps the id.
COLUMNS = {name: conversations.c[name] for name in GROUPINGS if name != "salesperson"}
COLUMNS["salesperson"] = conversations.c.salesperson_id
_c = conversations.c
# Each stage as a condition on one row; a lead is counted at every stage it reached.
STAGE_CONDITIONS: dict[str, ColumnElement[bool]] = {
    "contacted": _c.first_reply_at.is_not(None),
    "appointment": _c.appointment_set_at.is_not(None),
    "shown": _c.shown_at.is_not(None),
    "won": _c.outcome == FinalOutcome.WON.value,
    "lost": _c.outcome.in_([FinalOutcome.LOST.value, FinalOutcome.NOT_INTERESTED.value]),
    "unreachable": _c.outcome == FinalOutcome.UNREACHABLE.value,
    "opted_out": _c.outcome == FinalOutcome.OPTED_OUT.value,
}


def during(
    dealer: ColumnElement[str],
    at: ColumnElement[datetime],
    dealer_id: str,
    start: datetime,
    end: datetime,
) -> ColumnElement[bool]:
    """The dealer's rows whose `at` lies in [start, end): every report's period, on the
    (dealer, time) indexes."""
    return and_(dealer == dealer_id, at >= naive_utc(start), at < naive_utc(end))


def count_where(condition: ColumnElement[bool]) -> ColumnElement[int]:
    """How many of the group's rows hold `condition`: SUM(CASE …), since PostgreSQL has no
    SUM(boolean); 0, not NULL, for an empty group, the same on both databases."""
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0).cast(Integer)


Z95 = 1.959963984540054  # the normal quantile of a two-sided 95% interval


def wilson(successes: int, n: int, z: float = Z95) -> Rate:
    """The Wilson score interval: honest at small n and at 0% or 100%, where the normal
    approximation gives intervals outside [0, 1] or of width zero."""
    if n <= 0:
        return Rate(rate=None, low=None, high=None)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    # At 0% and 100% the bound is exact; the formula leaves rounding dust there.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return Rate(rate=p, low=low, high=high)


def check_grouping(by: Sequence[str]) -> list[str]:
    """One or two distinct groupings, else ValueError naming the problem."""
    wanted = list(by)
    unknown = [name for name in wanted if name not in GROUPINGS]
    if unknown:
        raise ValueError(f"unknown grouping {unknown[0]!r}; use {', '.join(GROUPINGS)}")
    if len(wanted) > 2 or len(set(wanted)) != len(wanted):
        raise ValueError("group by one or two different fields")
    return wanted


def _group(key: dict[str, str | None], counts: dict[str, int]) -> FunnelGroup:
    leads = counts["leads"]
    return FunnelGroup(
        key=key,
        **counts,
        rates={stage: wilson(counts[stage], leads) for stage in STAGES},
        small=leads < SMALL_GROUP,
    )


def funnel(
    store: ResultsStore, dealer_id: str, start: datetime, end: datetime, by: Sequence[str]
) -> Funnel:
    """The dealer's leads that arrived in [start, end), counted by stage per group: one
    GROUP BY in the database, so the cost is one scan of the period's index range."""
    names = check_grouping(by)
    keys = [COLUMNS[name].label(name) for name in names]
    counted: list[Any] = [func.count().label("leads")]
    counted += [
        count_where(condition).label(stage) for stage, condition in STAGE_CONDITIONS.items()
    ]
    period = during(_c.dealer_id, _c.arrived_at, dealer_id, start, end)
    query = select(*keys, *counted).where(period)
    if keys:
        query = query.group_by(*keys).order_by(*keys)
    with store.connect() as connection:
        rows = [row._mapping for row in connection.execute(query)]
    stages = ("leads", *STAGES)
    groups = [
        _group({name: row[name] for name in names}, {s: int(row[s]) for s in stages})
        for row in rows
    ]
    totals = {s: sum(getattr(group, s) for group in groups) for s in stages}
    return Funnel(
        start=start,
        end=end,
        by=names,
        groups=groups if names else [],
        total=_group({name: None for name in names}, totals),
    )


# --- CSV (docs/reports.md: one row per group, the JSON's names as columns) -------------

TOTAL_KEY = "all"  # the total row's key columns
BOUNDS = ("rate", "low", "high")
# A spreadsheet runs a cell starting with one of these as a formula, and a source's name
# comes from a dealer platform: such a key is written after an apostrophe (as is a key that
# starts with one, so that reading strips exactly one and the round trip is exact).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "'")


def csv_columns(by: Sequence[str]) -> list[str]:
    rates = [f"{stage}_{bound}" for stage in STAGES for bound in BOUNDS]
    return [*by, "leads", *STAGES, *rates, "small"]


def _cell_key(value: str | None) -> str:
    if value is None:
        return ""
    return "'" + value if value.startswith(FORMULA_START) else value


def _cell_number(value: float | None) -> str:
    return "" if value is None else repr(value)  # repr: the float reads back exactly


def _csv_row(group: FunnelGroup, keys: list[str]) -> list[str]:
    counts = [str(group.leads), *(str(getattr(group, stage)) for stage in STAGES)]
    rates = [
        _cell_number(getattr(group.rates[stage], bound)) for stage in STAGES for bound in BOUNDS
    ]
    return [*keys, *counts, *rates, "true" if group.small else "false"]


def funnel_csv(found: Funnel) -> str:
    """The funnel as CSV (RFC 4180): a header, one row per group, then the total whose key
    columns say "all". Empty cells: a group without that key (no salesperson), a rate of
    no leads."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(csv_columns(found.by))
    for group in found.groups:
        writer.writerow(_csv_row(group, [_cell_key(group.key.get(name)) for name in found.by]))
    writer.writerow(_csv_row(found.total, [TOTAL_KEY] * len(found.by)))
    return out.getvalue()


def _read_group(row: dict[str, str], by: list[str], total: bool) -> FunnelGroup:
    def key(raw: str) -> str | None:
        if total or not raw:
            return None
        return raw[1:] if raw.startswith("'") else raw

    def number(raw: str) -> float | None:
        return float(raw) if raw else None

    counts = {name: int(row[name]) for name in ("leads", *STAGES)}
    return FunnelGroup(
        key={name: key(row[name]) for name in by},
        **counts,
        rates={
            stage: Rate(**{bound: number(row[f"{stage}_{bound}"]) for bound in BOUNDS})
            for stage in STAGES
        },
        small=row["small"] == "true",
    )


def parse_funnel_csv(text: str) -> tuple[list[str], list[FunnelGroup], FunnelGroup]:
    """The groupings, the groups and the total back from `funnel_csv` (the period is not in
    the CSV: the request named it). The total is the last row, whatever its keys say, so a
    source that is itself called "all" reads back as a group."""
    reader = csv.DictReader(io.StringIO(text))
    header = list(reader.fieldnames or [])
    by = header[: header.index("leads")] if "leads" in header else []
    if header != csv_columns(by):
        raise ValueError("not a funnel CSV: unexpected columns")
    rows = list(reader)
    if not rows:
        raise ValueError("not a funnel CSV: no total row")
    groups = [_read_group(row, by, total=False) for row in rows[:-1]]
    return by, groups, _read_group(rows[-1], by, total=True)
