"""The managers' reports on the store: the funnel with 95% Wilson intervals, and speed
(DESIGN §4 "Reports"). INTERFACE ONLY: implemented by the reports work."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from results.store import ResultsStore

GROUPINGS = ("source", "kind", "first_channel", "contact_quality", "salesperson")
STAGES = ("contacted", "appointment", "shown", "won", "lost", "unreachable", "opted_out")
SMALL_GROUP = 30  # fewer leads than this: too small to compare


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


def wilson(successes: int, n: int, z: float = 1.959963984540054) -> Rate:
    raise NotImplementedError


def funnel(
    store: ResultsStore, dealer_id: str, start: datetime, end: datetime, by: Sequence[str]
) -> Funnel:
    raise NotImplementedError
