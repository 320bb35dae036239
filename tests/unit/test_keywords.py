"""leads.keywords: rule 7 (STOP suppresses the channel at once, START opts back in) and
rule 6 (a sentence with a keyword in it is a reply for a human). Tables only."""

from __future__ import annotations

import pytest

from leads.keywords import Keyword, opt_keyword

STOP, START = Keyword.STOP, Keyword.START


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
