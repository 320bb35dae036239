"""leads.auto_reply: rule 6 (a reply goes to a human — but an auto-reply is not a reply).
Tables only: no Temporal, no network, no clock."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from leads.auto_reply import AUTO_REPLY_DEFAULT_POSTPONE, AutoReply, auto_reply

TODAY = date(2026, 11, 20)  # a Friday
NO_HEADERS: dict[str, str] = {}
OOO = {"Auto-Submitted": "auto-replied"}  # any auto-reply: the return date comes from the text


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


def test_rule6_auto_reply_without_date_postpones_a_day() -> None:
    assert auto_reply(OOO, "Out of Office", "I am away.", TODAY) == AutoReply(until=None)
    assert timedelta(days=1) == AUTO_REPLY_DEFAULT_POSTPONE
