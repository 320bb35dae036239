"""When each touch goes out (rules 1, 4 and 5, docs/architecture.md).

Rule 1 — blank leads: the schedule depends on the dealer, the arrival time and the lead id
(for the spread) only: never on kind, source or data quality.
Rule 4 — speed to lead: touch 1 goes out at once, at any hour; later written touches fall
inside the contact window, call tasks inside business hours too, deferred to the next opening
plus a small deterministic per-lead spread so that 08:00 is not a thundering herd.
Offsets count from arrival, so one deferred touch does not shift the ones after it; only
touches that closed days would pile onto one opening are spaced out (`min_spacing`).
Rule 5 — unreachable only at the end: after the last touch plus grace.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from leads.config import DealerPlan, Window
from leads.holidays import public_holidays

SPREAD = timedelta(minutes=30)
# Leaves room so that a touch due right after its predecessor is still a separate moment.
MIN_GAP = timedelta(minutes=1)
_SEARCH_DAYS = 370  # a window open at least one day a year is always found


def is_holiday(country: str | None, day: date) -> bool:
    """Asks the holidays library: for plans that did not record their dates, and tests."""
    return country is not None and day in public_holidays(country, day.year)


def closed_for_holiday(window: Window, day: date) -> bool:
    """The dates the plan recorded (leads.holidays); a plan from before: the library's."""
    if window.holiday_dates is not None:
        return day in window.holiday_dates
    return is_holiday(window.holidays, day)


def is_open(window: Window | None, at: datetime, tz: ZoneInfo) -> bool:
    """Is `at` inside the window (local time, weekday, not a public holiday)?"""
    if window is None:
        return True
    local = at.astimezone(tz)
    return (
        local.weekday() in window.days
        and not closed_for_holiday(window, local.date())
        and window.start <= local.time().replace(tzinfo=None) < window.end
    )


def next_opening(window: Window, at: datetime, tz: ZoneInfo) -> datetime:
    """The first opening of the window strictly after `at` (which is outside it)."""
    local = at.astimezone(tz)
    for offset in range(_SEARCH_DAYS):
        day = local.date() + timedelta(days=offset)
        opening = datetime.combine(day, window.start, tzinfo=tz)
        if opening <= local:
            continue
        if day.weekday() in window.days and not closed_for_holiday(window, day):
            return opening
    raise ValueError("the window never opens")  # excluded by config validation (days non-empty)


def spread_for(lead_id: str, touch: int, spread: timedelta = SPREAD) -> timedelta:
    """A fixed offset per (lead, touch) in [0, spread): the same on every replay."""
    digest = hashlib.sha256(f"{lead_id}:{touch}".encode()).digest()
    return timedelta(seconds=int.from_bytes(digest[:8], "big") % int(spread.total_seconds()))


def fit(window: Window | None, at: datetime, tz: ZoneInfo, spread: timedelta) -> datetime:
    """`at` if the window is open then, else the next opening plus the spread."""
    if window is None or is_open(window, at, tz):
        return at
    opening = next_opening(window, at, tz)
    closing = datetime.combine(opening.date(), window.end, tzinfo=tz)
    return min(opening + spread, closing - MIN_GAP)


def fit_all(
    windows: tuple[Window | None, ...], at: datetime, tz: ZoneInfo, spread: timedelta
) -> datetime:
    """`at` moved forward until every window is open (a call task needs business hours and the
    contact window, so never a public holiday). Windows that never overlap: the first one."""
    fitted = at
    for _ in range(_SEARCH_DAYS):
        closed = [w for w in windows if w is not None and not is_open(w, fitted, tz)]
        if not closed:
            return fitted
        fitted = fit(closed[0], fitted, tz, spread)
    return fit(windows[0], at, tz, spread)


def touch_due(
    plan: DealerPlan,
    lead_id: str,
    touch: int,
    anchor: datetime,
    previous_at: datetime | None,
    is_call: bool,
    not_before: datetime | None = None,
) -> datetime:
    """When cadence step `touch` (1-based) is due. `anchor` is the arrival time (shifted by
    any time the lead was paused); a written touch 1 is due at the anchor itself, any hour.
    `not_before`: the customer said (out of office) when they are back."""
    tz = ZoneInfo(plan.timezone)
    windows = (plan.business_hours, plan.contact_window) if is_call else (plan.contact_window,)
    if touch == 1:
        # The first written answer goes out at once, at any hour; a call task (only when no
        # written channel is usable) waits for business hours like every call.
        return fit_all(windows, anchor, tz, spread_for(lead_id, touch)) if is_call else anchor
    raw = anchor + plan.cadence[touch - 1]
    if previous_at is not None:
        raw = max(raw, previous_at + min_spacing(plan, touch))
    if not_before is not None:
        raw = max(raw, not_before)
    return fit_all(windows, raw, tz, spread_for(lead_id, touch))


def min_spacing(plan: DealerPlan, touch: int) -> timedelta:
    """Half the nominal interval before `touch`: when closed days pile several deferred
    touches onto one opening (a weekend before Easter Monday), they are spread out instead of
    arriving minutes apart. An ordinary overnight deferral never comes this close, so it does
    not shift the touches after it."""
    return max((plan.cadence[touch - 1] - plan.cadence[touch - 2]) / 2, MIN_GAP)


def unreachable_at(plan: DealerPlan, last_touch_at: datetime) -> datetime:
    """Rule 5: the lead becomes unreachable only after the last touch plus grace."""
    return last_touch_at + plan.grace


def describe(at: datetime, timezone: str) -> str:
    """How an operator reads a moment in the dealer's time: 'Tue 24 Nov 09:12'."""
    return at.astimezone(ZoneInfo(timezone)).strftime("%a %d %b %H:%M")
