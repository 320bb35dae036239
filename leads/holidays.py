"""Which days are public holidays (rule 4: later touches fall inside the contact window, which
is closed on the public holidays of the country it names).

Only the dealer plan asks the `holidays` library, in an activity, for the years a lead can
live (`YEARS`): the cadence then reads the dates the plan recorded, so a new release of the
library never changes a running lead's timers, and replays see the dates the lead saw.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import holidays as holidays_lib

# A lead's cadence runs for weeks; a paused lead resumed long after may need the next years.
# A day past them has no public holiday (an unusual lead, touched on a holiday at worst).
YEARS = 3


@lru_cache(maxsize=64)
def public_holidays(country: str, year: int) -> frozenset[date]:
    return frozenset(holidays_lib.country_holidays(country, years=year).keys())


@lru_cache(maxsize=64)
def holiday_dates(country: str, first_year: int) -> tuple[date, ...]:
    """The public holidays of `country` from `first_year` on, for `YEARS` years, in order."""
    years = range(first_year, first_year + YEARS)
    return tuple(sorted(d for year in years for d in public_holidays(country, year)))
