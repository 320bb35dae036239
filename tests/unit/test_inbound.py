"""leads.inbound: rule 6 (a reply goes to a human — but an auto-reply is not a reply) and rule 7
(STOP, unsubscribes, bounces and spam reports suppress the channel at once), plus the order of
delivery reports. Pure functions, tables only: no Temporal, no network, no clock."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from typing import Any

import pytest

from leads.inbound import (
    AUTO_REPLY_DEFAULT_POSTPONE,
    AutoReply,
    EventAction,
    Keyword,
    advance,
    auto_reply,
    opt_keyword,
    sendgrid_event_action,
    twilio_failure_permanent,
    twilio_status,
    with_attachments,
)
from leads.models import Channel, DeliveryStatus

STOP, START = Keyword.STOP, Keyword.START
Q, S, D, R = (
    DeliveryStatus.QUEUED,
    DeliveryStatus.SENT,
    DeliveryStatus.DELIVERED,
    DeliveryStatus.READ,
)
U, F = DeliveryStatus.UNDELIVERED, DeliveryStatus.FAILED
EMAIL = Channel.EMAIL

TODAY = date(2026, 11, 20)  # a Friday
NO_HEADERS: dict[str, str] = {}
OOO = {"Auto-Submitted": "auto-replied"}  # any auto-reply: the return date comes from the text


# --- rule 7: SMS / WhatsApp keywords ---------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("STOP", STOP),
        ("stop", STOP),
        ("Stop", STOP),
        ("  stop \n", STOP),
        ("Stop.", STOP),
        ("STOP!", STOP),
        ("stop?!", STOP),
        ("Stop !", STOP),
        ("STOPALL", STOP),
        ("Unsubscribe", STOP),
        ("cancel", STOP),
        ("END", STOP),
        ("Quit.", STOP),
        ("OPTOUT", STOP),
        ("revoke", STOP),
        ("AFMELDEN", STOP),
        ("Afmelden!", STOP),
        ("uitschrijven", STOP),
        ("ＳＴＯＰ", STOP),  # full-width letters from a phone keyboard
        ("START", START),
        ("start", START),
        ("Unstop", START),
        ("Start.", START),
    ],
)
def test_rule7_sms_keywords(body: str, expected: Keyword) -> None:
    assert opt_keyword(body) is expected


@pytest.mark.parametrize(
    "body",
    [
        "yes",
        "Yes!",
        "Ja",
        "stop the car please",
        "Stop! I already bought one",
        "Stop met bellen, ik mail wel",
        "Kunt u stoppen met sms'en?",
        "Please don't stop, I'm interested",
        "STOP STOP",  # decided: the message must be exactly one keyword; a human reads it
        "STOP ALL",
        "stop-",
        "'stop'",
        "stopp",
        "unsubscribe me",
        "start the test drive at 10?",
        "Wanneer kan ik langskomen?",
        "",
        "   ",
        "?",
        "...",
    ],
)
def test_rule6_sms_sentence_with_a_keyword_is_a_reply(body: str) -> None:
    assert opt_keyword(body) is None


# --- rule 6: auto-replies are not replies ----------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"Auto-Submitted": "auto-replied"}, id="auto-submitted-auto-replied"),
        pytest.param({"Auto-Submitted": "auto-generated"}, id="auto-submitted-auto-generated"),
        pytest.param({"auto-submitted": "Auto-Replied"}, id="lowercase-name-mixed-value"),
        pytest.param({"AUTO-SUBMITTED": "auto-notified"}, id="uppercase-name"),
        pytest.param(
            {"Auto-Submitted": "auto-replied; owner-email=jan@example.nl"}, id="with-parameter"
        ),
        pytest.param({"X-Autoreply": "yes"}, id="x-autoreply"),
        pytest.param({"x-autoreply": ""}, id="x-autoreply-empty-value"),
        pytest.param({"X-Autorespond": "Out of office"}, id="x-autorespond"),
        pytest.param({"Precedence": "auto_reply"}, id="precedence-auto-reply"),
        pytest.param({"Precedence": "bulk"}, id="precedence-bulk"),
        pytest.param({"precedence": "Junk"}, id="precedence-junk"),
        pytest.param(
            {"X-Auto-Response-Suppress": "All", "Auto-Submitted": "auto-generated"},
            id="outlook-real-auto-reply",
        ),
    ],
)
def test_rule6_auto_reply_is_not_a_reply_by_header(headers: dict[str, str]) -> None:
    assert auto_reply(headers, "Re: Uw aanvraag", "Bedankt!", TODAY) == AutoReply(until=None)


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no-headers"),
        pytest.param({"X-Auto-Response-Suppress": "All"}, id="outlook-normal-mail"),
        pytest.param({"x-auto-response-suppress": "DR, RN, NRN, OOF, AutoReply"}, id="outlook-2"),
        pytest.param({"Auto-Submitted": "no"}, id="auto-submitted-no"),
        pytest.param({"Auto-Submitted": " No "}, id="auto-submitted-no-spaced"),
        pytest.param({"Auto-Submitted": ""}, id="auto-submitted-empty"),
        pytest.param({"Precedence": "list"}, id="precedence-list"),
        pytest.param({"Precedence": "first-class"}, id="precedence-other"),
        pytest.param({"In-Reply-To": "<touch-1@blanco>", "From": "jan@example.nl"}, id="normal"),
    ],
)
def test_rule6_person_reply_headers_are_a_reply(headers: dict[str, str]) -> None:
    assert auto_reply(headers, "Re: Uw aanvraag", "Ja, zaterdag past mij.", TODAY) is None


@pytest.mark.parametrize(
    "subject",
    [
        "Out of Office",
        "out of office: Uw aanvraag",
        "Out of the office",
        "OUT OF OFFICE - back Monday",
        "Automatic reply: Uw aanvraag voor een proefrit",
        "Re: Automatic reply: Uw aanvraag",
        "Auto reply",
        "Auto-Reply: your request",
        "Autoreply: Re: Golf 8",
        "Automatisch antwoord: Uw aanvraag",
        "Antw: Automatisch antwoord: Uw aanvraag",
        "Afwezig",
        "Afwezig t/m 28-11",
        "Niet aanwezig (tot 1 december)",
        "Abwesenheitsnotiz: Ihre Anfrage",
        "AW: Abwesenheitsnotiz",
        "Automatische Antwort: Ihre Anfrage",
        "Vacation",
        "RE: Vacation: Uw aanvraag",
        "Re: Re: Out of Office",
        "Fwd: Out of office",
    ],
)
def test_rule6_auto_reply_is_not_a_reply_by_subject(subject: str) -> None:
    assert auto_reply(NO_HEADERS, subject, "", TODAY) is not None


@pytest.mark.parametrize(
    "subject",
    [
        "Re: Uw aanvraag",
        "RE: Uw aanvraag voor een proefrit",
        "AW: Ihre Anfrage",
        "Re: Golf 8 — is hij nog beschikbaar?",
        "Vraag over de auto",
        "Re: Uw aanvraag (ik ben afwezig geweest)",  # marker not at the start
        "Afwezigheid van mijn partner",  # 'afwezig' inside a longer word
        "Vacations and test drives",
        "Autoreplyless",
        "",
    ],
)
def test_rule6_normal_subject_is_a_reply(subject: str) -> None:
    assert auto_reply(NO_HEADERS, subject, "Graag een proefrit.", TODAY) is None


def test_rule6_auto_reply_body_alone_does_not_make_an_auto_reply() -> None:
    """A person may write 'I am back on 2 December': that is a reply for a salesperson."""
    text = "Ik ben afwezig tot 1 december, bel me daarna maar."
    assert auto_reply(NO_HEADERS, "Re: Uw aanvraag", text, TODAY) is None


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


def test_rule6_auto_reply_without_date_postpones_a_day() -> None:
    assert auto_reply(OOO, "Out of Office", "I am away.", TODAY) == AutoReply(until=None)
    assert timedelta(days=1) == AUTO_REPLY_DEFAULT_POSTPONE


def test_rule6_auto_reply_long_quoted_history_is_fine() -> None:
    text = "back on 2 December\n" + "> quoted line 8.30 t/m tot back weer\n" * 20_000
    assert auto_reply(OOO, "Out of Office", text, TODAY) == AutoReply(until=date(2026, 12, 2))


# --- delivery status ---------------------------------------------------------------------------

NEW_ORDER = (Q, S, D, R, U, F)
# current → the status after a report of each of NEW_ORDER
ADVANCE_TABLE: dict[DeliveryStatus | None, tuple[DeliveryStatus, ...]] = {
    None: (Q, S, D, R, U, F),  # the first report is taken as it is
    Q: (Q, S, D, R, U, F),  # a read implies it was delivered
    S: (S, S, D, R, U, F),
    D: (D, D, D, R, D, D),  # a failure after delivery is a late report
    R: (R, R, R, R, R, R),
    U: (U, U, U, U, U, U),  # terminal
    F: (F, F, F, F, F, F),  # terminal
}
ADVANCE_ROWS = [
    pytest.param(current, new, row[k], id=f"{current}-then-{new}")
    for current, row in ADVANCE_TABLE.items()
    for k, new in enumerate(NEW_ORDER)
]
RANK = {Q: 0, S: 1, D: 2, R: 3}


def test_advance_table_covers_every_pair() -> None:
    assert len(ADVANCE_ROWS) == (len(DeliveryStatus) + 1) * len(DeliveryStatus)
    assert set(NEW_ORDER) == set(DeliveryStatus)
    assert set(ADVANCE_TABLE) == {None, *DeliveryStatus}


@pytest.mark.parametrize(("current", "new", "expected"), ADVANCE_ROWS)
def test_delivery_status_never_moves_backwards(
    current: DeliveryStatus | None, new: DeliveryStatus, expected: DeliveryStatus
) -> None:
    assert advance(current, new) is expected


@pytest.mark.parametrize(
    ("current", "new"), list(itertools.product(list(DeliveryStatus), list(DeliveryStatus)))
)
def test_delivery_status_invariants(current: DeliveryStatus, new: DeliveryStatus) -> None:
    result = advance(current, new)
    assert result in (current, new)
    if current in (U, F):
        assert result is current
    elif result in RANK:
        assert RANK[result] >= RANK[current]
    assert advance(result, new) is result  # a repeated report changes nothing


def test_delivery_status_out_of_order_reports_end_in_the_furthest_state() -> None:
    for reports in itertools.permutations((Q, S, D, R)):
        status: DeliveryStatus | None = None
        for report in reports:
            status = advance(status, report)
        assert status in (D, R)  # read can be lost only when it arrives before sent


# --- Twilio ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("accepted", Q),
        ("scheduled", Q),
        ("queued", Q),
        ("sending", Q),
        ("sent", S),
        ("delivered", D),
        ("read", R),
        ("undelivered", U),
        ("failed", F),
        ("canceled", F),
        ("Delivered", D),
        (" sent ", S),
        ("receiving", None),
        ("received", None),
        ("partially_delivered", None),
        ("unknown", None),
        ("", None),
        ("cancelled", None),
    ],
)
def test_twilio_status_mapping(value: str, expected: DeliveryStatus | None) -> None:
    assert twilio_status(value) is expected


@pytest.mark.parametrize(
    ("code", "permanent"),
    [
        (21211, True),  # invalid number
        (21612, True),  # not reachable
        (21614, True),  # not a mobile number
        (21610, True),  # unsubscribed recipient
        (30004, True),  # blocked by recipient
        (30005, True),  # unknown destination
        (30006, True),  # landline or unreachable carrier
        (63003, True),  # not a WhatsApp user
        (63024, True),  # invalid recipient
        (30001, False),  # queue overflow
        (30003, False),  # handset unreachable (switched off)
        (30007, False),  # carrier filtering: our content, not the address
        (30008, False),  # unknown error
        (63016, False),  # outside the WhatsApp 24-hour window: our timing
        (20429, False),  # rate limited
        (0, False),
        (None, False),
    ],
)
def test_rule7_twilio_permanent_failure_codes(code: int | None, permanent: bool) -> None:
    assert twilio_failure_permanent(code) is permanent


# --- SendGrid --------------------------------------------------------------------------------

ADDRESS = "jan.de.vries@example.nl"
SERVER_TEXT = f"550 5.1.1 <{ADDRESS}>: Recipient address rejected: User unknown"


def failed(reason: str, permanent: bool) -> EventAction:
    return EventAction("failed", EMAIL, permanent=permanent, reason=reason)


def opt_out(reason: str) -> EventAction:
    return EventAction("opt_out", EMAIL, permanent=True, reason=reason)


IGNORE = EventAction("ignore", EMAIL)

SENDGRID_ROWS: list[tuple[dict[str, Any], EventAction]] = [
    ({"event": "bounce", "type": "bounce", "reason": SERVER_TEXT}, failed("bounce", True)),
    ({"event": "bounce", "reason": SERVER_TEXT}, failed("bounce", True)),
    ({"event": "bounce", "type": ""}, failed("bounce", True)),
    ({"event": "bounce", "type": "blocked", "reason": SERVER_TEXT}, failed("blocked", False)),
    ({"event": "bounce", "type": "expired"}, failed("expired", False)),
    ({"event": "bounce", "type": "something-new"}, failed("bounce", True)),
    (
        {"event": "dropped", "reason": "Bounced Address"},
        failed("dropped: Bounced Address", True),
    ),
    ({"event": "dropped", "reason": "Invalid"}, failed("dropped: Invalid", True)),
    ({"event": "dropped", "reason": "invalid"}, failed("dropped: Invalid", True)),
    (
        {"event": "dropped", "reason": "Unsubscribed Address"},
        opt_out("dropped: Unsubscribed Address"),
    ),
    (
        {"event": "dropped", "reason": "Spam Reporting Address"},
        opt_out("dropped: Spam Reporting Address"),
    ),
    (
        {"event": "dropped", "reason": "Invalid SMTPAPI header"},
        failed("dropped: Invalid SMTPAPI header", False),  # our bug, not the address
    ),
    (
        {"event": "dropped", "reason": "Spam Content (if Spam Checker app is enabled)"},
        failed("dropped: Spam Content", False),  # our content, not the address
    ),
    (
        {"event": "dropped", "reason": "Recipient List over Package Quota"},
        failed("dropped: Recipient List over Package Quota", False),
    ),
    ({"event": "dropped", "reason": f"Blocked: {ADDRESS}"}, failed("dropped", True)),
    ({"event": "dropped"}, failed("dropped", True)),
    ({"event": "spamreport"}, opt_out("spam report")),
    ({"event": "unsubscribe"}, opt_out("unsubscribe")),
    ({"event": "group_unsubscribe", "asm_group_id": 7}, opt_out("group unsubscribe")),
    ({"event": "group_resubscribe"}, IGNORE),
    ({"event": "deferred", "response": "400 try again later"}, IGNORE),
    ({"event": "processed"}, IGNORE),
    ({"event": "click", "url": "https://autohuis-west.nl"}, IGNORE),
    ({"event": "something_new"}, IGNORE),
    ({}, IGNORE),
    ({"event": 42}, IGNORE),
    ({"event": "BOUNCE"}, failed("bounce", True)),
]


@pytest.mark.parametrize(("event", "expected"), SENDGRID_ROWS)
def test_rule7_sendgrid_event_actions(event: dict[str, Any], expected: EventAction) -> None:
    assert sendgrid_event_action({"email": ADDRESS, **event}) == expected


def status(value: DeliveryStatus) -> EventAction:
    return EventAction("status", EMAIL, status=value)


# Issue 10, acceptance 2: every message in the thread shows its delivery status, e-mail too.
SENDGRID_STATUS_ROWS: list[tuple[dict[str, Any], EventAction]] = [
    ({"event": "delivered", "response": "250 OK"}, status(D)),
    ({"event": "Delivered"}, status(D)),
    ({"event": "open", "useragent": "Mozilla/5.0"}, status(R)),
    ({"event": "open", "sg_machine_open": False}, status(R)),
    # Apple Mail Privacy Protection opens every mail on arrival: delivered, not read.
    ({"event": "open", "sg_machine_open": True}, status(D)),
    ({"event": "open", "sg_machine_open": "true"}, status(D)),
    ({"event": "processed"}, IGNORE),  # accepted by SendGrid: the send said so already
    ({"event": "deferred", "attempt": "3"}, IGNORE),  # still trying: neither way yet
    ({"event": "click"}, IGNORE),
]


@pytest.mark.parametrize(("event", "expected"), SENDGRID_STATUS_ROWS)
def test_issue10_sendgrid_delivery_status_reaches_the_thread(
    event: dict[str, Any], expected: EventAction
) -> None:
    assert sendgrid_event_action({"email": ADDRESS, **event}) == expected


@pytest.mark.parametrize("event", [event for event, _ in SENDGRID_STATUS_ROWS])
def test_rule7_a_delivery_report_never_suppresses_the_channel(event: dict[str, Any]) -> None:
    """Only bounces, drops, spam reports and unsubscribes stop e-mail: a report of progress
    is never read as a failure or an opt-out."""
    assert sendgrid_event_action(event).kind in ("status", "ignore")
    assert not sendgrid_event_action(event).permanent


FIXED_REASONS = {
    "",
    "bounce",
    "blocked",
    "expired",
    "dropped",
    "spam report",
    "unsubscribe",
    "group unsubscribe",
    "dropped: Bounced Address",
    "dropped: Invalid",
    "dropped: Unsubscribed Address",
    "dropped: Spam Reporting Address",
    "dropped: Invalid SMTPAPI header",
    "dropped: Spam Content",
    "dropped: Recipient List over Package Quota",
}


@pytest.mark.parametrize(
    "event",
    [
        {"event": "bounce", "type": "bounce", "reason": SERVER_TEXT, "status": "5.1.1"},
        {"event": "bounce", "type": "blocked", "reason": SERVER_TEXT},
        {"event": "bounce", "type": ADDRESS},
        {"event": "dropped", "reason": SERVER_TEXT},
        {"event": "dropped", "reason": ADDRESS},
        {"event": "spamreport", "reason": ADDRESS},
        {"event": "deferred", "response": SERVER_TEXT},
    ],
)
def test_rule7_sendgrid_reason_never_copies_event_text(event: dict[str, Any]) -> None:
    action = sendgrid_event_action({"email": ADDRESS, **event})
    assert ADDRESS not in action.reason
    assert "jan" not in action.reason.casefold()
    assert action.reason in FIXED_REASONS
    assert action.channel is EMAIL


# --- attachments: a reply that says what came (issue 9, finding 6) --------------------------


@pytest.mark.parametrize(
    ("text", "types", "expected"),
    [
        pytest.param("", ["image/jpeg"], "[attachment: image/jpeg]", id="photo-only"),
        pytest.param(
            "Kijk", ["image/jpeg", "application/pdf"],
            "Kijk\n[2 attachments: image/jpeg, application/pdf]", id="text-and-two",
        ),
        pytest.param("", ["image/png", "IMAGE/PNG"], "[2 attachments: image/png]", id="same-type"),
        pytest.param("  Hoi  ", [], "Hoi", id="no-attachments"),
        pytest.param("", [""], "[attachment: unknown type]", id="no-type"),
    ],
)  # fmt: skip
def test_rule6_attachments_make_a_reply_that_says_so(
    text: str, types: list[str], expected: str
) -> None:
    assert with_attachments(text, types) == expected
