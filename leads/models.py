"""The lead document, its parts and the lead's state: the shapes of docs/api.md.

Pure pydantic: no Temporal, no network.

Unknown fields are *kept* (``extra="allow"``): these models are what Temporal stores and what
crosses a worker boundary (inputs, signals, updates, queries, activity requests and results,
the conversation carried through continue-as-new). During a rolling deploy or a rollback one
worker version must read the other's messages and state, and pass on what it does not know.
Strictness belongs at the edge, where a typo in a platform's payload must be a clear error
naming the field: the API, the starter and the config file validate with
``model_validate(..., extra="forbid")``, which applies to every nested model.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, NonNegativeFloat, StringConstraints


class Payload(BaseModel):
    """The base of every model that Temporal stores or a worker receives: tolerant of fields
    a newer (or older) version added, and keeping them when it passes the model on."""

    # hide_input_in_errors: a rejected signal or input is logged by the SDK; its message must
    # name the field, never echo a name, address or message text.
    model_config = ConfigDict(
        extra="allow", frozen=False, str_strip_whitespace=True, hide_input_in_errors=True
    )


# What the edges pass to `model_validate`: unknown fields there are a platform's mistake.
EDGE: Final = "forbid"


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    WHATSAPP = "whatsapp"
    CHAT = "chat"
    PHONE = "phone"

    @property
    def written(self) -> bool:
        """Written channels are sent by the engine; phone is always a human call task."""
        return self is not Channel.PHONE


WRITTEN_CHANNELS: tuple[Channel, ...] = (Channel.EMAIL, Channel.WHATSAPP, Channel.SMS, Channel.CHAT)
PHONE_NUMBER_CHANNELS: frozenset[Channel] = frozenset(
    {Channel.SMS, Channel.WHATSAPP, Channel.PHONE}
)


class LeadKind(StrEnum):
    BROCHURE_REQUEST = "brochure_request"
    PRICE_REQUEST = "price_request"
    TEST_DRIVE = "test_drive"
    TRADE_IN = "trade_in"
    OFFER = "offer"
    CALLBACK_REQUEST = "callback_request"
    GENERAL = "general"


class Outcome(StrEnum):
    APPOINTMENT = "appointment"
    SHOWN = "shown"  # the customer came to the appointment
    NO_SHOW = "no_show"  # they did not: back to engaged
    WON = "won"
    LOST = "lost"
    UNREACHABLE = "unreachable"
    NOT_INTERESTED = "not_interested"


class LeadStatus(StrEnum):
    CONTACTING = "contacting"
    ENGAGED = "engaged"
    PAUSED = "paused"
    APPOINTMENT = "appointment"
    SHOWN = "shown"
    WON = "won"
    LOST = "lost"
    UNREACHABLE = "unreachable"
    OPTED_OUT = "opted_out"

    @property
    def final(self) -> bool:
        """A final status ends the workflow; appointment still waits for won or lost."""
        return self in {
            LeadStatus.WON,
            LeadStatus.LOST,
            LeadStatus.UNREACHABLE,
            LeadStatus.OPTED_OUT,
        }


class AppointmentKind(StrEnum):
    SHOWROOM = "showroom"
    TEST_DRIVE = "test_drive"
    CALL = "call"
    VIDEO = "video"


class CallResult(StrEnum):
    REACHED = "reached"
    NO_ANSWER = "no_answer"
    VOICEMAIL = "voicemail"
    WRONG_NUMBER = "wrong_number"


class TaskKind(StrEnum):
    REPLY = "reply"
    CALL = "call"
    NO_CHANNEL = "no_channel"


class TaskStatus(StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    DONE = "done"


class DeliveryStatus(StrEnum):
    """Where a sent message is, as the provider reports it. Reports can arrive out of order;
    `leads.delivery_status.advance` keeps a message from moving backwards."""

    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    UNDELIVERED = "undelivered"
    FAILED = "failed"


class Stage(StrEnum):
    """Which message of the cadence: the first answer, a follow-up, or the last one."""

    FIRST = "first"
    FOLLOW_UP = "follow_up"
    LAST = "last"


Locale = Literal["nl", "en"]
DealerId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]+$", min_length=1, max_length=64)]
ShortText = Annotated[str, StringConstraints(max_length=200)]


class Customer(Payload):
    """Everything is optional: a lead with nothing but a platform conversation is still a lead."""

    name: ShortText | None = None
    email: ShortText | None = None
    phone: Annotated[str, StringConstraints(max_length=40)] | None = None
    preferred_channel: Channel | None = None
    locale: Locale | None = None


class Vehicle(Payload):
    make: ShortText | None = None
    model: ShortText | None = None
    year: int | None = Field(default=None, ge=1900, le=2100)
    stock_id: ShortText | None = None

    def label(self) -> str:
        return " ".join(part for part in (self.make, self.model) if part)


class Lead(Payload):
    """The intake document (docs/api.md), also the workflow's input."""

    dealer_id: DealerId | None = None
    source: Annotated[str, StringConstraints(min_length=1, max_length=64)] = "website"
    external_id: ShortText | None = None
    kind: LeadKind = LeadKind.GENERAL
    received_at: datetime | None = None
    customer: Customer = Field(default_factory=Customer)
    vehicle: Vehicle | None = None
    message: Annotated[str, StringConstraints(max_length=10_000)] | None = None
    offer_amount: NonNegativeFloat | None = None
    reply_url: Annotated[str, StringConstraints(max_length=2000)] | None = None

    def inquiry_key(self) -> str:
        """Identifies one delivery of one inquiry, for deduplication (no personal data)."""
        return f"{self.source}:{self.external_id}" if self.external_id else ""

    def document_key(self) -> str:
        """The document itself, without the stamps a delivery adds (arrival time, dealer):
        two deliveries of one document have the same key."""
        return self.model_dump_json(exclude={"dealer_id", "received_at"})

    def arrived_on(self) -> Channel | None:
        """A lead that carries a platform conversation arrived in that chat."""
        return Channel.CHAT if self.reply_url else None


# --- signals ---------------------------------------------------------------------------------

# A provider's id for the event (Twilio MessageSid, SendGrid sg_event_id, a Message-ID): the
# workflow ignores an event it has seen, so a webhook delivered twice is heard once.
EventId = Annotated[str, StringConstraints(max_length=200)]


MessageText = Annotated[str, StringConstraints(max_length=10_000)]
# An e-mail's Message-ID: what an answer's In-Reply-To / References name to thread it.
MessageId = Annotated[str, StringConstraints(max_length=300)]


class CustomerReplied(Payload):
    channel: Channel
    text: MessageText = ""
    received_at: datetime | None = None
    event_id: EventId | None = None
    subject: ShortText | None = None  # e-mail only
    message_id: MessageId | None = None  # e-mail only: threads the salesperson's answer


# The conversation a touch belonged to (its message key names it, `leads.identity`): a report
# on an earlier conversation's touch must not move the touch of the same number in this one.
ConversationId = Annotated[str, StringConstraints(max_length=64)]


class DeliveryFailed(Payload):
    channel: Channel
    reason: ShortText = ""
    permanent: bool = False
    touch: int | None = None  # the touch the provider reports on, when it says
    event_id: EventId | None = None
    conversation: ConversationId | None = None  # None: a key from before conversations
    message: int | None = None  # a salesperson's message (its number), then touch is 0


class DeliveryReport(Payload):
    """A provider's progress report on one touch (sent, delivered, read)."""

    channel: Channel
    touch: int
    status: DeliveryStatus
    event_id: EventId | None = None
    conversation: ConversationId | None = None
    message: int | None = None  # a salesperson's message (its number), then touch is 0


class OptedOut(Payload):
    channel: Channel | Literal["all"]
    event_id: EventId | None = None
    text: MessageText | None = None  # what the customer wrote (STOP), for the thread


class OptedIn(Payload):
    """START / UNSTOP: the customer wants this channel again."""

    channel: Channel
    event_id: EventId | None = None
    text: MessageText | None = None


class AutoReplied(Payload):
    """An out-of-office answer: not a reply (rule 6), but the next touch waits."""

    channel: Channel
    until: datetime | None = None  # the return date, when the message names one
    event_id: EventId | None = None
    subject: ShortText | None = None
    text: MessageText | None = None


class TaskClaimed(Payload):
    """A task tells its lead who took it: who may write to the customer (`send_message`)."""

    task_id: str
    salesperson_id: str


# --- updates ---------------------------------------------------------------------------------


class RecordOutcome(Payload):
    outcome: Outcome
    reason: ShortText | None = None
    appointment_at: datetime | None = None
    appointment_kind: AppointmentKind | None = None  # appointment: default showroom
    salesperson_id: str | None = None  # who recorded it (set by the API)


SalespersonText = Annotated[str, StringConstraints(max_length=2000)]


class SendMessage(Payload):
    """A salesperson writes to the customer (docs/api.md "Salesperson messages")."""

    salesperson_id: str
    text: SalespersonText = ""  # empty only with `template`
    channel: Channel | None = None  # default: the channel the customer last wrote on
    manager: bool = False  # set by the API from the caller's role: managers may always write
    template: bool = False  # WhatsApp outside the 24 h window: the dealer's approved template


class LogCall(Payload):
    result: CallResult
    note: ShortText | None = None
    salesperson_id: str | None = None  # who called (set by the API)


class Empty(Payload):
    """The argument of `pause` and `resume`: nothing, but still a validated object."""


class IntakeResult(Payload):
    lead_id: str
    duplicate: bool


# --- state (the `state` query) ----------------------------------------------------------------


class Touch(Payload):
    number: int
    channel: Channel | None  # None: no channel was left, handed to a human task
    at: datetime
    template: str
    task_id: str | None = None
    failed: str | None = None  # why the provider refused, when it did
    delivery: DeliveryStatus | None = None  # what the provider last reported
    sent_at: datetime | None = None  # when the provider accepted it (None before this field)


class ThreadMessage(Payload):
    """One message of the conversation, whichever way and channel (docs/api.md "The
    thread"). What Blanco sent is stored as the customer received it."""

    at: datetime
    direction: Literal["in", "out"]
    channel: Channel | None  # None: an inquiry's own message, from a web form
    by: str  # "blanco", "customer" or the salesperson's id
    subject: str | None = None
    text: str
    delivery: DeliveryStatus | None = None  # outbound: what the provider last reported
    failed: str | None = None  # outbound: why it did not arrive
    auto_reply: bool = False  # an out-of-office answer
    keyword: Literal["stop", "start"] | None = None  # STOP / START
    touch: int | None = None  # the cadence touch this message was
    message: int | None = None  # a salesperson's message: its number in the conversation
    template: str | None = None  # the template it was rendered from
    message_id: str | None = None  # an inbound e-mail's Message-ID
    trimmed: bool = False  # the text was longer than the thread keeps


class Inquiry(Payload):
    """A lead merged into the conversation, without personal data."""

    source: str
    external_id: str | None
    kind: LeadKind
    at: datetime


class Event(Payload):
    """One line of the lead's timeline: replies, failures, opt-outs, calls, outcomes."""

    at: datetime
    what: str
    channel: Channel | None = None
    detail: str | None = None
    by: str | None = None  # the salesperson who did it


class LeadState(Payload):
    lead_id: str
    dealer_id: str
    status: LeadStatus
    kind: LeadKind
    source: str
    usable_channels: list[Channel]
    touches: list[Touch]
    touches_planned: int
    attempts: dict[str, int]
    next_touch_at: datetime | None
    open_task_id: str | None
    outcome: Outcome | None
    outcome_reason: str | None = None
    appointment_at: datetime | None = None
    appointment_kind: AppointmentKind | None = None
    salesperson_id: str | None = None  # who claimed the lead's task last
    whatsapp_window_until: datetime | None = None  # free WhatsApp text allowed until then
    # Who and what, for the salesperson who takes the lead (never in logs or search attributes)
    customer: Customer | None = None
    vehicle: Vehicle | None = None
    message: str | None = None
    inquiries: list[Inquiry]
    events: list[Event]  # the newest, and the first of each kind and every task line
    events_dropped: dict[str, int] = Field(default_factory=dict)  # older lines, by kind
    paused_seconds: NonNegativeFloat = 0
    opted_out: list[Channel] = Field(default_factory=list)  # kept as keyed hashes on erasure
    thread: list[ThreadMessage] = Field(default_factory=list)
    thread_dropped: int = 0  # the oldest messages no longer kept


# What a lead and its SalesTask send each other: here, not in workflows/sales_task.py, so
# that LeadFollowUp's sandbox need not re-import that workflow's module for every lead.
class TaskInput(Payload):
    task_id: str
    lead_id: str
    dealer_id: str
    kind: TaskKind
    summary: str  # what anyone may see
    summary_claimed: str  # with source and offer: shown once claimed (blind tasks)
    due_at: datetime | None = None  # call tasks: the business-hours slot
    remind_after: timedelta
    escalate_after: timedelta


class Progress(Payload):
    """The lead tells its task what happened: an outcome or a call was recorded."""

    what: str


class TaskState(Payload):
    task_id: str
    lead_id: str
    dealer_id: str
    kind: TaskKind
    status: TaskStatus
    assigned_to: str | None
    summary: str
    opened_at: datetime
    due_at: datetime | None
    reminded: bool
    escalated: bool
