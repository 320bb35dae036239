"""leads.contact: rule 2 (data quality routes, never disqualifies) and rule 3 (the customer's
channel, never assuming phone). Pure functions, tables only: no Temporal, no network."""

from __future__ import annotations

from typing import Any

import phonenumbers
import pytest
from phonenumbers import PhoneNumberType

from leads.config import parse_config
from leads.contact import (
    CallPolicy,
    DealerChannels,
    PhoneVerdict,
    analyse_contact,
    analyse_phone,
    channel_for_touch,
    normalise_email,
    written_order,
)
from leads.models import Channel, Customer, LeadKind

EMAIL = Channel.EMAIL
SMS = Channel.SMS
WHATSAPP = Channel.WHATSAPP
CHAT = Channel.CHAT
PHONE = Channel.PHONE

REGION = "NL"
REPLY_URL = "https://platform.example/conversations/88123"
TOUCHES = range(1, 9)


def _example(number_type: int) -> str:
    example = phonenumbers.example_number_for_type(REGION, number_type)
    assert example is not None
    return "0" + str(example.national_number)


NL_EXAMPLE_MOBILE = _example(PhoneNumberType.MOBILE)
NL_EXAMPLE_FIXED_LINE = _example(PhoneNumberType.FIXED_LINE)

PLACEHOLDER_PHONES = [
    pytest.param("0000000000", id="zeros"),
    pytest.param("06-11111111", id="06-ones"),
    pytest.param("123456789", id="123456789"),
    pytest.param("0612345678", id="06-ascending"),
    pytest.param("0687654321", id="06-descending"),
    pytest.param("1234567890", id="1234567890"),
    pytest.param("+31 6 11111111", id="e164-ones"),
    pytest.param(NL_EXAMPLE_MOBILE, id="libphonenumber-example-mobile"),
    pytest.param(NL_EXAMPLE_FIXED_LINE, id="libphonenumber-example-fixed-line"),
]

UNUSABLE_PHONES = [
    *PLACEHOLDER_PHONES,
    pytest.param("06123", id="too-short"),
    pytest.param("06 2849", id="half-a-number"),
    pytest.param("bel me maar", id="words"),
    pytest.param("", id="empty"),
    pytest.param("   ", id="blank"),
    pytest.param(None, id="missing"),
]

REAL_NL_MOBILES = [
    pytest.param("+31 6 28 49 17 35", id="international-spaced"),
    pytest.param("06 2849 1735", id="national-spaced"),
    pytest.param("0031628491735", id="00-prefix"),
    pytest.param("06-28491735", id="national-dash"),
    pytest.param("+31628491735", id="e164"),
]


def dealer_channels(**overrides: Any) -> DealerChannels:
    """The dealer's sending channels as the workflow derives them from the config file."""
    dealer: dict[str, Any] = {
        "id": "autohuis-test",
        "name": "Autohuis Test",
        "webhook_secret": "whsec_dGVzdC1zZWNyZXQ=",
        "email_from": "verkoop@autohuis-test.nl",
        "sms_from": "+3197010000099",
        "whatsapp_from": "whatsapp:+3197010000098",
    }
    dealer.update(overrides)
    for key in [k for k, v in dealer.items() if v is None]:
        del dealer[key]
    plan = parse_config({"dealers": [dealer]}).dealers[0].plan()
    return DealerChannels(plan.has_email, plan.has_sms, plan.has_whatsapp)


def sequence(
    usable: frozenset[Channel] | set[Channel],
    preferred: Channel | None = None,
    arrived_on: Channel | None = None,
    kind: LeadKind = LeadKind.GENERAL,
    policy: CallPolicy = "when_preferred",
) -> list[Channel | None]:
    return [channel_for_touch(n, usable, preferred, arrived_on, kind, policy) for n in TOUCHES]


# --- rule 2: phone numbers ------------------------------------------------------------------


@pytest.mark.parametrize("raw", PLACEHOLDER_PHONES)
def test_rule2_placeholder_phone_is_recognised_as_placeholder(raw: str) -> None:
    analysis = analyse_phone(raw, REGION)
    assert analysis.verdict is PhoneVerdict.PLACEHOLDER
    assert analysis.e164 is None
    assert not analysis.mobile
    assert not analysis.callable


@pytest.mark.parametrize("raw", UNUSABLE_PHONES)
def test_rule2_unusable_phone_only_removes_phone_channels(raw: str | None) -> None:
    customer = Customer(email="pieter@example.nl", phone=raw)
    found = analyse_contact(customer, REGION, REPLY_URL, dealer_channels())
    assert found.channels == {EMAIL, CHAT}
    assert found.addresses[EMAIL] == "pieter@example.nl"
    for channel in (SMS, WHATSAPP, PHONE):
        assert channel not in found.addresses
        assert found.reasons[channel].startswith("phone ")


@pytest.mark.parametrize("raw", REAL_NL_MOBILES)
def test_rule2_real_nl_mobile_is_mobile_in_e164(raw: str) -> None:
    analysis = analyse_phone(raw, REGION)
    assert analysis.verdict is PhoneVerdict.MOBILE
    assert analysis.e164 == "+31628491735"
    assert analysis.mobile
    assert analysis.callable


@pytest.mark.parametrize("raw", REAL_NL_MOBILES)
def test_rule3_real_mobile_reaches_sms_whatsapp_and_phone(raw: str) -> None:
    found = analyse_contact(Customer(phone=raw), REGION, None, dealer_channels())
    assert found.addresses == {SMS: "+31628491735", WHATSAPP: "+31628491735", PHONE: "+31628491735"}


@pytest.mark.parametrize(
    "raw", [pytest.param("020 5551234", id="amsterdam"), pytest.param("+31 20 555 1234", id="e164")]
)
def test_rule2_fixed_line_is_callable_but_not_texted(raw: str) -> None:
    analysis = analyse_phone(raw, REGION)
    assert analysis.verdict is PhoneVerdict.FIXED_LINE
    assert analysis.e164 == "+31205551234"
    assert analysis.callable
    assert not analysis.mobile
    found = analyse_contact(Customer(phone=raw), REGION, None, dealer_channels())
    assert found.addresses == {PHONE: "+31205551234"}
    assert found.reasons[SMS] == found.reasons[WHATSAPP] == "phone fixed_line"


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("+49 1523 4791635", id="plus-49"),
        pytest.param("0049 1523 4791635", id="00-49"),
        pytest.param("+4915234791635", id="e164"),
    ],
)
def test_rule2_german_mobile_with_dutch_dealer_is_mobile(raw: str) -> None:
    analysis = analyse_phone(raw, REGION)
    assert analysis.verdict is PhoneVerdict.MOBILE
    assert analysis.e164 == "+4915234791635"


# --- rule 2: e-mail addresses ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(
            "someone@no-such-domain-blanco-test.nl",
            "someone@no-such-domain-blanco-test.nl",
            id="unresolvable-domain-no-dns",
        ),
        pytest.param("Pieter.Jansen@Example.NL", "pieter.jansen@example.nl", id="lower-case"),
        pytest.param("  p@autohuis.nl  ", "p@autohuis.nl", id="whitespace"),
        pytest.param("pieter+golf@gmail.com", "pieter+golf@gmail.com", id="plus-tag"),
        pytest.param("x@y.co", "x@y.co", id="short-but-valid"),
    ],
)
def test_rule2_email_checked_on_syntax_only_and_lower_cased(raw: str, expected: str) -> None:
    assert normalise_email(raw) == expected
    found = analyse_contact(Customer(email=raw), REGION, None, dealer_channels())
    assert found.addresses == {EMAIL: expected}


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("pieter@", id="no-domain"),
        pytest.param("@example.nl", id="no-local-part"),
        pytest.param("pieter at example.nl", id="no-at"),
        pytest.param("pieter@@example.nl", id="double-at"),
        pytest.param("pieter@example", id="no-tld"),
        pytest.param("pieter@example..nl", id="double-dot"),
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
        pytest.param(None, id="missing"),
    ],
)
def test_rule2_malformed_email_only_removes_email(raw: str | None) -> None:
    assert normalise_email(raw) is None
    found = analyse_contact(
        Customer(email=raw, phone="06 2849 1735"), REGION, REPLY_URL, dealer_channels()
    )
    assert found.channels == {SMS, WHATSAPP, PHONE, CHAT}
    assert found.reasons[EMAIL] == "no usable e-mail address"


# --- rule 3: which channels per customer and dealer -----------------------------------------


@pytest.mark.parametrize(
    ("customer", "reply_url", "dealer", "expected"),
    [
        pytest.param(
            Customer(email="p@example.nl", phone="06 2849 1735"),
            REPLY_URL,
            {},
            {EMAIL, SMS, WHATSAPP, PHONE, CHAT},
            id="everything",
        ),
        pytest.param(
            Customer(email="p@example.nl", phone="06 2849 1735"),
            None,
            {"sms_from": None},
            {EMAIL, WHATSAPP, PHONE},
            id="dealer-without-sms_from-no-sms",
        ),
        pytest.param(
            Customer(email="p@example.nl", phone="06 2849 1735"),
            None,
            {"whatsapp_from": None},
            {EMAIL, SMS, PHONE},
            id="dealer-without-whatsapp_from-no-whatsapp",
        ),
        pytest.param(
            Customer(phone="06 2849 1735"),
            None,
            {"sms_from": None, "whatsapp_from": None},
            {PHONE},
            id="mobile-but-dealer-sends-no-texts",
        ),
        pytest.param(Customer(), REPLY_URL, {}, {CHAT}, id="reply_url-means-chat"),
        pytest.param(Customer(), None, {}, set(), id="nothing-usable"),
        pytest.param(
            Customer(name="Pieter", email="nee", phone="0000000000"),
            None,
            {},
            set(),
            id="bad-data-nothing-usable",
        ),
        pytest.param(
            Customer(email="p@example.nl", phone="020 5551234"),
            None,
            {},
            {EMAIL, PHONE},
            id="fixed-line",
        ),
    ],
)
def test_rule3_usable_channels_per_customer_and_dealer(
    customer: Customer, reply_url: str | None, dealer: dict[str, Any], expected: set[Channel]
) -> None:
    found = analyse_contact(customer, REGION, reply_url, dealer_channels(**dealer))
    assert found.channels == expected
    assert set(found.reasons) == set(Channel) - expected


def test_rule3_dealer_without_sms_names_the_reason() -> None:
    found = analyse_contact(
        Customer(phone="06 2849 1735"), REGION, None, dealer_channels(sms_from=None)
    )
    assert found.reasons[SMS] == "dealer has no sms"


# --- rule 3: in which order -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("usable", "preferred", "arrived_on", "expected"),
    [
        pytest.param(
            {EMAIL, SMS, WHATSAPP, CHAT}, SMS, None, [SMS, EMAIL, WHATSAPP, CHAT], id="preferred"
        ),
        pytest.param(
            {EMAIL, SMS, WHATSAPP, CHAT},
            SMS,
            CHAT,
            [SMS, CHAT, EMAIL, WHATSAPP],
            id="preferred-then-arrived-on",
        ),
        pytest.param(
            {EMAIL, SMS, CHAT}, WHATSAPP, CHAT, [CHAT, EMAIL, SMS], id="preferred-unusable"
        ),
        pytest.param(
            {EMAIL, SMS, WHATSAPP, CHAT}, None, CHAT, [CHAT, EMAIL, WHATSAPP, SMS], id="arrived-on"
        ),
        pytest.param(
            {EMAIL, SMS, WHATSAPP, CHAT}, None, None, [EMAIL, WHATSAPP, SMS, CHAT], id="default"
        ),
        pytest.param({SMS, WHATSAPP, CHAT}, None, None, [WHATSAPP, SMS, CHAT], id="no-email"),
        pytest.param({EMAIL, PHONE}, PHONE, None, [EMAIL], id="phone-preferred-is-never-written"),
        pytest.param({PHONE}, PHONE, None, [], id="only-phone"),
        pytest.param(set(), EMAIL, CHAT, [], id="nothing"),
    ],
)
def test_rule3_written_order(
    usable: set[Channel],
    preferred: Channel | None,
    arrived_on: Channel | None,
    expected: list[Channel],
) -> None:
    assert written_order(usable, preferred, arrived_on) == expected


E, P = EMAIL, PHONE
ALTERNATING = [E, P, E, P, E, P, E, P]
K = LeadKind
ASKED: CallPolicy = "when_preferred"
ALTERNATE: CallPolicy = "alternate"
NEVER: CallPolicy = "never"


@pytest.mark.parametrize(
    ("usable", "preferred", "arrived_on", "kind", "policy", "expected"),
    [
        pytest.param({E, SMS}, SMS, None, K.GENERAL, ASKED, [SMS] * 8, id="preferred"),
        pytest.param(
            {E, CHAT}, WHATSAPP, CHAT, K.GENERAL, ASKED, [CHAT] * 8, id="unusable-pref-arrived-on"
        ),
        pytest.param(
            {E, CHAT}, None, CHAT, K.OFFER, ASKED, [CHAT] * 8, id="arrived-on-before-email"
        ),
        pytest.param({E, SMS, WHATSAPP}, None, None, K.GENERAL, ASKED, [E] * 8, id="email-first"),
        pytest.param({SMS, WHATSAPP}, None, None, K.GENERAL, ASKED, [WHATSAPP] * 8, id="whatsapp"),
        pytest.param({SMS}, None, None, K.GENERAL, ASKED, [SMS] * 8, id="sms"),
        pytest.param({CHAT}, None, None, K.GENERAL, ASKED, [CHAT] * 8, id="chat"),
        pytest.param({E, P}, None, None, K.TEST_DRIVE, ASKED, [E] * 8, id="no-call-unasked"),
        pytest.param({E, P}, P, None, K.GENERAL, ASKED, ALTERNATING, id="phone-preferred"),
        pytest.param({E, P}, None, None, K.CALLBACK_REQUEST, ASKED, ALTERNATING, id="callback"),
        pytest.param(
            {E, P}, None, None, K.BROCHURE_REQUEST, ALTERNATE, ALTERNATING, id="alternate"
        ),
        pytest.param({E, P}, P, None, K.CALLBACK_REQUEST, NEVER, [E] * 8, id="never-even-asked"),
        pytest.param({E}, P, None, K.CALLBACK_REQUEST, ALTERNATE, [E] * 8, id="phone-unusable"),
        pytest.param({P}, P, None, K.GENERAL, ASKED, [P] * 8, id="only-phone-all-calls"),
        pytest.param({P}, None, None, K.GENERAL, ALTERNATE, [P] * 8, id="only-phone-alternate"),
        pytest.param({P}, None, None, K.GENERAL, ASKED, [None] * 8, id="only-phone-unasked-task"),
        pytest.param({P}, P, None, K.GENERAL, NEVER, [None] * 8, id="only-phone-never-task"),
        pytest.param(set(), None, None, K.CALLBACK_REQUEST, ALTERNATE, [None] * 8, id="nothing"),
        pytest.param(set(), E, CHAT, K.GENERAL, ASKED, [None] * 8, id="nothing-despite-pref"),
    ],
)
def test_rule3_channel_for_touch(
    usable: set[Channel],
    preferred: Channel | None,
    arrived_on: Channel | None,
    kind: LeadKind,
    policy: CallPolicy,
    expected: list[Channel | None],
) -> None:
    assert sequence(usable, preferred, arrived_on, kind, policy) == expected


@pytest.mark.parametrize("policy", ["when_preferred", "alternate", "never"])
@pytest.mark.parametrize("kind", list(LeadKind))
def test_rule3_first_touch_is_written_when_a_written_channel_exists(
    kind: LeadKind, policy: CallPolicy
) -> None:
    """Speed to lead: touch 1 goes out at once, so it is never a call task when it can be sent."""
    usable = {EMAIL, SMS, WHATSAPP, PHONE}
    assert channel_for_touch(1, usable, PHONE, None, kind, policy) is EMAIL


# --- rule 2 property: a placeholder phone is exactly no phone --------------------------------

SCENARIOS = [
    pytest.param({"email": "p@example.nl"}, None, id="email"),
    pytest.param({"email": "p@example.nl", "preferred_channel": "phone"}, None, id="pref-phone"),
    pytest.param({"email": "p@example.nl", "preferred_channel": "sms"}, REPLY_URL, id="pref-sms"),
    pytest.param({"preferred_channel": "whatsapp"}, REPLY_URL, id="chat-only"),
    pytest.param({"name": "Pieter"}, None, id="nothing-else"),
]


@pytest.mark.parametrize("policy", ["when_preferred", "alternate", "never"])
@pytest.mark.parametrize("kind", [LeadKind.CALLBACK_REQUEST, LeadKind.OFFER])
@pytest.mark.parametrize(("fields", "reply_url"), SCENARIOS)
@pytest.mark.parametrize("placeholder", PLACEHOLDER_PHONES)
def test_rule2_placeholder_phone_gets_same_sequence_as_no_phone(
    placeholder: str,
    fields: dict[str, Any],
    reply_url: str | None,
    kind: LeadKind,
    policy: CallPolicy,
) -> None:
    dealer = dealer_channels()
    with_placeholder = Customer(phone=placeholder, **fields)
    without_phone = Customer(**fields)

    def channels(customer: Customer) -> list[Channel | None]:
        found = analyse_contact(customer, REGION, reply_url, dealer)
        arrived_on = CHAT if reply_url else None
        return sequence(found.channels, customer.preferred_channel, arrived_on, kind, policy)

    assert channels(with_placeholder) == channels(without_phone)
    assert analyse_contact(with_placeholder, REGION, reply_url, dealer).channels == (
        analyse_contact(without_phone, REGION, reply_url, dealer).channels
    )
