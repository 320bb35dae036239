"""providers.twilio.messaging with the real `twilio` client against FakeTwilio: the
exact form fields for SMS, WhatsApp and WhatsApp templates, the status callback, basic auth,
and the error mapping."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs, urlsplit

import pytest

from leads.identity import MessageKey, message_key, parse_message_key, person_message_key
from leads.models import Channel
from providers.base import OutboundMessage, PermanentDeliveryError, ProviderRejected
from providers.twilio.callbacks import twilio_failure_permanent
from providers.twilio.errors import TWILIO_ERRORS, Verdict
from providers.twilio.messaging import TwilioMessaging, TwilioUnavailable
from tests.fakes.fixtures import fake_twilio
from tests.fakes.twilio import FakeTwilio

# Listed so that ruff sees the fixture import, which pytest uses by parameter name, as used.
__all__ = ["fake_twilio"]

LEAD = "lead-autohuis-test-0123456789abcdef01234567"
RUN = "019a0000-0000-7000-8000-000000000001"  # the conversation: its first run id
TO = "+31612345678"
PUBLIC = "https://blanco.example.com"
TEXT = "Beste Pieter, de Golf staat klaar."


def message(channel: Channel = Channel.SMS, **overrides: object) -> OutboundMessage:
    fields: dict[str, object] = {
        "lead_id": LEAD,
        "dealer_id": "autohuis-test",
        "conversation": RUN,
        "touch": 3,
        "channel": channel,
        "to": TO,
        "from_address": "whatsapp:+3197010000098"
        if channel is Channel.WHATSAPP
        else "+3197010000099",
        "text": TEXT,
    }
    fields.update(overrides)
    fields.setdefault("key", message_key(LEAD, RUN, 3, str(fields["channel"])))
    return OutboundMessage.model_validate(fields)


def provider(
    fake: FakeTwilio,
    timeout: float = 5.0,
    callbacks: str | None = PUBLIC,
    token: str | None = None,
) -> TwilioMessaging:
    return TwilioMessaging(
        fake.account_sid,
        token or fake.auth_token,
        base_url=fake.base_url,
        status_callback_base=callbacks,
        timeout=timeout,
    )


def test_sms_request(fake_twilio: FakeTwilio) -> None:
    sid = provider(fake_twilio).send(message())

    [request] = fake_twilio.messages
    assert request.path == f"/2010-04-01/Accounts/{fake_twilio.account_sid}/Messages.json"
    credentials = f"{fake_twilio.account_sid}:{fake_twilio.auth_token}".encode()
    assert request.header("authorization") == "Basic " + base64.b64encode(credentials).decode()
    assert request.form == {
        "To": [TO],
        "From": ["+3197010000099"],
        "Body": [TEXT],
        "StatusCallback": [f"{PUBLIC}/v1/inbound/twilio/status?touch={LEAD}%3A{RUN}%3A3%3Asms"],
    }
    assert sid.startswith("SM") and len(sid) == 34


def test_status_callback_carries_the_touch_key_and_no_personal_data(
    fake_twilio: FakeTwilio,
) -> None:
    provider(fake_twilio, callbacks=PUBLIC + "/").send(message())
    callback = fake_twilio.messages[0].field("StatusCallback")
    assert callback is not None
    url = urlsplit(callback)
    assert url.path == "/v1/inbound/twilio/status"
    assert parse_qs(url.query) == {"touch": [f"{LEAD}:{RUN}:3:sms"]}
    assert TO not in callback and TO[1:] not in callback


def test_without_callback_base_no_status_callback(fake_twilio: FakeTwilio) -> None:
    provider(fake_twilio, callbacks=None).send(message())
    assert fake_twilio.messages[0].field("StatusCallback") is None


@pytest.mark.parametrize("sender", ["whatsapp:+3197010000098", "+3197010000098"])
def test_whatsapp_prefixes_both_addresses(fake_twilio: FakeTwilio, sender: str) -> None:
    provider(fake_twilio).send(message(Channel.WHATSAPP, from_address=sender))
    [request] = fake_twilio.messages
    assert request.field("To") == f"whatsapp:{TO}"
    assert request.field("From") == "whatsapp:+3197010000098"
    assert request.field("Body") == TEXT
    assert request.field("StatusCallback") == (
        f"{PUBLIC}/v1/inbound/twilio/status?touch={LEAD}%3A{RUN}%3A3%3Awhatsapp"
    )


def test_whatsapp_template_outside_the_window(fake_twilio: FakeTwilio) -> None:
    variables = {"1": "Pieter", "2": "Golf"}
    provider(fake_twilio).send(
        message(
            Channel.WHATSAPP,
            whatsapp_content_sid="HX0123456789abcdef0123456789abcdef",
            whatsapp_content_variables=variables,
        )
    )
    [request] = fake_twilio.messages
    assert request.field("ContentSid") == "HX0123456789abcdef0123456789abcdef"
    assert json.loads(request.field("ContentVariables") or "") == variables
    assert request.field("Body") is None


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        (None, None),
        ((429, None), "transient"),
        ((500, None), "transient"),
        ((503, None), "transient"),
        ((400, 21211), PermanentDeliveryError),  # invalid To number
        ((400, 21612), PermanentDeliveryError),  # cannot route to this number
        ((400, 21614), PermanentDeliveryError),  # not a mobile number
        ((400, 21610), PermanentDeliveryError),  # recipient unsubscribed (STOP)
        ((400, 63016), ProviderRejected),  # WhatsApp free text outside the window: ours
        ((400, 63003), PermanentDeliveryError),  # not on WhatsApp
        ((401, 20003), ProviderRejected),  # bad credentials
        ((403, 20003), ProviderRejected),
        ((400, 21606), ProviderRejected),  # our from number cannot send this
    ],
)
def test_error_mapping(
    fake_twilio: FakeTwilio, script: tuple[int, int | None] | None, expected: object
) -> None:
    if script is not None:
        status, code = script
        if code is None:
            fake_twilio.fail_next(status)
        else:
            fake_twilio.error_next(code, status, message=f"The 'To' number {TO} is not valid.")
    sender = provider(fake_twilio)
    if expected is None:
        assert sender.send(message()).startswith("SM")
        return
    with pytest.raises(Exception) as raised:
        sender.send(message())
    if expected == "transient":
        assert not isinstance(raised.value, PermanentDeliveryError | ProviderRejected)
    else:
        assert type(raised.value) is expected
    if expected is PermanentDeliveryError:
        assert raised.value.args[0] == f"twilio {code}"
    assert TO not in str(raised.value) and TO[1:] not in str(raised.value)
    assert raised.value.__cause__ is None  # Twilio's message, which quotes the number, is dropped


def test_wrong_token_is_rejected(fake_twilio: FakeTwilio) -> None:
    with pytest.raises(ProviderRejected):
        provider(fake_twilio, token="wrong").send(message())


def test_timeout_is_transient(fake_twilio: FakeTwilio) -> None:
    fake_twilio.hang_next()
    with pytest.raises(Exception) as raised:
        provider(fake_twilio, timeout=0.5).send(message())
    assert not isinstance(raised.value, PermanentDeliveryError | ProviderRejected)
    assert "unreachable" in str(raised.value)


def test_connection_refused_is_transient() -> None:
    with FakeTwilio() as gone:
        sender = provider(gone)
    with pytest.raises(Exception) as raised:
        sender.send(message())
    assert not isinstance(raised.value, PermanentDeliveryError | ProviderRejected)


def test_other_channels_are_refused(fake_twilio: FakeTwilio) -> None:
    with pytest.raises(ValueError):
        provider(fake_twilio).send(message(Channel.EMAIL))
    assert fake_twilio.requests == []


SEND_PATH = {
    Verdict.ADDRESS: PermanentDeliveryError,
    Verdict.OURS: ProviderRejected,
    Verdict.TEMPORARY: TwilioUnavailable,
}


@pytest.mark.parametrize(("code", "verdict"), [(c, v) for c, (v, _) in TWILIO_ERRORS.items()])
def test_rule2_one_answer_per_twilio_code_on_every_path(
    fake_twilio: FakeTwilio, code: int, verdict: Verdict
) -> None:
    """Rule 2 (a number that can never receive routes to the next channel) and issue 9,
    finding 7: a code means the same whether Twilio refuses the send with it or
    reports it on a status callback (63016 was permanent here and temporary there)."""
    fake_twilio.error_next(code, 400)
    with pytest.raises(Exception) as raised:
        provider(fake_twilio).send(message())
    assert type(raised.value) is SEND_PATH[verdict]
    assert twilio_failure_permanent(code) is (verdict is Verdict.ADDRESS)


# --- a salesperson's message (issue 10) ------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "to", "sender"),
    [
        (Channel.SMS, TO, "+3197010000099"),
        (Channel.WHATSAPP, f"whatsapp:{TO}", "whatsapp:+3197010000098"),
    ],
)
def test_a_salesperson_s_message_goes_from_the_dealer_s_sender_and_reports_back(
    fake_twilio: FakeTwilio, channel: Channel, to: str, sender: str
) -> None:
    """Jan's message leaves from the dealer's Twilio sender to the customer's number; its
    status callback carries his message's key (touch 0, message 2), nothing personal."""
    jan = message(
        channel,
        key=person_message_key(LEAD, RUN, 2, channel.value),
        touch=None,
        by="jan",
        text="Zaterdag om 10:00 staat de Golf klaar. Groet, Jan",
    )
    provider(fake_twilio).send(jan)

    [sent] = fake_twilio.sent
    assert (sent.to, sent.sender) == (to, sender)
    assert sent.body == "Zaterdag om 10:00 staat de Golf klaar. Groet, Jan"
    assert sent.key == f"{LEAD}:{RUN}:m2:{channel.value}"
    assert sent.status_callback is not None and TO[1:] not in sent.status_callback
    assert parse_message_key(sent.key) == MessageKey(LEAD, RUN, 0, channel.value, message=2)
