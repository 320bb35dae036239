"""leads.cadence: rule 4 (speed to lead, then the contact window), rule 5 (unreachable only at
the end) and rule 1 (blank leads: the schedule ignores kind, source and data). Fixed aware
datetimes in Europe/Amsterdam; no clock, no Temporal."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from leads.cadence import SPREAD, is_open, spread_for, touch_due, unreachable_at
from leads.config import DealerPlan, parse_config
from leads.conversation import CadenceDone, Conversation, TouchDue
from leads.models import Customer, Lead, LeadKind, Touch

AMS = ZoneInfo("Europe/Amsterdam")
UTC = ZoneInfo("UTC")
LEAD = "lead-autohuis-test-0123456789abcdef01234567"
CET, CEST = timedelta(hours=1), timedelta(hours=2)


def plan(**overrides: Any) -> DealerPlan:
    dealer: dict[str, Any] = {
        "id": "autohuis-test",
        "name": "Autohuis Test",
        "timezone": "Europe/Amsterdam",
        "webhook_secret": "whsec_dGVzdC1zZWNyZXQ=",
        "email_from": "verkoop@autohuis-test.nl",
        "sms_from": "+3197010000099",
        "whatsapp_from": "whatsapp:+3197010000098",
    }
    dealer.update(overrides)
    return parse_config({"dealers": [dealer]}).dealers[0].plan()


def ams(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=AMS)


def opening(day: date, at: time, lead_id: str, touch: int) -> datetime:
    return datetime.combine(day, at, tzinfo=AMS) + spread_for(lead_id, touch)


DEFAULT = plan()
EVERY_DAY = plan(contact_window={"start": "08:00", "end": "21:00", "days": "mon-sun"})


# --- rule 4: the first answer at once, at any hour ------------------------------------------


ODD_HOURS = pytest.mark.parametrize(
    "arrival",
    [
        pytest.param(ams(2026, 11, 22, 3), id="sunday-03h"),
        pytest.param(ams(2026, 12, 25, 3), id="christmas-03h"),
        pytest.param(ams(2027, 4, 27, 23, 30), id="koningsdag-23h30"),
        pytest.param(ams(2027, 3, 28, 3, 30), id="dst-spring-forward-night"),
        pytest.param(ams(2026, 11, 24, 21, 14), id="weekday-after-closing"),
        pytest.param(datetime(2026, 11, 24, 2, 0, tzinfo=UTC), id="utc-anchor"),
    ],
)


@ODD_HOURS
def test_rule4_first_written_touch_is_due_at_arrival_at_any_hour(arrival: datetime) -> None:
    assert touch_due(DEFAULT, LEAD, 1, arrival, None, False) == arrival


@ODD_HOURS
def test_rule4_a_first_call_task_waits_for_business_hours(arrival: datetime) -> None:
    """Only a lead with no written channel starts with a call: nobody is called at 03:00."""
    due = touch_due(DEFAULT, LEAD, 1, arrival, None, True)
    assert due > arrival
    assert is_open(DEFAULT.business_hours, due, AMS) and is_open(DEFAULT.contact_window, due, AMS)


# --- rule 4: later touches inside the window -------------------------------------------------


WRITTEN, CALL = False, True


@pytest.mark.parametrize(
    ("arrival", "touch", "is_call", "day"),
    [
        pytest.param(ams(2026, 11, 24, 19), 2, WRITTEN, date(2026, 11, 25), id="23h-next-morning"),
        pytest.param(ams(2026, 11, 24, 3), 2, WRITTEN, date(2026, 11, 24), id="07h-same-morning"),
        pytest.param(ams(2026, 11, 28, 10), 3, WRITTEN, date(2026, 11, 30), id="sunday-to-monday"),
        pytest.param(ams(2027, 4, 26, 10), 3, WRITTEN, date(2027, 4, 28), id="koningsdag-tue"),
        pytest.param(ams(2026, 12, 24, 10), 3, WRITTEN, date(2026, 12, 28), id="christmas"),
        pytest.param(ams(2027, 3, 27, 10), 4, WRITTEN, date(2027, 3, 30), id="easter-monday"),
        pytest.param(ams(2026, 11, 24, 15), 2, CALL, date(2026, 11, 25), id="call-19h"),
        pytest.param(ams(2026, 11, 24, 4), 2, CALL, date(2026, 11, 24), id="call-08h"),
        pytest.param(ams(2026, 12, 24, 10), 3, CALL, date(2026, 12, 28), id="call-christmas"),
        pytest.param(ams(2027, 4, 26, 10), 3, CALL, date(2027, 4, 28), id="call-koningsdag"),
    ],
)
def test_rule4_touch_outside_window_is_deferred_to_next_opening_plus_spread(
    arrival: datetime, touch: int, is_call: bool, day: date
) -> None:
    """Written touches open at 08:00 (contact window), calls at 08:30 (business hours)."""
    start = time(8, 30) if is_call else time(8)
    due = touch_due(DEFAULT, LEAD, touch, arrival, None, is_call)
    assert due == opening(day, start, LEAD, touch)
    local = due.astimezone(AMS)
    assert datetime.combine(day, start, tzinfo=AMS) <= local
    assert local < datetime.combine(day, start, tzinfo=AMS) + SPREAD
    window = DEFAULT.business_hours if is_call else DEFAULT.contact_window
    assert is_open(window, due, AMS)
    assert is_open(DEFAULT.contact_window, due, AMS)


@pytest.mark.parametrize(
    ("arrival", "touch", "is_call"),
    [
        pytest.param(ams(2026, 11, 24, 15), 2, False, id="written-19h"),
        pytest.param(ams(2026, 11, 24, 10), 3, False, id="written-next-day-10h"),
        pytest.param(ams(2026, 11, 24, 10), 2, True, id="call-14h"),
        pytest.param(ams(2026, 11, 24, 13, 59), 2, True, id="call-17h59"),
    ],
)
def test_rule4_touch_inside_window_is_not_moved(
    arrival: datetime, touch: int, is_call: bool
) -> None:
    assert (
        touch_due(DEFAULT, LEAD, touch, arrival, None, is_call)
        == arrival + (DEFAULT.cadence[touch - 1])
    )


@pytest.mark.parametrize(
    ("arrival", "arrival_offset", "expected_day", "opening_offset"),
    [
        pytest.param(ams(2027, 3, 27, 20), CET, date(2027, 3, 28), CEST, id="spring-forward"),
        pytest.param(
            datetime(2027, 3, 27, 19, tzinfo=UTC),
            timedelta(0),
            date(2027, 3, 28),
            CEST,
            id="spring-forward-utc-anchor",
        ),
        pytest.param(ams(2027, 10, 30, 20), CEST, date(2027, 10, 31), CET, id="fall-back"),
        pytest.param(
            datetime(2027, 10, 30, 18, tzinfo=UTC),
            timedelta(0),
            date(2027, 10, 31),
            CET,
            id="fall-back-utc-anchor",
        ),
    ],
)
def test_rule4_opening_stays_0800_local_across_dst(
    arrival: datetime, arrival_offset: timedelta, expected_day: date, opening_offset: timedelta
) -> None:
    due = touch_due(EVERY_DAY, LEAD, 2, arrival, None, False)
    local = due.astimezone(AMS)
    assert arrival.utcoffset() == arrival_offset
    assert local.utcoffset() == opening_offset
    assert local.date() == expected_day
    assert local - spread_for(LEAD, 2) == datetime.combine(expected_day, time(8), tzinfo=AMS)
    assert (local - spread_for(LEAD, 2)).time() == time(8)


@pytest.mark.parametrize(
    ("arrival", "expected_day"),
    [
        pytest.param(ams(2027, 3, 27, 19), date(2027, 3, 30), id="spring-sunday-easter-monday"),
        pytest.param(ams(2027, 10, 30, 19), date(2027, 11, 1), id="fall-back-sunday"),
    ],
)
def test_rule4_default_window_across_dst_opens_0800_in_new_offset(
    arrival: datetime, expected_day: date
) -> None:
    due = touch_due(DEFAULT, LEAD, 2, arrival, None, False)
    assert due == opening(expected_day, time(8), LEAD, 2)
    assert due.utcoffset() != arrival.utcoffset()


@pytest.mark.parametrize("is_call", [False, True], ids=["written", "call"])
@pytest.mark.parametrize(
    ("arrival", "touch"),
    [
        pytest.param(ams(2026, 11, 24, 19), 2, id="23h"),
        pytest.param(ams(2026, 11, 28, 10), 3, id="sunday"),
        pytest.param(ams(2026, 12, 24, 10), 3, id="christmas"),
        pytest.param(ams(2027, 4, 26, 23), 3, id="koningsdag-night"),
    ],
)
def test_rule4_always_windows_never_defer(arrival: datetime, touch: int, is_call: bool) -> None:
    always = plan(contact_window="always", business_hours="always")
    assert always.contact_window is None
    assert always.business_hours is None
    due = touch_due(always, LEAD, touch, arrival, None, is_call)
    assert due == arrival + always.cadence[touch - 1]


def test_rule4_calls_keep_business_hours_when_contact_window_is_always() -> None:
    dealer = plan(contact_window="always")
    arrival = ams(2026, 11, 24, 19)
    assert touch_due(dealer, LEAD, 2, arrival, None, False) == arrival + timedelta(hours=4)
    assert touch_due(dealer, LEAD, 2, arrival, None, True) == opening(
        date(2026, 11, 25), time(8, 30), LEAD, 2
    )


def test_rule4_offsets_count_from_arrival_so_a_deferred_touch_does_not_shift_the_next() -> None:
    arrival = ams(2026, 11, 24, 19)  # Tuesday evening: touch 2 (+4h) falls at 23:00
    second = touch_due(DEFAULT, LEAD, 2, arrival, None, False)
    assert second == opening(date(2026, 11, 25), time(8), LEAD, 2)
    third = touch_due(DEFAULT, LEAD, 3, arrival, second, False)
    assert third == arrival + timedelta(days=1)  # Wednesday 19:00, not second + 20h
    fourth = touch_due(DEFAULT, LEAD, 4, arrival, third, False)
    assert fourth == arrival + timedelta(days=2)


def test_rule4_touch_never_due_before_its_predecessor() -> None:
    arrival = ams(2026, 11, 24, 10)
    late_previous = arrival + timedelta(days=1, hours=2)  # touch 2 went out late (e.g. retries)
    third = touch_due(DEFAULT, LEAD, 3, arrival, late_previous, False)
    assert third > late_previous


# --- rule 4: the spread ----------------------------------------------------------------------


def test_rule4_touches_piled_up_by_closed_days_are_spaced_out() -> None:
    """Easter 2027: Saturday evening arrival, Sunday closed, Easter Monday a holiday. Touches
    2, 3 and 4 would all land on Tuesday morning; they keep half their nominal interval."""
    arrival = ams(2027, 3, 27, 19)
    schedule: list[datetime] = []
    for touch in (1, 2, 3, 4):
        previous = schedule[-1] if schedule else None
        schedule.append(touch_due(DEFAULT, LEAD, touch, arrival, previous, False))
    second, third, fourth = (at.astimezone(AMS) for at in schedule[1:])
    assert (second.date(), second.hour) == (date(2027, 3, 30), 8)
    assert third - second >= timedelta(hours=10)  # half of 4h → 1d
    assert fourth - third >= timedelta(hours=12)  # half of 1d → 2d
    assert all(is_open(DEFAULT.contact_window, at, AMS) for at in schedule[1:])


LEAD_IDS = [f"lead-autohuis-test-{n:024x}" for n in range(20)]


@pytest.mark.parametrize("touch", range(2, 9))
@pytest.mark.parametrize("lead_id", LEAD_IDS[:5])
def test_rule4_spread_is_deterministic_and_below_30_minutes(lead_id: str, touch: int) -> None:
    spread = spread_for(lead_id, touch)
    assert spread == spread_for(lead_id, touch)
    assert timedelta(0) <= spread < SPREAD == timedelta(minutes=30)
    arrival = ams(2026, 11, 24, 19)
    assert touch_due(DEFAULT, lead_id, 2, arrival, None, False) == touch_due(
        DEFAULT, lead_id, 2, arrival, None, False
    )


def test_rule4_spread_differs_across_leads() -> None:
    arrival = ams(2026, 11, 24, 19)
    spreads = {spread_for(lead_id, 2) for lead_id in LEAD_IDS}
    due_times = {touch_due(DEFAULT, lead_id, 2, arrival, None, False) for lead_id in LEAD_IDS}
    assert len(spreads) >= 5
    assert len(due_times) >= 5


# --- rule 5: unreachable only at the end ----------------------------------------------------


@pytest.mark.parametrize(
    ("grace", "expected"),
    [
        pytest.param(None, timedelta(days=2), id="default-2d"),
        pytest.param("3d", timedelta(days=3), id="3d"),
        pytest.param("PT12H", timedelta(hours=12), id="iso"),
    ],
)
def test_rule5_unreachable_at_is_last_touch_plus_grace(
    grace: str | None, expected: timedelta
) -> None:
    dealer = plan() if grace is None else plan(grace=grace)
    last = ams(2026, 12, 8, 9, 12)
    assert unreachable_at(dealer, last) == last + expected


# --- rule 4 over a whole cadence -------------------------------------------------------------

# A week in 7-hour steps (every hour of the day comes up), then holidays and DST weekends.
ARRIVALS = [ams(2026, 11, 22, 3) + timedelta(hours=7 * n) for n in range(24)] + [
    ams(2026, 12, 24, 20, 30),
    ams(2026, 12, 31, 23, 59),
    ams(2027, 3, 27, 20),
    ams(2027, 4, 26, 17),
    ams(2027, 10, 30, 19, 45),
]
PATTERNS = {
    "written": [False] * 8,
    "alternate-calls": [n % 2 == 0 for n in range(1, 9)],
    "all-calls": [True] * 8,
}


@pytest.mark.parametrize("pattern", list(PATTERNS))
@pytest.mark.parametrize("arrival", ARRIVALS, ids=lambda a: f"{a:%a-%Y%m%d-%H%M}")
def test_rule4_every_later_touch_of_default_cadence_lies_inside_the_window(
    arrival: datetime, pattern: str
) -> None:
    previous: datetime | None = None
    due_times = []
    for touch, is_call in enumerate(PATTERNS[pattern], start=1):
        due = touch_due(DEFAULT, LEAD, touch, arrival, previous, is_call)
        due_times.append(due)
        previous = due
        if touch == 1 and not is_call:
            assert due == arrival  # the first written answer at once
            continue
        assert is_open(DEFAULT.contact_window, due, AMS), f"touch {touch} at {due}"
        if is_call:
            assert is_open(DEFAULT.business_hours, due, AMS), f"call {touch} at {due}"
        assert due >= arrival + DEFAULT.cadence[touch - 1]
    assert due_times == sorted(set(due_times))
    assert unreachable_at(DEFAULT, due_times[-1]) == due_times[-1] + timedelta(days=2)


# --- rule 1: blank leads ---------------------------------------------------------------------

BLANK_LEADS = [
    pytest.param(Lead(kind=kind, customer=Customer(email="p@example.nl")), id=kind.value)
    for kind in LeadKind
] + [
    pytest.param(
        Lead(
            source="marktplaats",
            kind=LeadKind.OFFER,
            offer_amount=1,
            customer=Customer(email="x@no-such-domain-blanco-test.nl", phone="0000000000"),
        ),
        id="low-bid-placeholder-phone",
    ),
    pytest.param(Lead(source="autotrack", reply_url="https://p.example/c/1"), id="chat-only"),
    pytest.param(
        Lead(
            source="website",
            customer=Customer(
                name="Pieter de Vries", email="p@example.nl", phone="06 2849 1735", locale="nl"
            ),
            message="Ik wil een proefrit",
        ),
        id="complete",
    ),
]


def _schedule(lead: Lead) -> list[datetime]:
    conversation = Conversation.start(LEAD, lead, DEFAULT, ams(2026, 11, 24, 19))
    due_times = []
    while isinstance(step := conversation.next_step(), TouchDue):
        assert step.channel is None or step.channel.written  # no call unasked
        conversation.record_touch(
            Touch(number=step.number, channel=step.channel, at=step.at, template="t")
        )
        due_times.append(step.at)
    assert isinstance(step, CadenceDone)
    return [*due_times, step.at]


@pytest.mark.parametrize("lead", BLANK_LEADS)
def test_rule1_schedule_does_not_depend_on_kind_source_or_data(lead: Lead) -> None:
    reference = _schedule(Lead(customer=Customer(email="p@example.nl")))
    assert len(reference) == len(DEFAULT.cadence) + 1
    assert _schedule(lead) == reference
