"""Pytest fixtures for the provider fakes: one started server per test, stopped after it.

tests/conftest.py star-imports this module; `__all__` keeps that import to the fixtures.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.chat import FakeChat
from tests.fakes.sendgrid import FakeSendGrid
from tests.fakes.twilio import FakeTwilio

__all__ = ["fake_chat", "fake_sendgrid", "fake_twilio"]

FAKE_SENDGRID_KEY = "SG.fake-key-for-tests"


@pytest.fixture
def fake_sendgrid() -> Iterator[FakeSendGrid]:
    """SendGrid on 127.0.0.1; pass `.host` as SENDGRID_API_HOST, `.api_key` as the key."""
    with FakeSendGrid(api_key=FAKE_SENDGRID_KEY) as fake:
        yield fake


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    """Twilio on 127.0.0.1; pass `.base_url`, `.account_sid` and `.auth_token`."""
    with FakeTwilio() as fake:
        yield fake


@pytest.fixture
def fake_chat() -> Iterator[FakeChat]:
    """A platform chat endpoint; `.reply_url()` is a conversation to answer into."""
    with FakeChat() as fake:
        yield fake
