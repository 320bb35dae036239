"""leads.holidays and the plan's recorded public holidays (rule 4: later touches only inside
the contact window, which closes on the public holidays of the country it names). A plan built
for a day records its windows' holidays for the years a lead can live; the cadence then reads
those dates, not the library, so a library release cannot move a running lead's timers."""

from __future__ import annotations

from datetime import date, time
from typing import Any

import pytest

from leads.cadence import closed_for_holiday, is_holiday
from leads.config import Window, parse_config
from leads.holidays import YEARS, holiday_dates

DEALER: dict[str, Any] = {
    "id": "autohuis-test",
    "name": "Autohuis Test",
    "webhook_secret": "whsec_dGVzdC1zZWNyZXQ=",
    "email_from": "verkoop@autohuis-test.nl",
}
KINGS_DAY = date(2027, 4, 27)
OPEN_TUESDAY = date(2027, 5, 4)


@pytest.mark.parametrize(
    ("holidays", "recorded", "day", "closed"),
    [
        pytest.param("NL", None, KINGS_DAY, True, id="before-recording-the-library-decides"),
        pytest.param("NL", (), KINGS_DAY, False, id="recorded-none-the-library-is-not-asked"),
        pytest.param("NL", (OPEN_TUESDAY,), OPEN_TUESDAY, True, id="recorded-dates-close"),
        pytest.param(None, None, KINGS_DAY, False, id="no-country-no-holidays"),
    ],
)
def test_rule4_closed_for_holiday_reads_the_plans_dates(
    holidays: str | None, recorded: tuple[date, ...] | None, day: date, closed: bool
) -> None:
    window = Window(start=time(8), end=time(21), holidays=holidays, holiday_dates=recorded)
    assert closed_for_holiday(window, day) is closed


@pytest.mark.parametrize(
    ("today", "recorded"),
    [
        pytest.param(date(2026, 12, 3), True, id="built-for-a-day-records"),
        pytest.param(None, False, id="built-without-a-day-leaves-it-to-the-library"),
    ],
)
def test_rule4_the_plan_records_its_windows_holidays(today: date | None, recorded: bool) -> None:
    plan = parse_config({"dealers": [DEALER]}).dealers[0].plan(today)
    assert plan.holidays_recorded() is recorded
    assert plan.contact_window is not None
    dates = plan.contact_window.holiday_dates
    assert (dates is not None) is recorded
    if dates is not None:
        assert KINGS_DAY in dates and date(2028, 12, 25) in dates  # this year and the next two
        assert all(is_holiday("NL", d) for d in dates)
        assert sorted(dates) == list(dates)  # a stable payload: the same plan, the same bytes


def test_the_recorded_years_cover_a_lead_from_this_year_on() -> None:
    dates = holiday_dates("NL", 2027)
    assert {d.year for d in dates} == set(range(2027, 2027 + YEARS))
