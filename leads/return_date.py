"""The return date an auto-reply names (rule 6 in docs/architecture.md): 'back on
2 December', 'vanaf maandag 30 november weer aanwezig', 't/m 28-11' → the day the next
touch may go out. Dutch and English, day-first numbers.

Pure functions: no Temporal, no network, no clock (``today`` is an argument), no regexes.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

__all__ = ["return_date"]

_RETURN_DATE_HORIZON = timedelta(days=90)  # a return date further ahead is not believed

_MONTHS: dict[str, int] = {
    # English
    "january": 1,
    "february": 2,
    "march": 3,
    "april": 4,
    "may": 5,
    "june": 6,
    "july": 7,
    "august": 8,
    "september": 9,
    "october": 10,
    "november": 11,
    "december": 12,
    # Dutch
    "januari": 1,
    "februari": 2,
    "maart": 3,
    "mei": 5,
    "juni": 6,
    "juli": 7,
    "augustus": 8,
    "oktober": 10,
    # abbreviations, both languages
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "mrt": 3,
    "apr": 4,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "sept": 9,
    "oct": 10,
    "okt": 10,
    "nov": 11,
    "dec": 12,
}
_ORDINAL_SUFFIXES = frozenset({"", "st", "nd", "rd", "th", "e", "de", "ste"})
_EDGE_PUNCTUATION = ",.;:!?()[]{}<>\"'*"
_INCLUSIVE_AFTER = frozenset({"inclusive", "included", "incl", "inclusief", "including"})

# "until X" (exclusive end), "t/m X" (inclusive end), "back on X" (the day itself).
_TriggerKind = Literal["return", "end", "end_inclusive", "from"]
_RETURN_WORDS = frozenset({"back", "return", "returns", "returning", "terug", "weer", "again"})
# 'vanaf X' is a return date only with one of these nearby ('vanaf 30 november weer aanwezig');
# 'vanaf 20 november afwezig' is when the absence starts.
_FROM_CONFIRMATIONS = frozenset(
    {"weer", "terug", "aanwezig", "bereikbaar", "beschikbaar", "again", "back"}
)
_RETURN_WINDOW = 7  # 'back in the office on Monday 2 December': the date within 7 words
_END_WINDOW = 3  # 'until Monday, 2 December': closer, 'tot' is a common word
_FROM_CONFIRMATION_WINDOW = 3


@dataclass(frozen=True)
class _Trigger:
    kind: _TriggerKind
    width: int  # tokens it takes


@dataclass(frozen=True)
class _DateFound:
    day: int
    month: int
    year: int | None
    end: int  # index of the first token after the date


def _tokens(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text).casefold()
    text = text.replace("\u2013", "-").replace("\u2014", "-")
    tokens = (token.strip(_EDGE_PUNCTUATION) for token in text.split())
    return [token for token in tokens if token]


def _trigger_at(tokens: list[str], i: int) -> _Trigger | None:
    token = tokens[i]
    following = tokens[i + 1 : i + 4]
    if token in {"t/m", "t.m"}:
        return _Trigger("end_inclusive", 1)
    if token == "tot":
        if following[:2] == ["en", "met"]:
            return _Trigger("end_inclusive", 3)
        return _Trigger("end", 1)
    if token in {"until", "till", "til", "untill"}:
        if following[:2] == ["and", "including"]:
            return _Trigger("end_inclusive", 3)
        return _Trigger("end", 1)
    if token in {"through", "thru"}:
        return _Trigger("end_inclusive", 1)
    if token == "up" and following == ["to", "and", "including"]:
        return _Trigger("end_inclusive", 4)
    if token in _RETURN_WORDS:
        return _Trigger("return", 1)
    if token == "vanaf":
        return _Trigger("from", 1)
    return None


def _day(token: str) -> int | None:
    digits = 0
    while digits < len(token) and token[digits].isdecimal():
        digits += 1
    if digits not in (1, 2) or token[digits:] not in _ORDINAL_SUFFIXES:
        return None
    day = int(token[:digits])
    return day if 1 <= day <= 31 else None


def _year(token: str) -> int | None:
    if len(token) == 4 and token.isdecimal() and token.startswith("20"):
        return int(token)
    return None


def _numeric_date(token: str) -> tuple[int, int, int | None] | None:
    """'02-12-2026', '2/12/26', '2.12.2026', '2026-12-02', '28-11', '28/11' (day first).
    Two parts need '-' or '/': '8.30' is a time."""
    separators = [sep for sep in "-/." if sep in token]
    if len(separators) != 1:
        return None
    parts = token.split(separators[0])
    if not all(part.isdecimal() for part in parts):
        return None
    if len(parts) == 3:
        if len(parts[0]) == 4:
            year_text, month_text, day_text = parts
        else:
            day_text, month_text, year_text = parts
        if len(year_text) not in (2, 4) or len(day_text) > 2 or len(month_text) > 2:
            return None
        year = int(year_text) + (2000 if len(year_text) == 2 else 0)
        return int(day_text), int(month_text), year
    if len(parts) == 2 and separators[0] != "." and all(len(part) <= 2 for part in parts):
        return int(parts[0]), int(parts[1]), None
    return None


def _date_at(tokens: list[str], i: int) -> _DateFound | None:
    numeric = _numeric_date(tokens[i])
    if numeric is not None:
        return _DateFound(*numeric, end=i + 1)
    day = _day(tokens[i])
    if day is not None:  # '2 december', '2nd of December', '2 dec 2026'
        j = i + 1
        if j < len(tokens) and tokens[j] in {"of", "van"}:
            j += 1
        if j < len(tokens) and tokens[j] in _MONTHS:
            return _with_year(tokens, day, _MONTHS[tokens[j]], j + 1)
        return None
    if tokens[i] in _MONTHS and i + 1 < len(tokens):  # 'December 2nd', 'dec 2, 2026'
        day = _day(tokens[i + 1])
        if day is not None:
            return _with_year(tokens, day, _MONTHS[tokens[i]], i + 2)
    return None


def _with_year(tokens: list[str], day: int, month: int, j: int) -> _DateFound:
    year = _year(tokens[j]) if j < len(tokens) else None
    return _DateFound(day, month, year, end=j + 1 if year is not None else j)


def _resolve(found: _DateFound, today: date) -> date | None:
    if found.year is not None:
        try:
            return date(found.year, found.month, found.day)
        except ValueError:
            return None
    for year in (today.year, today.year + 1):
        try:
            candidate = date(year, found.month, found.day)
        except ValueError:
            continue
        if candidate >= today:
            return candidate
    return None


def return_date(text: str, today: date) -> date | None:
    """The first believable explicit return date ('back on', 'weer … op', 'vanaf … weer');
    else the first believable end of the absence ('t/m', 'tot', 'until'). Believable: from
    ``today`` to 90 days ahead; a date without a year is its next occurrence on or after
    ``today``."""
    tokens = _tokens(text)
    returns: list[date] = []
    ends: list[date] = []
    for i in range(len(tokens)):
        trigger = _trigger_at(tokens, i)
        if trigger is None:
            continue
        window = _END_WINDOW if trigger.kind in ("end", "end_inclusive") else _RETURN_WINDOW
        start = i + trigger.width
        for j in range(start, min(start + window, len(tokens))):
            other = _trigger_at(tokens, j)
            if other is not None and other.kind != "from":
                break  # the date belongs to the next phrase
            found = _date_at(tokens, j)
            if found is None:
                continue
            day = _resolve(found, today)
            if day is not None:
                _collect(trigger.kind, tokens, i, found, day, returns, ends)
            break
    horizon = today + _RETURN_DATE_HORIZON
    for candidates in (returns, ends):
        for day in candidates:
            if today <= day <= horizon:
                return day
    return None


def _collect(
    kind: _TriggerKind,
    tokens: list[str],
    i: int,
    found: _DateFound,
    day: date,
    returns: list[date],
    ends: list[date],
) -> None:
    after = tokens[found.end : found.end + _FROM_CONFIRMATION_WINDOW]
    if kind == "return":
        returns.append(day)
    elif kind == "from":
        before = tokens[max(0, i - _FROM_CONFIRMATION_WINDOW) : i]
        if _FROM_CONFIRMATIONS.intersection(before + after):
            returns.append(day)
    elif kind == "end_inclusive" or (after[:1] and after[0] in _INCLUSIVE_AFTER):
        ends.append(day + timedelta(days=1))
    else:
        ends.append(day)
