"""providers.sendgrid.mail with the real `sendgrid` client against FakeSendGrid:
the exact v3 request, no personal data outside recipient and content, and the error mapping."""

from __future__ import annotations

import json

import pytest
from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient

from leads.identity import message_key, parse_message_key, person_message_key
from leads.models import Channel
from providers.base import OutboundMessage, PermanentDeliveryError, ProviderRejected
from providers.sendgrid.mail import SendGridEmail, mail_body
from tests.fakes.fixtures import FAKE_SENDGRID_KEY, fake_sendgrid
from tests.fakes.sendgrid import FakeSendGrid
from tests.fakes.server import FakeServer, Reply

# Listed so that ruff sees the fixture import, which pytest uses by parameter name, as used.
__all__ = ["fake_sendgrid"]

LEAD = "lead-autohuis-test-0123456789abcdef01234567"
RUN = "019a0000-0000-7000-8000-000000000001"  # the conversation: its first run id
TO = "pieter.personal@example.nl"
UNSUBSCRIBE = "http://localhost:8000/v1/unsubscribe/tok-abc"
PERSONAL = (TO, "Pieter", "Golf")


def message(**overrides: object) -> OutboundMessage:
    fields: dict[str, object] = {
        "lead_id": LEAD,
        "dealer_id": "autohuis-test",
        "conversation": RUN,
        "touch": 2,
        "channel": Channel.EMAIL,
        "to": TO,
        "from_address": "verkoop@autohuis-test.nl",
        "from_name": "Autohuis Test",
        "subject": "Uw Golf",
        "text": "Beste Pieter, de Golf staat klaar.",
        "html": "<p>Beste Pieter, de Golf staat klaar.</p>",
        "reply_to": "reply+tok123@reply.autohuis-test.nl",
        "unsubscribe_url": UNSUBSCRIBE,
    }
    fields.update(overrides)
    fields.setdefault("key", message_key(LEAD, RUN, 2, "email"))
    return OutboundMessage.model_validate(fields)


def provider(fake: FakeServer, timeout: float = 5.0, key: str = FAKE_SENDGRID_KEY) -> SendGridEmail:
    return SendGridEmail(key, host=fake.url, timeout=timeout)


def test_request_is_the_v3_mail_send_document(fake_sendgrid: FakeSendGrid) -> None:
    message_id = provider(fake_sendgrid).send(message())

    [request] = fake_sendgrid.mails
    assert request.header("authorization") == f"Bearer {FAKE_SENDGRID_KEY}"
    assert request.header("content-type") == "application/json"
    assert request.json == {
        "personalizations": [{"to": [{"email": TO}]}],
        "from": {"email": "verkoop@autohuis-test.nl", "name": "Autohuis Test"},
        "reply_to": {"email": "reply+tok123@reply.autohuis-test.nl"},
        "subject": "Uw Golf",
        "content": [
            {"type": "text/plain", "value": "Beste Pieter, de Golf staat klaar."},
            {"type": "text/html", "value": "<p>Beste Pieter, de Golf staat klaar.</p>"},
        ],
        "headers": {
            "List-Unsubscribe": f"<{UNSUBSCRIBE}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
        "custom_args": {"blanco_touch": f"{LEAD}:{RUN}:2:email", "blanco_lead": LEAD},
    }
    assert message_id.startswith("fake-sg-")


def test_no_personal_data_in_custom_args_or_headers(fake_sendgrid: FakeSendGrid) -> None:
    provider(fake_sendgrid).send(message())
    [request] = fake_sendgrid.mails
    exposed = json.dumps([request.json["custom_args"], request.json["headers"]])
    exposed += json.dumps(request.headers)  # the HTTP headers too
    for value in PERSONAL:
        assert value not in exposed


def test_optional_parts_are_left_out(fake_sendgrid: FakeSendGrid) -> None:
    provider(fake_sendgrid).send(
        message(html=None, reply_to=None, unsubscribe_url=None, from_name=None)
    )
    [request] = fake_sendgrid.mails
    assert request.json["content"] == [
        {"type": "text/plain", "value": "Beste Pieter, de Golf staat klaar."}
    ]
    assert request.json["from"] == {"email": "verkoop@autohuis-test.nl"}
    assert "reply_to" not in request.json
    assert "headers" not in request.json


def test_missing_message_id_header_gives_empty_id(fake_sendgrid: FakeSendGrid) -> None:
    fake_sendgrid.script(Reply(202))
    assert provider(fake_sendgrid).send(message()) == ""


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (202, None),
        (429, "transient"),
        (500, "transient"),
        (503, "transient"),
        (400, PermanentDeliveryError),
        (403, PermanentDeliveryError),
        (401, ProviderRejected),
        (413, ProviderRejected),
    ],
)
def test_error_mapping(fake_sendgrid: FakeSendGrid, status: int, expected: object) -> None:
    if status != 202:
        fake_sendgrid.fail_next(status)
    sender = provider(fake_sendgrid)
    if expected is None:
        assert sender.send(message())
        return
    with pytest.raises(Exception) as raised:
        sender.send(message())
    if expected == "transient":
        assert not isinstance(raised.value, PermanentDeliveryError | ProviderRejected)
    else:
        assert type(raised.value) is expected
    assert str(status) in str(raised.value)
    for value in PERSONAL:
        assert value not in str(raised.value)
    assert raised.value.__cause__ is None  # the response body is not chained along


def test_wrong_key_is_rejected(fake_sendgrid: FakeSendGrid) -> None:
    with pytest.raises(ProviderRejected):
        provider(fake_sendgrid, key="SG.wrong").send(message())


def test_permanent_reason_is_sendgrids_message_without_personal_data(
    fake_sendgrid: FakeSendGrid,
) -> None:
    fake_sendgrid.fail_next(400, message=f"Invalid to address {TO} (+31 6 1234 5678). " + "x" * 300)
    with pytest.raises(PermanentDeliveryError) as raised:
        provider(fake_sendgrid).send(message())
    reason = raised.value.reason
    assert reason.startswith("sendgrid 400: Invalid to address <address> (<number>). x")
    assert len(reason) <= 200  # fits DeliveryFailed.reason
    assert TO not in reason and "1234" not in reason


def test_timeout_is_transient(fake_sendgrid: FakeSendGrid) -> None:
    fake_sendgrid.hang_next()
    with pytest.raises(Exception) as raised:
        provider(fake_sendgrid, timeout=0.5).send(message())
    assert not isinstance(raised.value, PermanentDeliveryError | ProviderRejected)
    assert "unreachable" in str(raised.value)


def test_connection_refused_is_transient() -> None:
    with FakeSendGrid() as gone:
        sender = provider(gone)
    # Stopped: nothing listens on that port any more.
    with pytest.raises(Exception) as raised:
        sender.send(message())
    assert not isinstance(raised.value, PermanentDeliveryError | ProviderRejected)


# --- a salesperson's answer, threaded into the customer's own mail (issue 10) ----------------

CUSTOMER_MAIL = "<CAF=abc.123@mail.example.nl>"  # the Message-ID of the customer's reply
FIRST_MAIL = "<root-1@mail.example.nl>"


def from_jan(**overrides: object) -> OutboundMessage:
    """Jan's first message of the conversation, answering the customer's mail."""
    fields: dict[str, object] = {
        "key": person_message_key(LEAD, RUN, 1, "email"),
        "touch": None,
        "by": "jan",
        "subject": "Re: Uw Golf",
        "text": "Zaterdag om 10:00 staat de Golf voor u klaar. Groet, Jan",
        "html": None,
        "in_reply_to": CUSTOMER_MAIL,
        "references": (FIRST_MAIL, CUSTOMER_MAIL),
    }
    fields.update(overrides)
    return message(**fields)


def test_a_salesperson_s_answer_is_threaded_and_comes_back(fake_sendgrid: FakeSendGrid) -> None:
    """What the customer's mail client sees: the dealer's sender, their own address, Jan's
    text, the threading headers that put it under their mail, and the reply+ address that
    brings their answer back; the key in custom_args brings SendGrid's events back."""
    provider(fake_sendgrid).send(from_jan())

    [mail] = fake_sendgrid.sent
    assert (mail.sender, mail.sender_name) == ("verkoop@autohuis-test.nl", "Autohuis Test")
    assert mail.to == [TO]
    assert mail.subject == "Re: Uw Golf"
    assert mail.text == "Zaterdag om 10:00 staat de Golf voor u klaar. Groet, Jan"
    assert mail.reply_to == "reply+tok123@reply.autohuis-test.nl"
    assert mail.headers["In-Reply-To"] == CUSTOMER_MAIL
    assert mail.headers["References"] == f"{FIRST_MAIL} {CUSTOMER_MAIL}"
    assert mail.key == f"{LEAD}:{RUN}:m1:email"
    parsed = parse_message_key(mail.key)
    assert parsed is not None and (parsed.touch, parsed.message) == (0, 1)


def test_a_message_that_answers_nothing_has_no_threading_headers(
    fake_sendgrid: FakeSendGrid,
) -> None:
    provider(fake_sendgrid).send(from_jan(in_reply_to=None, references=()))
    [mail] = fake_sendgrid.sent
    assert "In-Reply-To" not in mail.headers and "References" not in mail.headers


MANY = tuple(f"<m{n}@mail.example.nl>" for n in range(30))


@pytest.mark.parametrize(
    ("in_reply_to", "references", "expected_in_reply_to", "expected_references"),
    [
        pytest.param(
            CUSTOMER_MAIL, (), CUSTOMER_MAIL, CUSTOMER_MAIL, id="references-name-the-parent"
        ),
        pytest.param(
            CUSTOMER_MAIL, (CUSTOMER_MAIL, FIRST_MAIL), CUSTOMER_MAIL,
            f"{FIRST_MAIL} {CUSTOMER_MAIL}", id="the-parent-comes-last",
        ),
        pytest.param(
            None, (FIRST_MAIL, FIRST_MAIL), None, FIRST_MAIL, id="no-parent-no-repeats"
        ),
        pytest.param(
            " abc@mail.example.nl ", (), "<abc@mail.example.nl>", "<abc@mail.example.nl>",
            id="brackets-restored",
        ),
        pytest.param(
            f"{CUSTOMER_MAIL}\r\nBcc: someone@evil.example", (FIRST_MAIL,), None, FIRST_MAIL,
            id="a-line-break-is-no-msg-id",
        ),
        pytest.param(
            "<two words@mail.example>", ("<a@b> <c@d>", "no-at-sign", "<>"), None, None,
            id="malformed-ids-are-left-out",
        ),
        pytest.param(
            MANY[-1], MANY, MANY[-1], " ".join(MANY[:1] + MANY[-19:]),
            id="long-chains-keep-the-first-and-the-newest",
        ),
    ],
)  # fmt: skip
def test_rfc5322_threading_headers(
    fake_sendgrid: FakeSendGrid,
    in_reply_to: str | None,
    references: tuple[str, ...],
    expected_in_reply_to: str | None,
    expected_references: str | None,
) -> None:
    """RFC 5322 §3.6.4: References is space-separated `<...>` ids ending with the message
    answered. The ids come from the customer's mail client: one that is not a msg-id never
    reaches SendGrid, which would refuse the whole mail (and so block the customer's e-mail)."""
    provider(fake_sendgrid).send(from_jan(in_reply_to=in_reply_to, references=references))
    [mail] = fake_sendgrid.sent  # accepted: the fake refuses what SendGrid refuses
    assert mail.headers.get("In-Reply-To") == expected_in_reply_to
    assert mail.headers.get("References") == expected_references
    assert all("\r" not in value and "\n" not in value for value in mail.headers.values())


def test_threading_and_unsubscribe_headers_go_together(fake_sendgrid: FakeSendGrid) -> None:
    provider(fake_sendgrid).send(from_jan(references=()))
    [mail] = fake_sendgrid.sent
    assert mail.headers == {
        "In-Reply-To": CUSTOMER_MAIL,
        "References": CUSTOMER_MAIL,
        "List-Unsubscribe": f"<{UNSUBSCRIBE}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


@pytest.mark.parametrize(
    "headers",
    [{"Reply-To": "x@example.nl"}, {"X-Ok": "two\r\nlines"}, {"X-Count": 3}],
    ids=["reserved-name", "line-break", "not-a-string"],
)
def test_the_fake_refuses_the_headers_sendgrid_refuses(
    fake_sendgrid: FakeSendGrid, headers: dict[str, object]
) -> None:
    """The fake is held to SendGrid's rules, so the tests above can fail: a mail whose custom
    headers SendGrid would refuse is a 400 here too."""
    document = {**mail_body(message()), "headers": headers}
    with pytest.raises(HTTPError) as raised:
        SendGridAPIClient(api_key=FAKE_SENDGRID_KEY, host=fake_sendgrid.url).send(document)
    assert raised.value.status_code == 400
    assert fake_sendgrid.sent == []
