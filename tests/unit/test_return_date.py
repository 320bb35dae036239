"""leads.return_date, read through leads.auto_reply: the return date an out-of-office names
(rule 6). Tables only: no Temporal, no network, no clock."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from leads.auto_reply import AutoReply, auto_reply

TODAY = date(2026, 11, 20)  # a Friday
NO_HEADERS: dict[str, str] = {}
OOO = {"Auto-Submitted": "auto-replied"}  # any auto-reply: the return date comes from the text

RETURN_DATES = [
    # English, the day itself
    ("back on 2 December", date(2026, 12, 2)),
    ("I am returning on December 2nd.", date(2026, 12, 2)),
    ("I will be back on 02-12-2026", date(2026, 12, 2)),
    ("I will be back in the office on Monday, 7 December.", date(2026, 12, 7)),
    ("Back on the 3rd of December", date(2026, 12, 3)),
    ("I return Dec 1", date(2026, 12, 1)),
    ("available again from 4 dec", date(2026, 12, 4)),
    # English, end of the absence
    ("I am out of the office until 01/12/2026", date(2026, 12, 1)),
    ("Out until Monday 30 November", date(2026, 11, 30)),
    ("Out of office until 28 November inclusive", date(2026, 11, 29)),
    ("On leave through Nov 28", date(2026, 11, 29)),
    ("away until and including 28 November", date(2026, 11, 29)),
    # Dutch, end of the absence
    ("Ik ben tot en met 28 november afwezig.", date(2026, 11, 29)),
    ("Afwezig t/m 28-11", date(2026, 11, 29)),
    ("afwezig t.m. 28 nov.", date(2026, 11, 29)),
    ("Ik ben tot 1 december met vakantie.", date(2026, 12, 1)),
    ("Ik ben van 23 tot en met 27 november op vakantie.", date(2026, 11, 28)),
    ("Ik ben vanaf 20 november t/m 28 november afwezig.", date(2026, 11, 29)),
    # Dutch, the day itself
    ("Vanaf maandag 30 november ben ik weer aanwezig.", date(2026, 11, 30)),
    ("vanaf maandag 30 november weer aanwezig", date(2026, 11, 30)),
    ("Ik ben weer op kantoor op 3 december.", date(2026, 12, 3)),
    ("Ik ben terug op 1 dec.", date(2026, 12, 1)),
    ("weer bereikbaar vanaf 8.30 uur op 23 november", date(2026, 11, 23)),  # 8.30 is a time
    ("Weer aanwezig op woensdag 2e december", date(2026, 12, 2)),
    ("Ik ben weer aanwezig vanaf 1-12-2026.", date(2026, 12, 1)),
    # an explicit return date wins over the end of the absence
    (
        "Ik ben t/m vrijdag 27 november afwezig en vanaf maandag 30 november weer aanwezig.",
        date(2026, 11, 30),
    ),
    # no readable return date
    ("Ik ben afwezig.", None),
    ("I am back soon.", None),
    ("Back on Monday.", None),  # weekday words alone are ignored
    ("Vanaf 25 november ben ik afwezig.", None),  # the start of the absence
    ("Tot ziens, Jan", None),
    ("until 31/11/2026", None),  # no such day
    # past or too far ahead
    ("back on 2 December 2025", None),
    ("back on 19-11-2026", None),
    ("back on 2 March 2027", None),
    ("tot 1 mei", None),  # next 1 May: more than 90 days ahead
    ("back on 19 November", None),  # year omitted: next 19 November is a year away
    # today and the 90-day limit are still believed
    ("back on 20 November", TODAY),
    ("back on 18-02-2027", TODAY + timedelta(days=90)),
    ("back on 19-02-2027", None),
]


@pytest.mark.parametrize(("text", "expected"), RETURN_DATES)
def test_rule6_auto_reply_return_date(text: str, expected: date | None) -> None:
    assert auto_reply(OOO, "Out of Office", text, TODAY) == AutoReply(until=expected)


@pytest.mark.parametrize(
    ("today", "text", "expected"),
    [
        (date(2026, 12, 20), "back on 5 January", date(2027, 1, 5)),
        (date(2026, 12, 20), "Ik ben terug op 4 januari", date(2027, 1, 4)),
        (date(2026, 12, 20), "t/m 31 december", date(2027, 1, 1)),
        (date(2026, 12, 20), "tot en met 2 jan", date(2027, 1, 3)),
        (date(2026, 12, 20), "until 04/01", date(2027, 1, 4)),
        (date(2026, 12, 31), "back on 31 December", date(2026, 12, 31)),
        (date(2026, 12, 20), "back on 05-01-27", date(2027, 1, 5)),
        (date(2026, 12, 20), "back on 2027-01-05", date(2027, 1, 5)),
        (date(2027, 1, 2), "back on 28 December", None),  # last December has passed
    ],
)
def test_rule6_auto_reply_return_date_year_rollover(
    today: date, text: str, expected: date | None
) -> None:
    assert auto_reply(OOO, "Out of Office", text, today) == AutoReply(until=expected)


def test_rule6_auto_reply_return_date_in_subject() -> None:
    assert auto_reply(NO_HEADERS, "Afwezig t/m 28-11", "", TODAY) == AutoReply(
        until=date(2026, 11, 29)
    )


def test_rule6_auto_reply_long_quoted_history_is_fine() -> None:
    text = "back on 2 December\n" + "> quoted line 8.30 t/m tot back weer\n" * 20_000
    assert auto_reply(OOO, "Out of Office", text, TODAY) == AutoReply(until=date(2026, 12, 2))
