"""STOP and START: whether a customer's written message is an opt-out keyword (rule 7 in
docs/architecture.md): STOP (and its Dutch and Twilio variants) suppresses that channel at
once, START opts back in, and anything else is a reply for a human.

Pure functions: no Temporal, no network, no clock, no regexes.
"""

from __future__ import annotations

import unicodedata
from enum import StrEnum

__all__ = ["Keyword", "opt_keyword"]

# SMS, WhatsApp and platform chat messages end with "Stuur STOP …" / "Reply STOP …"; e-mail
# carries an unsubscribe link (and List-Unsubscribe) instead.


class Keyword(StrEnum):
    STOP = "stop"
    START = "start"


_KEYWORDS: dict[str, Keyword] = {
    # Twilio's standard opt-out words (OPTOUT and REVOKE were added by Twilio in 2025; its
    # carrier-level block applies to them too, so the engine must agree), plus Dutch.
    **dict.fromkeys(
        (
            "stop",
            "stopall",
            "unsubscribe",
            "cancel",
            "end",
            "quit",
            "optout",
            "revoke",
            "afmelden",
            "uitschrijven",
        ),
        Keyword.STOP,
    ),
    # Twilio also treats YES as opt-in; here 'yes' is an answer to a question: a reply.
    **dict.fromkeys(("start", "unstop"), Keyword.START),
}
_TRAILING_PUNCTUATION = ".!?"


def opt_keyword(body: str) -> Keyword | None:
    """A customer's SMS, WhatsApp or platform-chat message: STOP / STOPALL / UNSUBSCRIBE /
    CANCEL / END / QUIT / OPTOUT / REVOKE / AFMELDEN / UITSCHRIJVEN → STOP; START / UNSTOP →
    START; anything else → None (a reply for a human).

    The whole message must be one keyword: case-insensitive, surrounding whitespace and
    trailing ``. ! ?`` ignored. 'Stop.' → STOP; 'STOP STOP', 'Stop!! the calls', 'yes' → None.
    """
    text = unicodedata.normalize("NFKC", body).strip()
    text = text.rstrip(_TRAILING_PUNCTUATION).strip()
    return _KEYWORDS.get(text.casefold())
