"""Which channels can reach this customer, and in which order (rules 2 and 3, docs/architecture.md).

Rule 2 — data quality routes, it never disqualifies: a missing, malformed or placeholder
number only removes the channels that need it. Nothing here scores or ranks a lead.
Rule 3 — the customer's channel, never assuming phone: preferred channel if usable, else the
channel the lead arrived on, else e-mail, WhatsApp, SMS, chat; calls only per `calls`.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from phonenumbers import PhoneNumberType

from leads.models import WRITTEN_CHANNELS, Channel, Customer, LeadKind

CallPolicy = Literal["when_preferred", "alternate", "never"]

MOBILE_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})
CALLABLE_TYPES = MOBILE_TYPES | {PhoneNumberType.FIXED_LINE, PhoneNumberType.VOIP}
# A run this long at the end of a number is a placeholder, not a subscriber number.
PLACEHOLDER_RUN = 7


class PhoneVerdict(StrEnum):
    MISSING = "missing"
    UNPARSABLE = "unparsable"
    PLACEHOLDER = "placeholder"
    INVALID = "invalid"
    MOBILE = "mobile"
    FIXED_LINE = "fixed_line"


@dataclass(frozen=True)
class PhoneAnalysis:
    verdict: PhoneVerdict
    e164: str | None = None

    @property
    def mobile(self) -> bool:
        return self.verdict is PhoneVerdict.MOBILE

    @property
    def callable(self) -> bool:
        return self.verdict in {PhoneVerdict.MOBILE, PhoneVerdict.FIXED_LINE}


# A lead's addresses are read again at every step of its workflow and by each activity:
# parsing them is pure, so each address is parsed once per process (bounded, in memory only).
PARSED_KEPT = 4096


@functools.lru_cache(maxsize=PARSED_KEPT)
def normalise_email(raw: str | None) -> str | None:
    """Syntax only: no DNS (the engine must not depend on the network to answer a lead)."""
    if not raw or not raw.strip():
        return None
    try:
        checked = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError:
        return None
    return checked.normalized.lower()


def _is_run(digits: str) -> bool:
    """All one digit, or ascending / descending by one (wrapping 9→0, as in 1234567890)."""
    if len(set(digits)) == 1:
        return True
    steps = {(int(b) - int(a)) % 10 for a, b in itertools.pairwise(digits)}
    return steps in ({1}, {9})


def is_placeholder(national_digits: str, region: str) -> bool:
    """0000000000, 06-11111111, 123456789, 0612345678 and libphonenumber's example numbers."""
    digits = national_digits.lstrip("0")
    if not digits or _is_run(digits) or _is_run(digits[-PLACEHOLDER_RUN:]):
        return True
    for number_type in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE):
        example = phonenumbers.example_number_for_type(region, number_type)
        if example is not None and str(example.national_number) == digits:
            return True
    return False


@functools.lru_cache(maxsize=PARSED_KEPT)
def analyse_phone(raw: str | None, region: str) -> PhoneAnalysis:
    if not raw or not raw.strip():
        return PhoneAnalysis(PhoneVerdict.MISSING)
    national_digits = "".join(ch for ch in raw if ch.isdecimal())
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        verdict = (
            PhoneVerdict.PLACEHOLDER
            if national_digits and _is_run(national_digits)
            else (PhoneVerdict.UNPARSABLE)
        )
        return PhoneAnalysis(verdict)
    if is_placeholder(str(number.national_number), region):
        return PhoneAnalysis(PhoneVerdict.PLACEHOLDER)
    if not phonenumbers.is_valid_number(number):
        return PhoneAnalysis(PhoneVerdict.INVALID)
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    number_type = phonenumbers.number_type(number)
    if number_type in MOBILE_TYPES:
        return PhoneAnalysis(PhoneVerdict.MOBILE, e164)
    if number_type in CALLABLE_TYPES:
        return PhoneAnalysis(PhoneVerdict.FIXED_LINE, e164)
    return PhoneAnalysis(PhoneVerdict.INVALID)


@dataclass(frozen=True)
class DealerChannels:
    """Which written channels the dealer can send on at all."""

    email: bool = True
    sms: bool = True
    whatsapp: bool = True


@dataclass(frozen=True)
class ContactPoints:
    """The customer's usable addresses per channel, and why the others are not usable."""

    addresses: dict[Channel, str]
    reasons: dict[Channel, str] = field(default_factory=dict)

    @property
    def channels(self) -> frozenset[Channel]:
        return frozenset(self.addresses)


def analyse_contact(
    customer: Customer,
    region: str,
    reply_url: str | None = None,
    dealer: DealerChannels = DealerChannels(),
) -> ContactPoints:
    """Every channel that can reach the customer, with the address to use."""
    addresses: dict[Channel, str] = {}
    reasons: dict[Channel, str] = {}
    email = normalise_email(customer.email)
    if email and dealer.email:
        addresses[Channel.EMAIL] = email
    else:
        reasons[Channel.EMAIL] = (
            "no usable e-mail address" if dealer.email else "dealer has no e-mail"
        )
    phone = analyse_phone(customer.phone, region)
    for channel, dealer_has in ((Channel.SMS, dealer.sms), (Channel.WHATSAPP, dealer.whatsapp)):
        if phone.mobile and phone.e164 and dealer_has:
            addresses[channel] = phone.e164
        else:
            reasons[channel] = (
                f"phone {phone.verdict.value}" if dealer_has else f"dealer has no {channel}"
            )
    if phone.callable and phone.e164:
        addresses[Channel.PHONE] = phone.e164
    else:
        reasons[Channel.PHONE] = f"phone {phone.verdict.value}"
    if reply_url:
        addresses[Channel.CHAT] = reply_url
    else:
        reasons[Channel.CHAT] = "no platform conversation"
    return ContactPoints(addresses, reasons)


def calls_wanted(policy: CallPolicy, preferred: Channel | None, kind: LeadKind) -> bool:
    """Rule 3: a call is a human task, made only when the dealer's policy allows it for this
    customer — by default only when they asked for one."""
    if policy == "never":
        return False
    if policy == "alternate":
        return True
    return preferred is Channel.PHONE or kind is LeadKind.CALLBACK_REQUEST


def written_order(
    usable: Iterable[Channel], preferred: Channel | None, arrived_on: Channel | None
) -> list[Channel]:
    """Rule 3: preferred if usable, then the channel the lead arrived on, then the default order."""
    usable_set = set(usable)
    order = [c for c in (preferred, arrived_on, *WRITTEN_CHANNELS) if c is not None and c.written]
    return [c for c in dict.fromkeys(order) if c in usable_set]


def channel_for_touch(
    touch: int,
    usable: Iterable[Channel],
    preferred: Channel | None,
    arrived_on: Channel | None,
    kind: LeadKind,
    policy: CallPolicy,
) -> Channel | None:
    """The channel of cadence step `touch` (1-based), or None when no channel is left
    (the lead then becomes a `no_channel` task for a human — never dropped).

    With calls wanted, written and call touches alternate, written first, so that the first
    answer reaches the customer at once at any hour; without a written channel every touch
    is a call. Without calls, every touch uses the best written channel still usable.
    """
    usable_set = set(usable)
    written = written_order(usable_set, preferred, arrived_on)
    can_call = Channel.PHONE in usable_set and calls_wanted(policy, preferred, kind)
    if can_call and (not written or touch % 2 == 0):
        return Channel.PHONE
    return written[0] if written else None


class ContactQuality(StrEnum):
    """How complete the contact data of a lead is: a figure for the perception audit (rule 8),
    never a reason to treat the lead differently (rule 1)."""

    COMPLETE = "complete"  # a usable e-mail address and a usable phone number
    EMAIL_ONLY = "email_only"  # no phone number given, or one that is not a number
    PHONE_ONLY = "phone_only"
    PLACEHOLDER_PHONE = "placeholder_phone"  # 0000000000 and the like, whatever else
    NO_CHANNEL = "no_channel"  # neither (the platform's chat may still reach them)


@dataclass(frozen=True)
class ContactData:
    quality: ContactQuality
    email_usable: bool
    phone_usable: bool
    phone_placeholder: bool


def contact_quality(customer: Customer, region: str) -> ContactData:
    email = normalise_email(customer.email) is not None
    phone = analyse_phone(customer.phone, region)
    placeholder = phone.verdict is PhoneVerdict.PLACEHOLDER
    if placeholder:
        quality = ContactQuality.PLACEHOLDER_PHONE
    elif email and phone.callable:
        quality = ContactQuality.COMPLETE
    elif email:
        quality = ContactQuality.EMAIL_ONLY
    elif phone.callable:
        quality = ContactQuality.PHONE_ONLY
    else:
        quality = ContactQuality.NO_CHANNEL
    return ContactData(quality, email, phone.callable, placeholder)
