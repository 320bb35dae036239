"""Which figures the results page is asked for: a period of the dealer's local days and a
grouping, read from the page's GET form (`from`, `to`, `by`). Anything else is a readable
correction on the page (`forms.Invalid`), never an exception further in."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from api.inbox.forms import Invalid
from results.reports import DEFAULT_BY, DEFAULT_DAYS, LONGEST_DAYS, check_grouping

LONGEST_VALUE = 40  # a date or "contact_quality,salesperson" is far shorter


@dataclass(frozen=True)
class ResultsQuery:
    first: date  # the period's first and last local day, both included
    last: date
    by: list[str]

    def bounds(self, timezone: str) -> tuple[datetime, datetime]:
        """[start, end) in UTC: from the first day's local midnight to the one after the last
        day (a day is not always 24 hours: daylight saving time)."""
        zone = ZoneInfo(timezone)
        start = datetime.combine(self.first, time(), zone)
        end = datetime.combine(self.last + timedelta(days=1), time(), zone)
        return start.astimezone(UTC), end.astimezone(UTC)

    def query_string(self) -> str:
        """The same figures' query, for the CSV link (dates and field names only)."""
        return f"from={self.first.isoformat()}&to={self.last.isoformat()}&by={','.join(self.by)}"


def _value(params: Mapping[str, str], name: str) -> str:
    value = params.get(name, "").strip()
    if len(value) > LONGEST_VALUE:
        raise Invalid("invalid.period" if name in ("from", "to") else "invalid.grouping")
    return value


def _day(raw: str) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise Invalid("invalid.period") from None


def parse(params: Mapping[str, str], today: date) -> ResultsQuery:
    """Blank fields take the defaults: the last DEFAULT_DAYS days up to today, by source."""
    first, last = _day(_value(params, "from")), _day(_value(params, "to"))
    last = last or today
    first = first or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise Invalid("invalid.period_order")
    if (last - first).days + 1 > LONGEST_DAYS:
        raise Invalid("invalid.period_long")
    raw_by = _value(params, "by") or DEFAULT_BY
    try:
        by = check_grouping([name.strip() for name in raw_by.split(",")])
    except ValueError:
        raise Invalid("invalid.grouping") from None
    return ResultsQuery(first=first, last=last, by=by)


def shown_values(params: Mapping[str, str]) -> dict[str, str]:
    """What the form shows back after a bad value: the typed text, cut short (autoescaped
    by the template), so the manager sees what to correct."""
    return {name: params.get(name, "")[:LONGEST_VALUE] for name in ("from", "to", "by")}


__all__ = ["ResultsQuery", "parse", "shown_values"]
