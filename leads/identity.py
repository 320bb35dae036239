"""The lead id: one customer, one conversation, and no personal data in the id.

`lead-<dealer>-<key>`, where `<key>` is an HMAC (keyed with the dealer's secret) of the
customer's normalised e-mail address, else their usable phone number, else the source and
external id, else the document itself. Placeholder numbers never become a key: otherwise
every customer who typed 0000000000 would share one conversation.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from typing import NamedTuple

from leads.contact import analyse_phone, normalise_email
from leads.models import PHONE_NUMBER_CHANNELS, Channel, Customer, Lead

# A search attribute value holds 2 KB: e-mail, phone and the newest inquiries' ids (two keys
# of 24 characters each) stay well inside it however many inquiries a chatty portal sends.
INQUIRY_IDS_KEPT = 10
KEY_LENGTH = 24  # hex characters: 96 bits, collision-free for any dealer's lifetime of leads


def keyed_hash(secret: str, value: str) -> str:
    return hmac.new(secret.encode(), value.encode(), hashlib.sha256).hexdigest()[:KEY_LENGTH]


def customer_key(lead: Lead, region: str) -> str:
    """The value the key is derived from, most stable first."""
    email = normalise_email(lead.customer.email)
    if email:
        return f"email:{email}"
    phone = analyse_phone(lead.customer.phone, region)
    if phone.callable and phone.e164:
        return f"phone:{phone.e164}"
    if lead.external_id:
        return f"ext:{lead.source}:{lead.external_id}"
    # Nothing identifies the customer: the same document delivered twice is still one lead.
    return "doc:" + lead.document_key()


def contact_identifiers(
    customer: Customer, inquiries: Iterable[tuple[str, str | None]], region: str
) -> list[str]:
    """Everything an inbound message or event may name the customer by: their e-mail
    address, usable phone number, and each inquiry's external id (with and without its
    source, since a platform's chat webhook may not say which portal it is). Hashed before
    it leaves the process (`contact_keys`)."""
    found: set[str] = set()
    email = normalise_email(customer.email)
    if email:
        found.add(f"email:{email}")
    phone = analyse_phone(customer.phone, region)
    if phone.callable and phone.e164:
        found.add(f"phone:{phone.e164}")
    for source, external_id in list(inquiries)[-INQUIRY_IDS_KEPT:]:
        if external_id:
            found.update({f"ext:{source}:{external_id}", f"extid:{external_id}"})
    return sorted(found)


def contact_keys(secret: str, identifiers: Iterable[str]) -> list[str]:
    """The keyed hashes a lead is found by (the `ContactKeys` search attribute)."""
    return sorted(keyed_hash(secret, identifier) for identifier in identifiers)


def lead_id(dealer_id: str, secret: str, lead: Lead, region: str) -> str:
    return lead_id_for_key(dealer_id, keyed_hash(secret, customer_key(lead, region)))


def lead_id_for_key(dealer_id: str, key: str) -> str:
    """`lead-<dealer>-<key>`: the one place the id's format is written."""
    return f"lead-{dealer_id}-{key}"


def address_key(secret: str, kind: str, address: str) -> str:
    """Keyed hash of one identifier (`email`, `phone`, `ext`, `extid`), e.g. to route an
    inbound reply: the same value `contact_keys` publishes for it."""
    return keyed_hash(secret, f"{kind}:{address}")


def lead_dealer(lead: str, dealer_ids: Iterable[str]) -> str | None:
    """The dealer a lead id belongs to (`lead-<dealer>-<key>`), when it is well formed."""
    key = lead.rpartition("-")[2]
    if len(key) != KEY_LENGTH or any(ch not in "0123456789abcdef" for ch in key):
        return None
    for dealer in dealer_ids:
        if lead == lead_id_for_key(dealer, key):
            return dealer
    return None


def check_reply_token(secret: str, dealer_id: str, token: str) -> str | None:
    """The lead id a `reply+<token>` address names, when its signature is right."""
    key = token.partition(".")[0]
    lead = lead_id_for_key(dealer_id, key)
    expected = reply_address(secret, lead, "x").split("@")[0].removeprefix("reply+")
    # bytes: compare_digest refuses non-ASCII str, and a token comes from a stranger
    valid = hmac.compare_digest(token.encode(), expected.encode()) and len(key) == KEY_LENGTH
    return lead if valid else None


def check_unsubscribe_token(secret: str, token: str) -> tuple[str, str] | None:
    """(lead id, channel) of a signed unsubscribe token, when its signature is right."""
    lead, _, rest = token.partition(".")
    channel, _, _ = rest.partition(".")
    expected = unsubscribe_token(secret, lead, channel)
    return (lead, channel) if hmac.compare_digest(token.encode(), expected.encode()) else None


def opt_out_entries(
    customer: Customer, opted_out: Iterable[Channel], region: str
) -> dict[str, list[Channel]]:
    """Rule 7 after erasure: which of the customer's identifiers (`email:…`, `phone:…`) must
    stay suppressed on which channels. An e-mail opt-out is about the address; SMS, WhatsApp
    and calls are about the number. Platform chat belongs to one inquiry and is not carried."""
    channels = set(opted_out)
    entries: dict[str, list[Channel]] = {}
    for identifier in contact_identifiers(customer, [], region):
        kind = identifier.partition(":")[0]
        covered = {Channel.EMAIL} if kind == "email" else set(PHONE_NUMBER_CHANNELS)
        if kept := sorted(channels & covered):
            entries[identifier] = kept
    return entries


def opt_out_id(dealer_id: str, secret: str, identifier: str) -> str:
    """`optout-<dealer>-<key>`: the workflow that remembers an erased customer's opt-out, by a
    keyed hash of the identifier only."""
    return f"optout-{dealer_id}-{keyed_hash(secret, 'optout:' + identifier)}"


class MessageKey(NamedTuple):
    """One touch of one conversation, as providers carry it back to us."""

    lead_id: str
    conversation: str | None  # None: a key sent before keys named the conversation
    touch: int  # 0 for a salesperson's message
    channel: str
    message: int | None = None  # a salesperson's message: its number in the conversation


def message_key(lead: str, conversation: str | None, touch: int, channel: str) -> str:
    """`<lead id>:<conversation>:<touch>:<channel>`: the exactly-once key of one automated
    message, written by the outbox and handed to providers (SendGrid `custom_args`, the Twilio
    status callback, the platform chat's `webhook-id`), which bring it back on their events.

    The lead id alone is not enough: a customer who comes back after their conversation ended
    starts a new conversation under the same lead id, whose touch 1 is not the old touch 1.
    `conversation` is the first run id of the conversation's chain of runs: continue-as-new
    keeps it, a new conversation has its own. No personal data."""
    if conversation is None:
        return f"{lead}:{touch}:{channel}"
    return f"{lead}:{conversation}:{touch}:{channel}"


def person_message_key(lead: str, conversation: str, number: int, channel: str) -> str:
    """`<lead id>:<conversation>:m<n>:<channel>`: the exactly-once key of a salesperson's
    message `n` of the conversation, carried back by providers like a touch's key."""
    return f"{lead}:{conversation}:m{number}:{channel}"


def parse_message_key(key: str) -> MessageKey | None:
    """The parts of a `message_key`, also of the three-part form messages sent before keys
    named the conversation still carry; None for anything else (an alert's key, garbage)."""
    parts = key.split(":")
    if len(parts) == 3:
        lead, touch, channel = parts
        conversation = None
    elif len(parts) == 4 and parts[1]:
        lead, conversation, touch, channel = parts
    else:
        return None
    message = None
    if conversation is not None and touch.startswith("m"):
        touch, message = "0", touch[1:]
        if not (message.isdecimal() and len(message) <= 6):
            return None
    if not (lead and touch.isdecimal() and len(touch) <= 6 and channel):
        return None
    if conversation is not None and (len(conversation) > 64 or not _is_run_id(conversation)):
        return None
    return MessageKey(lead, conversation, int(touch), channel, int(message) if message else None)


def _is_run_id(text: str) -> bool:
    return all(ch in "0123456789abcdef-" for ch in text)


def alert_key(task: str, run_id: str, activity_id: str, salesperson: str) -> str:
    """`alert:<task id>:<task run>:<activity id>:<salesperson>`: one alert to one salesperson,
    the same on every retry of its activity. Task ids repeat across a customer's conversations,
    so the task's run names which one. Never parsed as a message key: a bounce or spam report
    of a salesperson's alert must not touch the customer's channels."""
    return f"alert:{task}:{run_id}:{activity_id}:{salesperson}"


def task_id(lead: str, number: int) -> str:
    return f"task-{lead}-{number}"


def erasure_id(lead: str) -> str:
    """`erasure-<lead id>`: the workflow erasing one lead (a lead id carries no personal data),
    one at a time: a repeated erasure joins the running one."""
    return f"erasure-{lead}"


def task_lead(task: str) -> str | None:
    """The lead id inside a task id (`task-<lead id>-<n>`), when it is one."""
    lead, _, number = task.removeprefix("task-").rpartition("-")
    return lead if task.startswith("task-") and lead and number.isdecimal() else None


def reply_address(secret: str, lead: str, domain: str) -> str:
    """`reply+<token>@domain`: routes an e-mail reply to its lead without personal data."""
    key = lead.rsplit("-", 1)[-1]
    return f"reply+{key}.{keyed_hash(secret, 'reply:' + lead)[:10]}@{domain}"


def unsubscribe_token(secret: str, lead: str, channel: str) -> str:
    """A signed token for the one-click unsubscribe link: `<lead>.<channel>.<signature>`."""
    return f"{lead}.{channel}.{keyed_hash(secret, f'unsubscribe:{lead}:{channel}')}"
