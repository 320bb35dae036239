"""The speed report (docs/reports.md): how fast the automated first answer went out, how
fast each salesperson took a lead once the customer answered, and how many tasks had to be
chased (reminded, escalated).

Percentiles are nearest-rank, computed here from the period's durations rather than in SQL:
SQLite has no percentile function and PostgreSQL's `percentile_disc` would make two code
paths for one figure. A dealer's period is at most tens of thousands of rows, a few
milliseconds of Python."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select

from results.reports import count_where, during
from results.store import ResultsStore
from results.tables import conversations, tasks

_c = conversations.c
_t = tasks.c


class Percentiles(BaseModel):
    """Durations in seconds: how many were measured and their nearest-rank p50 / p90."""

    count: int
    p50: float | None  # None when nothing was measured
    p90: float | None


class SalespersonSpeed(BaseModel):
    salesperson: str | None  # None: replied-to conversations nobody is assigned to
    reply_to_claim: Percentiles
    reply_to_first_message: Percentiles


class Chased(BaseModel):
    """The period's sales tasks, and how many had to be reminded or escalated."""

    tasks: int
    reminded: int
    reminded_share: float | None  # of `tasks`; None when there were none
    escalated: int
    escalated_share: float | None


class Speed(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    start: datetime = Field(alias="from")
    end: datetime = Field(alias="to")
    first_answer: Percentiles  # arrival → the first automated message accepted
    salespeople: list[SalespersonSpeed]
    tasks: Chased


def nearest_rank(ordered: Sequence[float], percent: float) -> float | None:
    """The smallest value with at least `percent`% of the values at or below it."""
    if not ordered:
        return None
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return ordered[rank - 1]


def percentiles(durations: Iterable[float]) -> Percentiles:
    ordered = sorted(durations)
    return Percentiles(
        count=len(ordered), p50=nearest_rank(ordered, 50), p90=nearest_rank(ordered, 90)
    )


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    """The duration from `start` to `end`, or None when either is missing or `end` came
    first: a salesperson's message before the customer's reply did not answer that reply."""
    if start is None or end is None or end < start:
        return None
    return (end - start).total_seconds()


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def speed(store: ResultsStore, dealer_id: str, start: datetime, end: datetime) -> Speed:
    """The dealer's conversations that arrived in [start, end), and its tasks opened then."""
    arrived = during(_c.dealer_id, _c.arrived_at, dealer_id, start, end)
    opened = during(_t.dealer_id, _t.opened_at, dealer_id, start, end)
    answers = select(_c.arrived_at, _c.first_answer_at).where(
        arrived, _c.first_answer_at.is_not(None)
    )
    human = select(
        _c.salesperson_id, _c.first_reply_at, _c.claimed_at, _c.first_human_message_at
    ).where(arrived, _c.first_reply_at.is_not(None))
    chased = select(func.count(), count_where(_t.reminded), count_where(_t.escalated)).where(opened)
    with store.connect() as connection:
        first = [_seconds(a, b) for a, b in connection.execute(answers)]
        claims: dict[str | None, list[float]] = defaultdict(list)
        messages: dict[str | None, list[float]] = defaultdict(list)
        for who, replied, claimed, wrote in connection.execute(human):
            for found, into in ((claimed, claims), (wrote, messages)):
                seconds = _seconds(replied, found)
                if seconds is not None:
                    into[who].append(seconds)
        total, reminded, escalated = (int(n) for n in connection.execute(chased).one())
    people = sorted(set(claims) | set(messages), key=lambda who: (who is None, who or ""))
    return Speed(
        start=start,
        end=end,
        first_answer=percentiles(s for s in first if s is not None),
        salespeople=[
            SalespersonSpeed(
                salesperson=who,
                reply_to_claim=percentiles(claims[who]),
                reply_to_first_message=percentiles(messages[who]),
            )
            for who in people
        ],
        tasks=Chased(
            tasks=total,
            reminded=reminded,
            reminded_share=_share(reminded, total),
            escalated=escalated,
            escalated_share=_share(escalated, total),
        ),
    )
