"""What every provider receives and how it reports failure.

A provider sends one message and returns the provider's message id. It raises
`PermanentDeliveryError` when retrying can never help for this address (the workflow then
moves to the next channel), `ProviderRejected` when the provider refused for a reason that is
ours, not the customer's (bad credentials, misconfiguration: no retry, channel kept), and any
other exception for transient trouble (429, 5xx, timeouts), which Temporal retries with backoff.
"""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel, ConfigDict

from leads.models import Channel


class OutboundMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str  # exactly once: leads.identity.message_key (a touch) or alert_key (an alert)
    lead_id: str
    dealer_id: str
    conversation: str | None = None  # the first run id of the lead's conversation
    touch: int | None = None  # 1-based cadence step; None for a message that is not a touch
    by: str = "blanco"  # or the salesperson's id
    channel: Channel
    to: str  # e-mail address, E.164 number, or the platform's reply_url
    from_address: str  # email_from, sms_from or whatsapp_from of the dealer
    from_name: str | None = None  # the dealer's name, for e-mail
    subject: str | None = None  # e-mail only
    text: str
    html: str | None = None  # e-mail only
    reply_to: str | None = None  # reply+<token>@reply_domain
    # E-mail threading (RFC 5322): the customer's Message-ID this answers, and the chain.
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    unsubscribe_url: str | None = None
    whatsapp_content_sid: str | None = None  # approved template, outside the 24h window
    whatsapp_content_variables: dict[str, str] | None = None


class PermanentDeliveryError(Exception):
    """This address can never receive on this channel; do not retry, use the next channel."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ProviderRejected(Exception):
    """The provider refused for a reason on our side (credentials, configuration)."""


class Provider(Protocol):
    def send(self, message: OutboundMessage) -> str:
        """Send synchronously (the client libraries are synchronous); return the message id."""
        ...
