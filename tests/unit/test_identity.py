"""leads.identity: one customer, one conversation, and no personal data in the lead id.

The id is `lead-<dealer>-<24 hex>`, an HMAC of the normalised e-mail, else a usable phone, else
source + external id, else the document. Placeholder numbers never become a key (rule 2)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from leads.identity import (
    INQUIRY_IDS_KEPT,
    MessageKey,
    alert_key,
    check_reply_token,
    check_unsubscribe_token,
    contact_identifiers,
    contact_keys,
    customer_key,
    lead_dealer,
    lead_id,
    message_key,
    opt_out_entries,
    opt_out_id,
    parse_message_key,
    person_message_key,
    reply_address,
    unsubscribe_token,
)
from leads.models import Channel, Customer, Lead, LeadKind

DEALER = "autohuis-test"
SECRET = "whsec_dGVzdC1zZWNyZXQtZm9yLWJsYW5jbw=="
REGION = "NL"
ID_FORMAT = re.compile(r"^lead-autohuis-test-[0-9a-f]{24}$")


def make(customer: dict[str, Any] | None = None, **lead: Any) -> Lead:
    return Lead(customer=Customer(**(customer or {})), **lead)


def ident(lead: Lead, secret: str = SECRET, dealer: str = DEALER) -> str:
    return lead_id(dealer, secret, lead, REGION)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param(
            make({"email": "pieter@example.nl"}, source="website", external_id="w-1"),
            make({"email": "Pieter@Example.NL"}, source="marktplaats", external_id="mp-9"),
            id="case",
        ),
        pytest.param(
            make({"email": "pieter@example.nl"}, source="website"),
            make({"email": "  PIETER@example.nl  "}, source="autotrack", kind=LeadKind.OFFER),
            id="whitespace-and-case",
        ),
        pytest.param(
            make({"email": "pieter@example.nl", "phone": "06 2849 1735"}),
            make({"email": "pieter@example.nl", "phone": "0000000000", "name": "P."}),
            id="email-wins-over-different-phone",
        ),
        pytest.param(
            make({"email": "pieter@example.nl"}),
            make({"email": "pieter@example.nl", "phone": "06 3947 2816"}, reply_url="https://x"),
            id="email-wins-over-added-phone",
        ),
    ],
)
def test_one_customer_one_conversation_same_email_same_id(first: Lead, second: Lead) -> None:
    assert ident(first) == ident(second)


def test_email_is_preferred_over_phone() -> None:
    lead = make({"email": "pieter@example.nl", "phone": "06 2849 1735"})
    assert customer_key(lead, REGION) == "email:pieter@example.nl"
    same_phone_other_email = make({"email": "anna@example.nl", "phone": "06 2849 1735"})
    assert ident(lead) != ident(same_phone_other_email)


@pytest.mark.parametrize(
    "phone",
    [
        pytest.param("06 2849 1735", id="national-spaced"),
        pytest.param("0628491735", id="national"),
        pytest.param("+31 6 28 49 17 35", id="international"),
        pytest.param("0031628491735", id="00-prefix"),
        pytest.param("06-28491735", id="dash"),
    ],
)
def test_usable_phone_is_the_key_without_email_in_any_format(phone: str) -> None:
    reference = make({"phone": "+31628491735"}, source="website", external_id="w-1")
    lead = make({"phone": phone, "email": "no address"}, source="marktplaats", external_id="m-2")
    assert customer_key(lead, REGION) == "phone:+31628491735"
    assert ident(lead) == ident(reference)


def test_fixed_line_phone_is_a_key_too() -> None:
    first = make({"phone": "020 5551234"}, external_id="a")
    second = make({"phone": "+31 20 555 1234"}, external_id="b")
    assert ident(first) == ident(second)


@pytest.mark.parametrize(
    "phone",
    [
        pytest.param("0000000000", id="zeros"),
        pytest.param("06-11111111", id="ones"),
        pytest.param("0612345678", id="ascending"),
        pytest.param("1234567890", id="1234567890"),
        pytest.param("06123", id="too-short"),
        pytest.param("geen", id="words"),
    ],
)
def test_rule2_placeholder_phone_never_becomes_the_key(phone: str) -> None:
    first = make({"phone": phone, "name": "Pieter"}, source="marktplaats", external_id="mp-1")
    second = make({"phone": phone, "name": "Anna"}, source="marktplaats", external_id="mp-2")
    assert customer_key(first, REGION) == "ext:marktplaats:mp-1"
    assert ident(first) != ident(second)


@pytest.mark.parametrize(
    ("other", "same"),
    [
        pytest.param(
            make({"name": "Pieter"}, source="autotrack", external_id="at-7", message="Nog?"),
            True,
            id="same-inquiry-other-data",
        ),
        pytest.param(make(source="autotrack", external_id="at-8"), False, id="other-external-id"),
        pytest.param(make(source="gaspedaal", external_id="at-7"), False, id="other-source"),
    ],
)
def test_without_email_or_phone_source_and_external_id_are_the_key(other: Lead, same: bool) -> None:
    lead = make(source="autotrack", external_id="at-7", reply_url="https://p.example/c/7")
    assert customer_key(lead, REGION) == "ext:autotrack:at-7"
    assert (ident(lead) == ident(other)) is same


def test_without_anything_the_same_document_gives_the_same_id() -> None:
    document: dict[str, Any] = {
        "source": "website",
        "kind": "brochure_request",
        "message": "Brochure graag",
        "customer": {"name": "Pieter", "phone": "0000000000"},
    }
    first = Lead.model_validate(document)
    again = Lead.model_validate(document)
    assert ident(first) == ident(again)
    assert customer_key(first, REGION).startswith("doc:")
    other = Lead.model_validate({**document, "message": "Andere vraag"})
    assert ident(first) != ident(other)


def test_without_anything_the_dealer_id_field_does_not_change_the_id() -> None:
    lead = make(message="Hallo")
    assert ident(lead) == ident(lead.model_copy(update={"dealer_id": DEALER}))


@pytest.mark.parametrize(
    "lead",
    [
        pytest.param(
            make({"name": "Pieter", "email": "pieter.devries@example.nl", "phone": "0628491735"}),
            id="email",
        ),
        pytest.param(make({"name": "Pieter", "phone": "+31 6 28 49 17 35"}), id="phone"),
        pytest.param(
            make({"name": "Pieter", "phone": "0000000000"}, external_id="pieter-28491735"),
            id="external-id",
        ),
        pytest.param(make({"name": "Pieter", "email": "nee"}, message="Pieter"), id="document"),
    ],
)
def test_lead_id_contains_no_personal_data(lead: Lead) -> None:
    value = ident(lead)
    assert ID_FORMAT.match(value)
    forbidden = ["pieter", "devries", "example", "@", "nee", "628491735", "0000000000", "mp-"]
    for fragment in forbidden:
        assert fragment not in value.lower()


@pytest.mark.parametrize(
    "lead",
    [
        pytest.param(make({"email": "pieter@example.nl"}), id="email"),
        pytest.param(make({"phone": "06 2849 1735"}), id="phone"),
        pytest.param(make(external_id="mp-1"), id="external-id"),
        pytest.param(make(message="Hallo"), id="document"),
    ],
)
def test_a_different_dealer_secret_gives_a_different_key(lead: Lead) -> None:
    assert ident(lead) != ident(lead, secret="whsec_another-dealer-secret")
    assert ident(lead) == ident(lead)


def test_lead_id_format() -> None:
    value = ident(make({"email": "pieter@example.nl"}))
    assert ID_FORMAT.match(value)
    assert len(value) == len(f"lead-{DEALER}-") + 24
    other = lead_id("garage-oost", SECRET, make({"email": "pieter@example.nl"}), REGION)
    assert re.fullmatch(r"lead-garage-oost-[0-9a-f]{24}", other)


# --- routing inbound messages back to their lead (issue 3) --------------------------------

KEYED_LEAD = "lead-autohuis-test-0123456789abcdef01234567"


@pytest.mark.parametrize(
    ("lead", "dealer"),
    [
        (KEYED_LEAD, "autohuis-test"),
        ("lead-autohuis-0123456789abcdef01234567", "autohuis"),
        ("lead-autohuis-test-0123456789abcdef0123456", None),  # key too short
        ("lead-autohuis-test-0123456789ABCDEF01234567", None),  # not our hex
        ("lead-nobody-0123456789abcdef01234567", None),
        ("task-autohuis-test-0123456789abcdef01234567", None),
        ("", None),
    ],
)
def test_lead_dealer_reads_only_well_formed_ids(lead: str, dealer: str | None) -> None:
    assert lead_dealer(lead, ["autohuis", "autohuis-test"]) == dealer


def test_reply_tokens_route_to_their_lead_and_forgeries_do_not() -> None:
    token = reply_address(SECRET, KEYED_LEAD, "reply.example").split("@")[0][len("reply+") :]
    assert check_reply_token(SECRET, "autohuis-test", token) == KEYED_LEAD
    assert check_reply_token("whsec_other", "autohuis-test", token) is None
    flipped = token[:-1] + ("1" if token.endswith("0") else "0")
    assert check_reply_token(SECRET, "autohuis-test", flipped) is None
    assert check_reply_token(SECRET, "autohuis-test", "ünïcode.x") is None
    assert check_reply_token(SECRET, "autohuis-test", "") is None


def test_unsubscribe_tokens_are_signed_per_lead_and_channel() -> None:
    token = unsubscribe_token(SECRET, KEYED_LEAD, "email")
    assert check_unsubscribe_token(SECRET, token) == (KEYED_LEAD, "email")
    assert check_unsubscribe_token(SECRET, token.replace(".email.", ".sms.")) is None
    assert check_unsubscribe_token("whsec_other", token) is None
    assert check_unsubscribe_token(SECRET, "ü" + token) is None


def test_contact_identifiers_stay_within_a_search_attribute_value() -> None:
    inquiries = [("marktplaats", f"mp-{n}") for n in range(500)]
    identifiers = contact_identifiers(Customer(email="p@example.nl"), inquiries, "NL")
    assert len(identifiers) == 1 + 2 * INQUIRY_IDS_KEPT
    assert "extid:mp-499" in identifiers and "extid:mp-0" not in identifiers
    assert len(",".join(contact_keys(SECRET, identifiers))) < 1024


# --- rule 7 after erasure: what an erased customer refused is kept by keyed hash -------------

EMAIL, SMS, WHATSAPP, CHAT, PHONE = (
    Channel.EMAIL,
    Channel.SMS,
    Channel.WHATSAPP,
    Channel.CHAT,
    Channel.PHONE,
)
BOTH = {"email": "Sanne@Example.nl", "phone": "06 2849 1735"}


@pytest.mark.parametrize(
    ("customer", "opted_out", "entries"),
    [
        pytest.param(BOTH, [], {}, id="nothing-refused-nothing-kept"),
        pytest.param(BOTH, [SMS], {"phone:+31628491735": [SMS]}, id="sms-is-the-number"),
        pytest.param(BOTH, [EMAIL], {"email:sanne@example.nl": [EMAIL]}, id="email-normalised"),
        pytest.param(
            BOTH,
            list(Channel),
            {"email:sanne@example.nl": [EMAIL], "phone:+31628491735": [PHONE, SMS, WHATSAPP]},
            id="all-covers-address-and-number",
        ),
        pytest.param(BOTH, [CHAT], {}, id="chat-belongs-to-one-inquiry"),
        pytest.param({"email": "sanne@example.nl"}, [SMS], {}, id="no-number-nothing-for-sms"),
        pytest.param({"phone": "0000000000"}, [SMS], {}, id="placeholder-number-is-no-one"),
    ],
)
def test_rule7_opt_outs_survive_erasure_per_identifier(
    customer: dict[str, Any], opted_out: list[Channel], entries: dict[str, list[Channel]]
) -> None:
    assert opt_out_entries(Customer(**customer), opted_out, REGION) == entries


def test_opt_out_id_is_a_keyed_hash_without_personal_data() -> None:
    identifier = "phone:+31628491735"
    found = opt_out_id(DEALER, SECRET, identifier)
    assert re.fullmatch(r"optout-autohuis-test-[0-9a-f]{24}", found)
    assert found == opt_out_id(DEALER, SECRET, identifier)
    assert found != opt_out_id(DEALER, "whsec_b3RoZXI=", identifier)
    assert found.removeprefix("optout-") not in {k for k in contact_keys(SECRET, [identifier])}


# --- message keys: exactly once per conversation (issue 9, finding 3) -----------------------

LEAD = "lead-autohuis-test-0123456789abcdef01234567"
RUN = "019a0000-0000-7000-8000-000000000001"


@pytest.mark.parametrize(
    ("key", "parsed"),
    [
        pytest.param(f"{LEAD}:{RUN}:1:email", MessageKey(LEAD, RUN, 1, "email"), id="current"),
        pytest.param(f"{LEAD}:3:sms", MessageKey(LEAD, None, 3, "sms"), id="before-conversations"),
        pytest.param(f"alert:task-{LEAD}-1:{RUN}:3:jan", None, id="an-alert"),
        pytest.param(f"{LEAD}::1:email", None, id="empty-conversation"),
        pytest.param(f"{LEAD}:not-a-run!:1:email", None, id="bad-conversation"),
        pytest.param(f"{LEAD}:{RUN}:one:email", None, id="bad-touch"),
        pytest.param(f"{LEAD}:{RUN}:1:", None, id="no-channel"),
        pytest.param("", None, id="empty"),
        pytest.param(
            person_message_key(LEAD, RUN, 3, "sms"),
            MessageKey(LEAD, RUN, 0, "sms", 3),
            id="salesperson-message",
        ),
        pytest.param(f"{LEAD}:{RUN}:mx:sms", None, id="bad-message-number"),
        pytest.param(f"{LEAD}:m3:sms", None, id="message-without-conversation"),
    ],
)
def test_message_keys_read_back(key: str, parsed: MessageKey | None) -> None:
    assert parse_message_key(key) == parsed


def test_a_message_key_names_the_conversation() -> None:
    """The same touch of the same lead id in two conversations: two keys."""
    other = "019a0000-0000-7000-8000-000000000002"
    assert message_key(LEAD, RUN, 1, "email") != message_key(LEAD, other, 1, "email")
    assert parse_message_key(message_key(LEAD, RUN, 1, "email")) == MessageKey(
        LEAD, RUN, 1, "email"
    )
    assert message_key(LEAD, None, 1, "email") == f"{LEAD}:1:email"  # as sent until now


def test_an_alert_key_is_never_a_message_key() -> None:
    """A salesperson's bounce or spam report of an alert must not reach the customer's lead."""
    key = alert_key(f"task-{LEAD}-1", RUN, "3", "jan")
    assert parse_message_key(key) is None
    assert key != alert_key(f"task-{LEAD}-1", RUN, "3", "marieke")
