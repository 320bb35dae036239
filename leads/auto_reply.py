"""Whether an e-mail is an auto-reply ("out of office", "afwezig t/m 28 november") rather
than a person's reply (rule 6 in docs/architecture.md).

An auto-reply must not stop the cadence or open a salesperson task; it only postpones the
next touch, to the return date when one can be read (`leads.return_date`), else by
`AUTO_REPLY_DEFAULT_POSTPONE`. When in doubt a message counts as a person's reply: a missed
customer is worse than a needless task.

Pure functions: no Temporal, no network, no clock (``today`` is an argument), no regexes.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from leads.return_date import return_date

__all__ = ["AUTO_REPLY_DEFAULT_POSTPONE", "AutoReply", "auto_reply"]

# How far an auto-reply without a (believable) return date pushes the next touch.
AUTO_REPLY_DEFAULT_POSTPONE = timedelta(days=1)


@dataclass(frozen=True)
class AutoReply:
    until: date | None  # the return date when one can be read from the subject/body, else None


_AUTO_PRECEDENCE = frozenset({"auto_reply", "bulk", "junk"})
_AUTO_HEADERS_PRESENT = ("x-autoreply", "x-autorespond")
# Reply and forward prefixes that may stand before an auto-reply marker ("AW: Abwesenheitsnotiz").
_SUBJECT_PREFIXES = ("re", "aw", "antw", "fw", "fwd", "wg", "doorst")
_SUBJECT_MARKERS = (
    "out of office",
    "out of the office",
    "automatic reply",
    "auto reply",
    "auto-reply",
    "autoreply",
    "automatisch antwoord",
    "automatische antwort",
    "afwezig",
    "niet aanwezig",
    "abwesenheitsnotiz",
    "vacation",
)
_MAX_SCANNED_CHARS = 10_000  # auto-replies are short; the rest is quoted history


def auto_reply(
    headers: Mapping[str, str], subject: str, text: str, today: date
) -> AutoReply | None:
    """None when this is a message from a person, else the auto-reply and its return date.

    Auto-reply by header (names case-insensitive): ``Auto-Submitted`` with a value other than
    ``no``; any ``X-Autoreply`` / ``X-Autorespond``; ``Precedence: auto_reply|bulk|junk``.
    ``X-Auto-Response-Suppress`` alone is not one (Outlook puts it on normal mail).
    Auto-reply by subject: it starts — after any 'Re:', 'AW:', 'Fwd:' … — with a marker such as
    'Out of Office', 'Automatic reply', 'Automatisch antwoord', 'Afwezig', 'Abwesenheitsnotiz'.

    The return date is read from subject and text (Dutch and English, day-first numbers):
    'back on 2 December', 'vanaf maandag 30 november weer aanwezig', 'weer op kantoor op
    3 december' → that day; 'tot en met 28 november', 't/m 28-11', 'through Nov 28' → the day
    after; 'tot 1 december', 'until 01/12/2026' → that day. A date without a year is its next
    occurrence on or after ``today``. Dates in the past or more than 90 days ahead are ignored.
    """
    if not (_auto_by_headers(headers) or _auto_by_subject(subject)):
        return None
    return AutoReply(until=return_date(f"{subject}\n{text[:_MAX_SCANNED_CHARS]}", today))


def _auto_by_headers(headers: Mapping[str, str]) -> bool:
    fields = {name.strip().casefold(): value.strip().casefold() for name, value in headers.items()}
    # RFC 3834: "auto-replied; owner-email=…" — the keyword comes before any parameter. An empty
    # value is treated like an absent header ("no"): when in doubt, a person wrote it.
    submitted = fields.get("auto-submitted", "").split(";", 1)[0].strip()
    if submitted and submitted != "no":
        return True
    if any(name in fields for name in _AUTO_HEADERS_PRESENT):
        return True
    return fields.get("precedence", "").split(";", 1)[0].strip() in _AUTO_PRECEDENCE


def _auto_by_subject(subject: str) -> bool:
    rest = _strip_subject_prefixes(unicodedata.normalize("NFKC", subject).strip().casefold())
    for marker in _SUBJECT_MARKERS:
        if rest.startswith(marker):
            after = rest[len(marker) : len(marker) + 1]
            if not after or not after.isalnum():
                return True
    return False


def _strip_subject_prefixes(subject: str) -> str:
    stripped = True
    while stripped:
        stripped = False
        for prefix in _SUBJECT_PREFIXES:
            if subject.startswith(prefix + ":"):
                subject = subject[len(prefix) + 1 :].lstrip()
                stripped = True
    return subject
