"""Activity names, requests and results: what a workflow sends an activity and gets back.

Workflows call activities by these names (`workflow.execute_activity(SEND_TOUCH, …)`), never
through the activity classes: a workflow module imports no provider, database or client
stack, and a worker registers the implementations under the same names.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final, Literal

from pydantic import Field

from leads.config import DealerPlan
from leads.milestones import RECORD_CONVERSATION as RECORD_CONVERSATION
from leads.milestones import ConversationFigures
from leads.models import Channel, Lead, LeadKind, Locale, Payload, TaskKind

# DealerActivities
LOAD_DEALER_PLAN: Final = "load_dealer_plan"
OPEN_LEAD: Final = "open_lead"
CONTACT_KEYS: Final = "contact_keys"
OPTED_OUT_CHANNELS: Final = "opted_out_channels"
# SendingActivities
SEND_TOUCH: Final = "send_touch"
SEND_MESSAGE: Final = "send_message"
# AlertActivities
ALERT_SALESPEOPLE: Final = "alert_salespeople"
# LeadCheckActivities: whether a task's lead has ended
CHECK_LEAD: Final = "check_lead"
# ResultsActivities: RECORD_CONVERSATION, the conversation's figures to the results store

AlertStage = Literal["open", "remind", "escalate", "reply"]


class SendRequest(Payload):
    lead_id: str
    dealer_id: str
    # The first run id of the conversation (None: scheduled by a version before it was sent).
    conversation: str | None = None
    touch: int
    total: int
    channel: Channel
    to: str
    kind: LeadKind
    locale: Locale
    customer_name: str | None = None
    vehicle: str | None = None
    whatsapp_window_open: bool = False
    # The conversation's figures should this touch be its first answer (leads.milestones.
    # figures_if_sent): written to the results store once the provider took it, sparing the
    # workflow a local activity of its own. None: nothing to write (or an older version).
    figures: ConversationFigures | None = None


class MessageRequest(Payload):
    """A message outside the cadence: a salesperson's (`text`) or an appointment's
    confirmation (`appointment_at`), number `number` of the conversation."""

    lead_id: str
    dealer_id: str
    conversation: str
    number: int
    channel: Channel
    to: str
    by: str  # "blanco" or the salesperson's id
    locale: Locale
    customer_name: str | None = None
    vehicle: str | None = None
    text: str | None = None
    subject: str | None = None  # e-mail: "Re: …" of the customer's last mail
    in_reply_to: str | None = None
    references: list[str] = Field(default_factory=list)
    appointment_at: datetime | None = None
    appointment_kind: str | None = None
    template: bool = False  # WhatsApp: the dealer's approved template instead of the text
    kind: LeadKind | None = None  # the lead's, for the template's words in the thread


class SendResult(Payload):
    provider: str
    message_id: str
    # What the customer received, for the thread (None from versions before the thread).
    subject: str | None = None
    text: str | None = None
    # When the provider took it (None from versions before the send wrote the results).
    sent_at: datetime | None = None
    recorded: bool = False  # the request's figures reached the results store


class TouchAttempt(Payload):
    """How a touch sent outside its own activity went (the opening's first answer): sent, or
    refused for good by the provider. Anything else is not an attempt the lead can record;
    it sends the touch itself, with its retries."""

    sent: SendResult | None = None
    failure: str | None = None  # PERMANENT or REJECTED
    reason: str | None = None


class ContactKeysRequest(Payload):
    dealer_id: str
    identifiers: list[str]


class OpenRequest(Payload):
    lead: Lead
    contact_keys: bool  # also hash the keys: the starter did not set them at start
    # Also send the first answer, as the lead would at `answer_at` (its time when it asked),
    # for conversation `conversation` of lead `lead_id`. None: the lead sends it itself.
    answer_at: datetime | None = None
    lead_id: str | None = None
    conversation: str | None = None


class FirstTouch(Payload):
    """The first answer the opening sent: which touch, and how it went."""

    number: int
    channel: Channel
    attempt: TouchAttempt
    recorded: str | None = None  # fingerprint of the figures it wrote to the results store


class OpenedLead(Payload):
    """Everything a new lead needs before its first touch, from one local activity: one
    marker in its history, one round before the first answer."""

    plan: DealerPlan
    identifiers: list[str]  # what `refused` and `contact_keys` were found for
    refused: list[Channel]  # channels an erased earlier lead of this customer refused
    contact_keys: list[str] | None = None
    first: FirstTouch | None = None  # asked for (`answer_at`) and done


class AlertRequest(Payload):
    dealer_id: str
    task_id: str
    lead_id: str
    kind: TaskKind
    stage: AlertStage
    summary: str


class AlertResult(Payload):
    recipients: list[str]
    via: str


class LeadCheck(Payload):
    ended: bool
    status: str  # how its latest run stands: running, terminated, …, or `gone`
