"""What an inbound message or a provider event means for the lead (rules 6 and 7 in
docs/architecture.md).

Rule 6 — a reply goes to a human, immediately. But an auto-reply ("out of office", "afwezig
t/m 28 november") is not a reply: it must not stop the cadence or open a salesperson task;
it only postpones the next touch, to the return date when one can be read, else by
`AUTO_REPLY_DEFAULT_POSTPONE`. When in doubt a message counts as a person's reply: a missed
customer is worse than a needless task.

Rule 7 — respect. STOP (and its Dutch and Twilio variants), unsubscribes, bounces and spam
reports suppress that channel at once; a provider's temporary trouble does not.

Pure functions: no Temporal, no network, no clock (``today`` is an argument), no regexes.
Nothing here copies free text from a provider into its results, so no personal data leaks
into a workflow's history or the logs through them.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any, Literal

from leads.models import Channel, DeliveryStatus
from leads.twilio_errors import Verdict, twilio_verdict

__all__ = [
    "AUTO_REPLY_DEFAULT_POSTPONE",
    "AutoReply",
    "EventAction",
    "Keyword",
    "advance",
    "attachment_note",
    "auto_reply",
    "opt_keyword",
    "sendgrid_event_action",
    "twilio_failure_permanent",
    "twilio_status",
    "with_attachments",
]

# How far an auto-reply without a (believable) return date pushes the next touch.
AUTO_REPLY_DEFAULT_POSTPONE = timedelta(days=1)
_RETURN_DATE_HORIZON = timedelta(days=90)  # a return date further ahead is not believed


# --- STOP / START on every written channel that promises it (rule 7) -------------------------
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


def attachment_note(content_types: list[str]) -> str:
    """What a reply's attachments add to its text, so a photo sent without words is still a
    reply that says what came ('[attachment: image/jpeg]'); media types only, no file names
    (which a customer may have named after themselves). Empty without attachments."""
    if not content_types:
        return ""
    kinds = ", ".join(dict.fromkeys(t.strip().lower() or "unknown type" for t in content_types))
    count = len(content_types)
    return f"[{count} attachments: {kinds}]" if count > 1 else f"[attachment: {kinds}]"


def with_attachments(text: str, content_types: list[str]) -> str:
    """The reply's text followed by its attachment note, on a line of its own."""
    note = attachment_note(content_types)
    return "\n".join(part for part in (text.strip(), note) if part)


# --- e-mail auto-replies (rule 6) -------------------------------------------------------------


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
    return AutoReply(until=_return_date(f"{subject}\n{text[:_MAX_SCANNED_CHARS]}", today))


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


# --- return dates -----------------------------------------------------------------------------

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


def _return_date(text: str, today: date) -> date | None:
    """The first believable explicit return date ('back on', 'weer … op', 'vanaf … weer');
    else the first believable end of the absence ('t/m', 'tot', 'until')."""
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


# --- delivery status (reports arrive out of order) --------------------------------------------

_PROGRESS: dict[DeliveryStatus, int] = {
    DeliveryStatus.QUEUED: 0,
    DeliveryStatus.SENT: 1,
    DeliveryStatus.DELIVERED: 2,
    DeliveryStatus.READ: 3,
}
_TERMINAL_FAILURES = frozenset({DeliveryStatus.UNDELIVERED, DeliveryStatus.FAILED})


def advance(current: DeliveryStatus | None, new: DeliveryStatus) -> DeliveryStatus:
    """The message's status after a report of ``new``; it never moves backwards.

    queued < sent < delivered < read. Undelivered and failed are terminal: nothing moves them
    (not even the other failure). A failure after delivered or read is a late or out-of-order
    report: the message stays delivered/read. A read report implies delivery, so it is taken from
    any earlier state. The first report (``current`` None) is taken as it is.
    """
    if current is None:
        return new
    if current in _TERMINAL_FAILURES:
        return current
    rank = _PROGRESS[current]
    if new in _TERMINAL_FAILURES:
        return current if rank >= _PROGRESS[DeliveryStatus.DELIVERED] else new
    return new if _PROGRESS[new] > rank else current


# --- Twilio -----------------------------------------------------------------------------------

_TWILIO_STATUSES: dict[str, DeliveryStatus] = {
    "accepted": DeliveryStatus.QUEUED,
    "scheduled": DeliveryStatus.QUEUED,
    "queued": DeliveryStatus.QUEUED,
    "sending": DeliveryStatus.QUEUED,
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.READ,
    "undelivered": DeliveryStatus.UNDELIVERED,
    "failed": DeliveryStatus.FAILED,
    "canceled": DeliveryStatus.FAILED,
}


def twilio_status(value: str) -> DeliveryStatus | None:
    """Twilio ``MessageStatus`` → DeliveryStatus; None for receiving, received,
    partially_delivered, unknown and anything else (case and surrounding blanks ignored)."""
    return _TWILIO_STATUSES.get(value.strip().casefold())


def twilio_failure_permanent(error_code: int | None) -> bool:
    """True when a failed/undelivered message's ``ErrorCode`` means this number can never
    receive on this channel (`leads.twilio_errors`, the table the send path reads too);
    anything else — temporary trouble, our own content or sender, no code — is False."""
    return twilio_verdict(error_code) is Verdict.ADDRESS


# --- SendGrid Event Webhook -------------------------------------------------------------------


@dataclass(frozen=True)
class EventAction:
    kind: Literal["failed", "opt_out", "status", "ignore"]
    channel: Channel  # Channel.EMAIL for SendGrid
    permanent: bool = False
    reason: str = ""  # short, never personal data: e.g. "bounce", "dropped: Bounced Address"
    status: DeliveryStatus | None = None  # kind "status": how far the message got


# SendGrid's fixed `reason` values of a dropped event (case-insensitive key → canonical text),
# and whether the drop says something about the address (permanent) or about our sending.
_DROPPED_REASONS: dict[str, tuple[str, bool]] = {
    "bounced address": ("Bounced Address", True),
    "invalid": ("Invalid", True),
    "unsubscribed address": ("Unsubscribed Address", True),
    "spam reporting address": ("Spam Reporting Address", True),
    "invalid smtpapi header": ("Invalid SMTPAPI header", False),
    "spam content (if spam checker app is enabled)": ("Spam Content", False),
    "spam content": ("Spam Content", False),
    "recipient list over package quota": ("Recipient List over Package Quota", False),
}
_DROPPED_OPT_OUT = frozenset({"Unsubscribed Address", "Spam Reporting Address"})
_OPT_OUT_EVENTS: dict[str, str] = {
    "spamreport": "spam report",
    "unsubscribe": "unsubscribe",
    "group_unsubscribe": "group unsubscribe",
}
_BOUNCE_TYPES: dict[str, tuple[str, bool]] = {
    "bounce": ("bounce", True),
    "blocked": ("blocked", False),  # the receiving server refuses for now
    "expired": ("expired", False),  # retried for days without success: not a verdict
}
_STATUS_EVENTS: dict[str, DeliveryStatus] = {
    "delivered": DeliveryStatus.DELIVERED,
    "open": DeliveryStatus.READ,
}


def sendgrid_event_action(event: Mapping[str, Any]) -> EventAction:
    """One SendGrid Event Webhook event → what the lead's workflow should hear.

    bounce (type 'bounce' or none) → failed, permanent; type 'blocked' or 'expired' → failed,
    temporary. dropped → failed, permanent, with SendGrid's fixed reason ('dropped: Invalid');
    but 'Unsubscribed Address' / 'Spam Reporting Address' → opt_out, and drops caused by our
    own sending ('Invalid SMTPAPI header', 'Spam Content', quota) → failed, temporary.
    spamreport, unsubscribe, group_unsubscribe → opt_out. delivered → status delivered; open →
    status read, except an open by a machine (`sg_machine_open`: Apple Mail Privacy Protection
    fetches every mail's images on arrival), which proves delivery only. Everything else
    (processed, deferred, click …) → ignore.
    Never copies free text from the event: every ``reason`` is one of the fixed strings here.
    """
    name = _field(event, "event")
    if name == "bounce":
        reason, permanent = _BOUNCE_TYPES.get(_field(event, "type") or "bounce", ("bounce", True))
        return EventAction("failed", Channel.EMAIL, permanent=permanent, reason=reason)
    if name == "dropped":
        known = _DROPPED_REASONS.get(_field(event, "reason"))
        if known is None:
            return EventAction("failed", Channel.EMAIL, permanent=True, reason="dropped")
        text, permanent = known
        kind: Literal["failed", "opt_out"] = "opt_out" if text in _DROPPED_OPT_OUT else "failed"
        return EventAction(kind, Channel.EMAIL, permanent=permanent, reason=f"dropped: {text}")
    if name in _OPT_OUT_EVENTS:
        return EventAction("opt_out", Channel.EMAIL, permanent=True, reason=_OPT_OUT_EVENTS[name])
    if name in _STATUS_EVENTS:
        status = _STATUS_EVENTS[name]
        if name == "open" and event.get("sg_machine_open") in (True, "true", "True"):
            status = DeliveryStatus.DELIVERED
        return EventAction("status", Channel.EMAIL, status=status)
    return EventAction("ignore", Channel.EMAIL)


def _field(event: Mapping[str, Any], key: str) -> str:
    value = event.get(key)
    return value.strip().casefold() if isinstance(value, str) else ""
