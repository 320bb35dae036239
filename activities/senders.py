"""Which provider sends each channel, decided once from the environment (docs/operating.md).

A provider sends for real only when its credentials are complete (SendGrid: the API key;
Twilio: account SID and auth token); everything else goes to the outbox. Platform chat posts
to the lead's `reply_url` only with BLANCO_PLATFORM_CHAT=post, so the local demo never
calls a platform it does not know.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from leads.models import Channel
from providers.base import Provider
from providers.outbox import OutboxProvider
from providers.platform_chat import PlatformChat
from providers.sendgrid.mail import SendGridEmail
from providers.twilio.messaging import TwilioMessaging

DEFAULT_OUTBOX = ".data/outbox.jsonl"
PROVIDER_TIMEOUT = 10.0  # seconds; a hung provider is a retry, never a stuck worker


def outbox_from_env(env: Mapping[str, str] = os.environ) -> OutboxProvider:
    """The outbox file (`BLANCO_OUTBOX`): the worker writes it, and its erasure edits it."""
    return OutboxProvider(Path(env.get("BLANCO_OUTBOX", DEFAULT_OUTBOX)))


@dataclass
class Senders:
    outbox: OutboxProvider
    email: SendGridEmail | None = None
    messaging: TwilioMessaging | None = None
    chat_posts: bool = False

    @classmethod
    def from_env(cls, public_base_url: str, env: Mapping[str, str] = os.environ) -> Senders:
        email = None
        if env.get("SENDGRID_API_KEY"):
            email = SendGridEmail(
                env["SENDGRID_API_KEY"], host=env.get("SENDGRID_API_HOST"), timeout=PROVIDER_TIMEOUT
            )
        messaging = None
        if env.get("TWILIO_ACCOUNT_SID") and env.get("TWILIO_AUTH_TOKEN"):
            messaging = TwilioMessaging(
                env["TWILIO_ACCOUNT_SID"],
                env["TWILIO_AUTH_TOKEN"],
                base_url=env.get("TWILIO_API_BASE_URL"),
                status_callback_base=public_base_url.rstrip("/"),
                timeout=PROVIDER_TIMEOUT,
            )
        return cls(
            outbox=outbox_from_env(env),
            email=email,
            messaging=messaging,
            chat_posts=env.get("BLANCO_PLATFORM_CHAT", "outbox") == "post",
        )

    def for_channel(self, channel: Channel, webhook_secret: str) -> Provider:
        if channel is Channel.EMAIL and self.email is not None:
            return self.email
        if channel in (Channel.SMS, Channel.WHATSAPP) and self.messaging is not None:
            return self.messaging
        if channel is Channel.CHAT and self.chat_posts:
            return PlatformChat(webhook_secret, timeout=PROVIDER_TIMEOUT)
        return self.outbox

    def describe(self) -> dict[str, str]:
        """For the start-up log line: which channels are live."""
        return {
            "email": "sendgrid" if self.email else "outbox",
            "sms_whatsapp": "twilio" if self.messaging else "outbox",
            "chat": "post" if self.chat_posts else "outbox",
        }
