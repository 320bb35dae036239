"""providers.platform_chat against FakeChat: the signed JSON post (verified with the
real `standardwebhooks` library) and the error mapping."""

from __future__ import annotations

import json

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from leads.identity import message_key, person_message_key
from leads.models import Channel
from providers.base import OutboundMessage, PermanentDeliveryError, ProviderRejected
from providers.platform_chat import PlatformChat
from tests.fakes.chat import FakeChat
from tests.fakes.fixtures import fake_chat

# Listed so that ruff sees the fixture import, which pytest uses by parameter name, as used.
__all__ = ["fake_chat"]

SECRET = "whsec_dGVzdC1zZWNyZXQtZm9yLWJsYW5jbw=="
LEAD = "lead-autohuis-test-0123456789abcdef01234567"
RUN = "019a0000-0000-7000-8000-000000000001"  # the conversation: its first run id
TEXT = "Beste Pieter, de Golf staat klaar — tot morgen?"


def message(reply_url: str, **overrides: object) -> OutboundMessage:
    fields: dict[str, object] = {
        "lead_id": LEAD,
        "dealer_id": "autohuis-test",
        "conversation": RUN,
        "touch": 1,
        "channel": Channel.CHAT,
        "to": reply_url,
        "from_address": "Autohuis Test",
        "text": TEXT,
    }
    fields.update(overrides)
    fields.setdefault("key", message_key(LEAD, RUN, 1, "chat"))
    return OutboundMessage.model_validate(fields)


def test_post_is_signed_json(fake_chat: FakeChat) -> None:
    message_id = PlatformChat(SECRET, timeout=5).send(message(fake_chat.reply_url("c-42")))

    [post] = fake_chat.posts
    assert post.path == "/conversations/c-42/messages"
    assert post.header("content-type") == "application/json"
    assert post.json == {"lead_id": LEAD, "touch": 1, "text": TEXT}
    assert post.header("webhook-id") == f"{LEAD}:{RUN}:1:chat" == message_id
    # The platform's check, with the real library: body bytes as received, headers as sent.
    assert Webhook(SECRET).verify(post.body, post.headers) == post.json


def test_signature_fails_with_another_secret_or_body(fake_chat: FakeChat) -> None:
    PlatformChat(SECRET).send(message(fake_chat.reply_url()))
    [post] = fake_chat.posts
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_b3RoZXItc2VjcmV0LWZvci1ibGFuY28=").verify(post.body, post.headers)
    tampered = json.dumps({**post.json, "text": "other"})
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(tampered, post.headers)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (200, None),
        (202, None),
        (204, None),
        (429, "transient"),
        (500, "transient"),
        (503, "transient"),
        (404, PermanentDeliveryError),
        (410, PermanentDeliveryError),
        (400, ProviderRejected),
        (401, ProviderRejected),
        (403, ProviderRejected),
        (422, ProviderRejected),
    ],
)
def test_error_mapping(fake_chat: FakeChat, status: int, expected: object) -> None:
    fake_chat.fail_next(status)
    sender = PlatformChat(SECRET, timeout=5)
    if expected is None:
        assert sender.send(message(fake_chat.reply_url())) == f"{LEAD}:{RUN}:1:chat"
        return
    with pytest.raises(Exception) as raised:
        sender.send(message(fake_chat.reply_url()))
    if expected == "transient":
        assert not isinstance(raised.value, PermanentDeliveryError | ProviderRejected)
    else:
        assert type(raised.value) is expected
    assert TEXT not in str(raised.value)


def test_timeout_is_transient(fake_chat: FakeChat) -> None:
    fake_chat.hang_next()
    with pytest.raises(Exception) as raised:
        PlatformChat(SECRET, timeout=0.5).send(message(fake_chat.reply_url()))
    assert not isinstance(raised.value, PermanentDeliveryError | ProviderRejected)
    assert "unreachable" in str(raised.value)
    assert raised.value.__cause__ is None


def test_connection_refused_is_transient() -> None:
    with FakeChat() as gone:
        url = gone.reply_url()
    with pytest.raises(Exception) as raised:
        PlatformChat(SECRET, timeout=2).send(message(url))
    assert not isinstance(raised.value, PermanentDeliveryError | ProviderRejected)


@pytest.mark.parametrize("url", ["not a url", "ftp://platform.example/c/1", "http://"])
def test_unusable_reply_url_is_permanent(url: str) -> None:
    with pytest.raises(PermanentDeliveryError):
        PlatformChat(SECRET, timeout=2).send(message(url))


def test_a_salesperson_s_message_is_posted_under_its_own_key(fake_chat: FakeChat) -> None:
    """Jan answers in the platform's conversation: the post goes to the lead's reply_url with
    his message's key as `webhook-id` (a platform deduplicating on it ignores our retries),
    signed like every post, and no touch number (it is none)."""
    sender = PlatformChat(SECRET, timeout=5)
    jan = message(
        fake_chat.reply_url("c-7"),
        key=person_message_key(LEAD, RUN, 1, "chat"),
        touch=None,
        by="jan",
        text="Hij staat er nog! Zaterdag langskomen?",
    )
    assert sender.send(jan) == sender.send(jan) == f"{LEAD}:{RUN}:m1:chat"  # and a retry

    first, retry = fake_chat.posts
    assert first.path == "/conversations/c-7/messages"
    assert first.json == {
        "lead_id": LEAD,
        "touch": None,
        "text": "Hij staat er nog! Zaterdag langskomen?",
    }
    assert first.header("webhook-id") == retry.header("webhook-id") == f"{LEAD}:{RUN}:m1:chat"
    assert Webhook(SECRET).verify(first.body, first.headers) == first.json
