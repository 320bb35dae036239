"""One lead's conversation: everything the workflow knows, and the pure decisions on it.

The `LeadFollowUp` workflow holds one `Conversation`, feeds it what happens (touches sent,
replies, failures, opt-outs, outcomes) and asks it what to do next. Nothing here does I/O
or reads a clock: `now` is always passed in, so the workflow stays deterministic and every
rule can be tested with a table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, TypeVar
from zoneinfo import ZoneInfo

from pydantic import Field

from leads.auto_reply import AUTO_REPLY_DEFAULT_POSTPONE
from leads.cadence import touch_due, unreachable_at
from leads.config import DealerPlan
from leads.contact import (
    DealerChannels,
    analyse_contact,
    analyse_phone,
    channel_for_touch,
    normalise_email,
)
from leads.delivery_status import advance
from leads.identity import contact_identifiers
from leads.models import (
    PHONE_NUMBER_CHANNELS,
    WRITTEN_CHANNELS,
    AppointmentKind,
    CallResult,
    Channel,
    Customer,
    DeliveryStatus,
    Event,
    Inquiry,
    Lead,
    LeadState,
    LeadStatus,
    LogCall,
    Outcome,
    Payload,
    RecordOutcome,
    SendMessage,
    TaskKind,
    ThreadMessage,
    Touch,
)
from leads.timeline import (
    CONTACT_EVENTS,
    EVENTS_REMEMBERED,
    EventName,
    call_event,
    drop_oldest,
    outcome_event,
    seen_key,
)

OUTCOME_STATUS: dict[Outcome, LeadStatus] = {
    Outcome.APPOINTMENT: LeadStatus.APPOINTMENT,
    Outcome.SHOWN: LeadStatus.SHOWN,
    Outcome.NO_SHOW: LeadStatus.ENGAGED,  # back to the salesperson: a new date, or an outcome
    Outcome.WON: LeadStatus.WON,
    Outcome.LOST: LeadStatus.LOST,
    Outcome.NOT_INTERESTED: LeadStatus.LOST,  # a lost lead whose reason is "not interested"
    Outcome.UNREACHABLE: LeadStatus.UNREACHABLE,
}


@dataclass(frozen=True)
class TouchDue:
    number: int
    channel: Channel | None  # None: no channel left, a human takes over
    at: datetime


@dataclass(frozen=True)
class CadenceDone:
    """Every touch went out; unreachable at `at` unless the customer answers first."""

    at: datetime


NextStep = TouchDue | CadenceDone

CHANNEL_WORDS = {
    Channel.EMAIL: "e-mail",
    Channel.SMS: "SMS",
    Channel.WHATSAPP: "WhatsApp",
    Channel.CHAT: "the platform chat",
    Channel.PHONE: "phone",
}

T = TypeVar("T")
EARLY_REPORTS_KEPT = 20  # reports on touches whose send is still finishing
AUTO_REPLY_LONGEST = timedelta(days=90)  # an out-of-office never holds the cadence longer
# The thread rides every continue-as-new and every `state` query: it keeps the newest
# messages, each text trimmed (a pasted e-mail history is not a conversation).
THREAD_KEPT = 200
TEXT_KEPT = 2000
# …and at most this many bytes of text in all: it rides every continue-as-new input, far
# below Temporal's 2 MB payload limit whatever the alphabet.
THREAD_BYTES = 256_000
KEYS_REMEMBERED = 100  # idempotency keys of salesperson messages, for retries after a new run
REFERENCES_KEPT = 20  # Message-IDs an answer's References names (the provider keeps as many)
WHATSAPP_WINDOW = timedelta(hours=24)  # free text only this long after the customer wrote
# Why a WhatsApp touch could not go out: outside the window, and the dealer has no approved
# template. It takes WhatsApp out of the cadence; the customer's own WhatsApp message (which
# opens the window) brings it back.
WHATSAPP_TEMPLATE_MISSING = (
    "no approved WhatsApp template for this stage outside the 24-hour window"
)


def merge_customer(known: Customer, new: Customer, region: str = "NL") -> Customer:
    """A later inquiry fills in what the first one lacked and updates what the customer changed.
    Rule 2: an unusable e-mail or phone (a platform's 0000000000) never replaces a usable one."""
    updates = {k: v for k, v in new.model_dump().items() if v not in (None, "")}
    if normalise_email(known.email) and not normalise_email(new.email):
        updates.pop("email", None)
    known_phone, new_phone = analyse_phone(known.phone, region), analyse_phone(new.phone, region)
    if known_phone.callable and not new_phone.callable:
        updates.pop("phone", None)
    return Customer.model_validate(known.model_dump() | updates)


def trim(message: ThreadMessage) -> ThreadMessage:
    """A text longer than the thread keeps: its start, marked as trimmed."""
    if len(message.text) > TEXT_KEPT:
        message.text, message.trimmed = message.text[: TEXT_KEPT - 1] + "…", True
    return message


def _written_source(source: str) -> Channel | None:
    """A lead that began as a text to the dealer (source `sms`, `email`, …) came on it."""
    return next((c for c in Channel if c.written and c.value == source), None)


def _keep_last(items: list[T], item: T, limit: int) -> list[T]:
    """`items` plus `item`, only the newest `limit`: bounded state that continue-as-new carries."""
    return [*items[-(limit - 1) :], item]


def _excerpt(text: str, limit: int = 200) -> str | None:
    text = " ".join(text.split())
    if not text:
        return None
    return text if len(text) <= limit else text[: limit - 1] + "…"


class EarlyReport(Payload):
    """A provider's report that arrived before the workflow recorded its touch."""

    at: datetime
    number: int
    channel: Channel
    status: DeliveryStatus
    reason: str = ""
    permanent: bool = False


class Conversation(Payload):
    lead_id: str
    lead: Lead
    plan: DealerPlan
    arrival: datetime
    status: LeadStatus = LeadStatus.CONTACTING
    addresses: dict[Channel, str] = Field(default_factory=dict)
    blocked: dict[Channel, str] = Field(default_factory=dict)
    opted_out: list[Channel] = Field(default_factory=list)
    touches: list[Touch] = Field(default_factory=list)
    inquiries: list[Inquiry] = Field(default_factory=list)
    events: list[Event] = Field(default_factory=list)  # bounded: leads.timeline
    events_dropped: dict[str, int] = Field(default_factory=dict)  # kind → older lines dropped
    paused_since: datetime | None = None
    paused_total: timedelta = timedelta(0)
    outcome: Outcome | None = None
    outcome_reason: str | None = None
    appointment_at: datetime | None = None
    tasks_opened: int = 0
    open_task_id: str | None = None
    open_task_kind: TaskKind | None = None
    whatsapp_inbound_at: datetime | None = None
    not_before: datetime | None = None  # an out-of-office said when the customer is back
    events_seen: list[str] = Field(default_factory=list)  # digests (leads.timeline.seen_key)
    early_reports: list[EarlyReport] = Field(default_factory=list)
    contact_fingerprint: str | None = None  # of the identifiers behind the ContactKeys published
    thread: list[ThreadMessage] = Field(default_factory=list)
    thread_dropped: int = 0
    messages_sent: int = 0  # messages outside the cadence: salespeople's and confirmations
    message_keys: dict[str, int] = Field(default_factory=dict)  # update id → message number
    claims: dict[str, str] = Field(default_factory=dict)  # task id → who claimed it
    salesperson_id: str | None = None  # who claimed the lead's task last
    appointment_kind: AppointmentKind | None = None
    results_fingerprint: str | None = None  # of the figures the results store last took

    # --- construction -------------------------------------------------------------------

    @classmethod
    def start(cls, lead_id: str, lead: Lead, plan: DealerPlan, now: datetime) -> Conversation:
        conversation = cls(lead_id=lead_id, lead=lead, plan=plan, arrival=now)
        conversation.inquiries.append(
            Inquiry(source=lead.source, external_id=lead.external_id, kind=lead.kind, at=now)
        )
        conversation.refresh_addresses()
        conversation.inquired(now, lead)
        return conversation

    # --- the thread -----------------------------------------------------------------------

    def add_message(self, message: ThreadMessage) -> ThreadMessage:
        """Append to the thread, within its bounds: the text trimmed, the oldest dropped."""
        trim(message)
        self.thread.append(message)
        self.keep_thread_bounded()
        return message

    def keep_thread_bounded(self) -> None:
        size = sum(len(m.text.encode()) for m in self.thread)
        drop = max(0, len(self.thread) - THREAD_KEPT)
        while size > THREAD_BYTES and drop < len(self.thread) - 1:
            size -= len(self.thread[drop].text.encode())
            drop += 1
        if drop:
            self.thread_dropped += drop
            self.thread = self.thread[drop:]

    def wrote(
        self,
        now: datetime,
        channel: Channel | None,
        text: str,
        **marks: object,
    ) -> None:
        """What the customer wrote, into the thread (nothing for an empty text)."""
        if text.strip():
            self.add_message(
                ThreadMessage.model_validate(
                    {"at": now, "direction": "in", "channel": channel, "by": "customer"}
                    | {"text": text.strip(), **marks}
                )
            )

    def inquired(self, now: datetime, lead: Lead) -> None:
        """An inquiry's own message opens (or joins) the thread; `channel` None: a form. A
        lead that began as the customer's WhatsApp message opens WhatsApp's 24-hour window."""
        channel = lead.arrived_on() or _written_source(lead.source)
        self.wrote(now, channel, lead.message or "")
        if channel is Channel.WHATSAPP:
            self.whatsapp_inbound_at = now

    def message_by_number(self, number: int) -> ThreadMessage | None:
        return next((m for m in reversed(self.thread) if m.message == number), None)

    def touch_message(self, number: int, channel: Channel) -> ThreadMessage | None:
        return next(
            (m for m in reversed(self.thread) if m.touch == number and m.channel is channel), None
        )

    def whatsapp_window_until(self) -> datetime | None:
        at = self.whatsapp_inbound_at
        return None if at is None else at + WHATSAPP_WINDOW

    def whatsapp_window_open(self, now: datetime) -> bool:
        """Free WhatsApp text is allowed: the customer wrote on WhatsApp within 24 hours."""
        until = self.whatsapp_window_until()
        return until is not None and now < until

    def refresh_addresses(self) -> None:
        dealer = DealerChannels(self.plan.has_email, self.plan.has_sms, self.plan.has_whatsapp)
        found = analyse_contact(self.lead.customer, self.plan.country, self.lead.reply_url, dealer)
        self.addresses = dict(found.addresses)

    # --- what the customer can be reached on ----------------------------------------------

    def usable(self) -> list[Channel]:
        return [c for c in Channel if c in self.addresses and c not in self.blocked]

    def channel_for(self, touch: int) -> Channel | None:
        return channel_for_touch(
            touch,
            self.usable(),
            self.lead.customer.preferred_channel,
            self.lead.arrived_on(),
            self.lead.kind,
            self.plan.calls,
        )

    # --- the cadence ----------------------------------------------------------------------

    @property
    def anchor(self) -> datetime:
        """Arrival, shifted by the time the lead was paused: the cadence resumes where it was."""
        return self.arrival + self.paused_total

    @property
    def touches_planned(self) -> int:
        return len(self.plan.cadence)

    @property
    def cadence_done(self) -> bool:
        return len(self.touches) >= self.touches_planned

    def waits_for_human(self) -> bool:
        """Nothing automatic is due: the lead is paused, engaged or has an appointment, or the
        cadence ran while a call or no-channel task is still open — then a human decides
        whether the customer was reachable (rules 2 and 5), not the clock."""
        return self.status is not LeadStatus.CONTACTING or (
            self.cadence_done and self.open_task_id is not None
        )

    def next_step(self) -> NextStep:
        if self.cadence_done:
            at = unreachable_at(self.plan, self.touches[-1].at)
            if self.not_before is not None:
                # Away when the cadence ended: they get the grace after they are back.
                at = max(at, self.not_before + self.plan.grace)
            return CadenceDone(at)
        number = len(self.touches) + 1
        channel = self.channel_for(number)
        previous = self.touches[-1].at if self.touches else None
        due = touch_due(
            self.plan,
            self.lead_id,
            number,
            self.anchor,
            previous,
            channel is Channel.PHONE,
            self.not_before,
        )
        return TouchDue(number, channel, due)

    def record_touch(
        self, touch: Touch, subject: str | None = None, text: str | None = None
    ) -> None:
        """A touch done; one the provider accepted joins the thread as the customer got it
        (`text` None: sent by a version that did not say what it rendered)."""
        self.touches.append(touch)
        if touch.channel is not None and touch.channel.written and touch.failed is None:
            self.add_message(
                ThreadMessage(
                    at=touch.at,
                    direction="out",
                    channel=touch.channel,
                    by="blanco",
                    subject=subject,
                    text=text if text is not None else f"[{touch.template}]",
                    delivery=DeliveryStatus.SENT,
                    touch=touch.number,
                    template=touch.template,
                )
            )
        early = [
            r for r in self.early_reports if (r.number, r.channel) == (touch.number, touch.channel)
        ]
        if early:
            self.early_reports = [r for r in self.early_reports if r not in early]
            for r in early:
                self.delivery_report(r.at, r.number, r.channel, r.status, r.reason, r.permanent)

    def contact_identifiers(self) -> list[str]:
        return contact_identifiers(
            self.lead.customer,
            [(i.source, i.external_id) for i in self.inquiries],
            self.plan.country,
        )

    def attempts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for touch in self.touches:
            key = touch.channel.value if touch.channel else "task"
            counts[key] = counts.get(key, 0) + 1
        return counts

    # --- what happens ---------------------------------------------------------------------

    def note(
        self,
        now: datetime,
        what: str,
        channel: Channel | None = None,
        detail: str | None = None,
        by: str | None = None,
    ) -> None:
        self.events.append(Event(at=now, what=what, channel=channel, detail=detail, by=by))
        dropped = drop_oldest(self.events)
        if dropped is not None:
            self.events_dropped[dropped.what] = self.events_dropped.get(dropped.what, 0) + 1

    def events_recorded(self) -> int:
        """Every timeline line ever noted, the dropped ones too."""
        return len(self.events) + sum(self.events_dropped.values())

    def first_time(self, event_id: str | None) -> bool:
        """False for a provider event already heard (webhooks are delivered at least once).
        A conversation carried from before digests remembers raw ids: both are looked up."""
        if event_id is None:
            return True
        key = seen_key(event_id)
        if key in self.events_seen or event_id in self.events_seen:
            return False
        self.events_seen = _keep_last(self.events_seen, key, EVENTS_REMEMBERED)
        return True

    def touch(self, number: int, channel: Channel) -> Touch | None:
        for touch in reversed(self.touches):
            if touch.number == number and touch.channel is channel:
                return touch
        return None

    def delivery_report(
        self,
        now: datetime,
        number: int,
        channel: Channel,
        status: DeliveryStatus,
        reason: str = "",
        permanent: bool = False,
    ) -> bool:
        """Record a provider's report on a touch. Reports arrive out of order; a message never
        moves backwards (a late `sent` after `delivered`, a `failed` after `read`). A report
        on a touch the workflow has not recorded yet (the send activity is still finishing)
        is kept until it is. True when the report changed the touch."""
        touch = self.touch(number, channel)
        if touch is None:
            if number > len(self.touches):
                early = EarlyReport(
                    at=now,
                    number=number,
                    channel=channel,
                    status=status,
                    reason=reason,
                    permanent=permanent,
                )
                self.early_reports = _keep_last(self.early_reports, early, EARLY_REPORTS_KEPT)
            return False
        moved = advance(touch.delivery, status)
        if moved == touch.delivery or moved != status:
            return False
        touch.delivery = moved
        message = self.touch_message(number, channel)
        if message is not None:
            self.message_report(message, status, reason)
        if moved in (DeliveryStatus.FAILED, DeliveryStatus.UNDELIVERED):
            touch.failed = reason
            self.delivery_failed(now, channel, reason, permanent)
        return True

    def message_report(
        self, message: ThreadMessage, status: DeliveryStatus, reason: str = ""
    ) -> bool:
        """A provider's report on a message of the thread; never backwards. True if it moved."""
        moved = advance(message.delivery, status)
        if moved == message.delivery or moved != status:
            return False
        message.delivery = moved
        if moved in (DeliveryStatus.FAILED, DeliveryStatus.UNDELIVERED):
            message.failed = reason or moved.value
        return True

    def auto_replied(
        self,
        now: datetime,
        channel: Channel,
        until: datetime | None,
        text: str = "",
        subject: str | None = None,
    ) -> None:
        """Rule 6 says a reply goes to a human; an out-of-office is not a reply. The next
        touch waits until the customer is back (or a day, when they do not say)."""
        self.wrote(now, channel, text, subject=subject, auto_reply=True)
        back = until if until is not None and until > now else now + AUTO_REPLY_DEFAULT_POSTPONE
        back = min(back, now + AUTO_REPLY_LONGEST)
        self.not_before = max(back, self.not_before) if self.not_before else back
        self.note(
            now, EventName.AUTO_REPLY, channel, f"next touch not before {self.not_before:%Y-%m-%d}"
        )

    def replied(
        self,
        now: datetime,
        channel: Channel,
        text: str = "",
        subject: str | None = None,
        message_id: str | None = None,
    ) -> bool:
        """Rule 6: a reply stops the cadence. True when this reply needs a human now. The
        timeline keeps the start of the text, the thread all of it (within its bounds)."""
        self.note(now, EventName.CUSTOMER_REPLIED, channel, _excerpt(text))
        self.wrote(now, channel, text, subject=subject, message_id=message_id)
        if channel is Channel.WHATSAPP:
            self.whatsapp_inbound_at = now
            if self.blocked.get(channel) == f"failed: {WHATSAPP_TEMPLATE_MISSING}":
                del self.blocked[channel]
        if self.status.final:
            return False
        if self.status is LeadStatus.PAUSED:
            self.resume(now)
        if self.status is LeadStatus.CONTACTING:
            self.status = LeadStatus.ENGAGED
        return True

    def delivery_failed(
        self, now: datetime, channel: Channel, reason: str, permanent: bool
    ) -> None:
        self.note(
            now,
            EventName.DELIVERY_FAILED,
            channel,
            f"{'permanent' if permanent else 'temporary'}: {reason}",
        )
        if permanent:
            self.blocked[channel] = f"failed: {reason}"

    def opt_out(self, now: datetime, channel: Channel | Literal["all"], text: str = "") -> None:
        """Rule 7: an opt-out suppresses that channel at once; a customer who opted out of every
        channel they could be reached on is opted out of all of them. `text`: the STOP the
        customer wrote, for the thread (an unsubscribe click has none)."""
        self.note(now, EventName.OPTED_OUT, None if channel == "all" else channel)
        if channel != "all":
            self.wrote(now, channel, text, keyword="stop")
        channels = list(Channel) if channel == "all" else [channel]
        for each in channels:
            self.blocked[each] = "opted out"
            if each not in self.opted_out:
                self.opted_out.append(each)
        if self.status.final:
            return
        reachable_before = [c for c in self.addresses if c.written]
        everything = bool(reachable_before) and all(c in self.opted_out for c in reachable_before)
        # "all" always ends it. Unsubscribing from the last channel ends a lead that is still
        # being contacted; one that answered or has an appointment stays with its salesperson.
        if channel == "all" or (
            everything and self.status in (LeadStatus.CONTACTING, LeadStatus.PAUSED)
        ):
            self.status = LeadStatus.OPTED_OUT

    def suppress(self, now: datetime, channels: list[Channel]) -> None:
        """Rule 7 outlives erasure: channels an erased earlier lead of this customer refused
        are not used. Unlike an opt-out now, this never ends the lead: the customer came back
        to us, and with nothing left to write on a human gets the task (rule 2)."""
        for channel in channels:
            if channel in self.opted_out:
                continue
            self.note(now, EventName.SUPPRESSED, channel, "opted out before")
            self.blocked[channel] = "opted out"
            self.opted_out.append(channel)

    def opt_in(self, now: datetime, channel: Channel, text: str = "") -> None:
        """START / UNSTOP: the channel may be used again (unless it failed for another reason)."""
        self.note(now, EventName.OPTED_IN, channel)
        self.wrote(now, channel, text, keyword="start")
        if channel in self.opted_out:
            self.opted_out.remove(channel)
        # Twilio 21610 is the carrier's own "recipient unsubscribed": START lifts it too.
        if self.blocked.get(channel) in ("opted out", "failed: twilio 21610"):
            del self.blocked[channel]

    def merge(self, now: datetime, lead: Lead) -> bool:
        """Rule: one customer, one conversation. False when this inquiry was already known."""
        key = lead.inquiry_key()
        if key and any(f"{i.source}:{i.external_id}" == key for i in self.inquiries):
            return False
        if not key and lead.document_key() == self.lead.document_key():
            return False
        self.inquiries.append(
            Inquiry(source=lead.source, external_id=lead.external_id, kind=lead.kind, at=now)
        )
        self.lead = self.lead.model_copy(
            update={
                "customer": merge_customer(self.lead.customer, lead.customer, self.plan.country),
                "reply_url": self.lead.reply_url or lead.reply_url,
            }
        )
        before = dict(self.addresses)
        self.refresh_addresses()
        for channel, address in self.addresses.items():
            # Rule 2: a new address replaces one that bounced or was a wrong number; rule 7:
            # an opt-out stays.
            if address != before.get(channel) and channel not in self.opted_out:
                self.blocked.pop(channel, None)
        self.note(
            now, EventName.NEW_INQUIRY, lead.arrived_on(), f"{lead.kind.value} via {lead.source}"
        )
        self.inquired(now, lead)
        return True

    def pause(self, now: datetime) -> None:
        self.status = LeadStatus.PAUSED
        self.paused_since = now
        self.note(now, EventName.PAUSED)

    def resume(self, now: datetime) -> None:
        if self.paused_since is not None:
            self.paused_total += now - self.paused_since
        self.paused_since = None
        self.status = LeadStatus.ENGAGED if self.any_reply() else LeadStatus.CONTACTING
        self.note(now, EventName.RESUMED)

    def any_reply(self) -> bool:
        return any(e.what in CONTACT_EVENTS for e in self.events)

    def call_closes_task(self, call: LogCall) -> bool:
        """A logged call finishes a call task; a reply or no-channel task stays open until the
        customer was actually reached (or an outcome is recorded): a missed call-back on a
        customer who answered must not leave the lead without a human."""
        return self.open_task_kind is TaskKind.CALL or call.result is CallResult.REACHED

    def log_call(self, now: datetime, call: LogCall) -> None:
        self.note(now, call_event(call.result), Channel.PHONE, by=call.salesperson_id)
        if call.result is CallResult.WRONG_NUMBER:
            for channel in PHONE_NUMBER_CHANNELS:
                self.blocked[channel] = "wrong number"
        elif call.result is CallResult.REACHED and self.status is LeadStatus.CONTACTING:
            self.status = LeadStatus.ENGAGED

    def record_outcome(self, now: datetime, request: RecordOutcome) -> None:
        self.outcome = request.outcome
        self.outcome_reason = request.reason or (
            "not interested" if request.outcome is Outcome.NOT_INTERESTED else None
        )
        if request.outcome is Outcome.APPOINTMENT:
            self.appointment_at = self.appointment_time(request)
            self.appointment_kind = request.appointment_kind or AppointmentKind.SHOWROOM
        elif request.outcome not in (Outcome.SHOWN, Outcome.NO_SHOW):
            # won, lost, …: what the appointment was stays readable; before this version,
            # every outcome set (or cleared) the appointment time
            self.appointment_at = self.appointment_time(request) or self.appointment_at
        self.status = OUTCOME_STATUS[request.outcome]
        self.paused_since = None
        detail = self.outcome_reason
        if request.outcome is Outcome.APPOINTMENT and self.appointment_at is not None:
            local = self.appointment_at.astimezone(ZoneInfo(self.plan.timezone))
            detail = f"{self.appointment_kind} {local:%Y-%m-%d %H:%M}"
        self.note(now, outcome_event(request.outcome), detail=detail, by=request.salesperson_id)

    # --- salespeople ----------------------------------------------------------------------

    def task_claimed(self, now: datetime, task_id: str, salesperson_id: str) -> None:
        """Who took which task: the one who claimed the open task writes to the customer."""
        self.claims = dict(list({**self.claims, task_id: salesperson_id}.items())[-20:])
        if task_id == self.open_task_id or self.open_task_id is None:
            self.salesperson_id = salesperson_id
        self.note(now, EventName.TASK_CLAIMED, detail=task_id, by=salesperson_id)

    def refuse_writer(self, salesperson_id: str, manager: bool) -> str | None:
        """Only the salesperson who claimed the lead's open task writes (managers always):
        two people answering one customer at once is worse than none."""
        if manager:
            return None
        if self.open_task_id is not None:
            holder = self.claims.get(self.open_task_id)
            if holder is None:
                return "claim the lead's task first: the salesperson who claims it answers"
            if holder != salesperson_id:
                return f"{holder} has claimed this lead's task: they (or a manager) answer"
            return None
        if self.salesperson_id is None:
            return "this lead has no task of yours: its task opens when the customer answers"
        if self.salesperson_id != salesperson_id:
            return f"this lead is {self.salesperson_id}'s: they (or a manager) answer"
        return None

    def message_channel(self, asked: Channel | None = None) -> Channel | None:
        """The channel asked for, else the one the customer last wrote on, else the one the
        cadence would use next, else any written channel that reaches them."""
        if asked is not None:
            return asked
        usable = [c for c in self.usable() if c.written]
        last_in = next(
            (m.channel for m in reversed(self.thread) if m.direction == "in" and m.channel), None
        )
        upcoming = self.channel_for(len(self.touches) + 1)
        for candidate in (last_in, upcoming, *WRITTEN_CHANNELS):
            if candidate in usable:
                return candidate
        return None

    def refuse_message(self, request: SendMessage, now: datetime) -> str | None:
        """Why a salesperson's message cannot go out, in words a salesperson understands."""
        if self.status.final:
            return f"the lead is closed ({self.status.value}): nothing more is sent"
        refused = self.refuse_writer(request.salesperson_id, request.manager)
        if refused:
            return refused
        channel = self.message_channel(request.channel)
        if channel is None:
            return (
                "no written channel reaches this customer: call them if they asked for a "
                "call, or find them on the platform they wrote on"
            )
        if channel is Channel.PHONE:
            return "phone is a call, not a message: log the call instead"
        label = CHANNEL_WORDS[channel]
        if channel not in self.addresses:
            return f"the customer gave no address for {label}: choose another channel"
        blocked = self.blocked.get(channel)
        if blocked == "opted out":
            return f"the customer opted out of {label}: choose another channel"
        if blocked == f"failed: {WHATSAPP_TEMPLATE_MISSING}":
            blocked = None  # the window decides, below
        if blocked is not None:
            return f"{label} does not reach this customer ({blocked}): choose another channel"
        if channel is Channel.WHATSAPP:
            return self._refuse_whatsapp(request, now)
        if not request.text.strip():
            return "write a message first"
        return None

    def _refuse_whatsapp(self, request: SendMessage, now: datetime) -> str | None:
        if request.template:
            if not self.plan.whatsapp_templates:
                return "the dealer has no approved WhatsApp template: choose another channel"
            return None
        if not self.whatsapp_window_open(now):
            return (
                "WhatsApp allows free text only within 24 hours of the customer's last "
                "WhatsApp message: send the dealer's approved template instead"
            )
        if not request.text.strip():
            return "write a message first"
        return None

    def next_message_number(self) -> int:
        self.messages_sent += 1
        return self.messages_sent

    def remember_key(self, key: str, number: int) -> None:
        kept = list({**self.message_keys, key: number}.items())[-KEYS_REMEMBERED:]
        self.message_keys = dict(kept)

    def threading(self) -> tuple[str | None, str | None, tuple[str, ...]]:
        """Subject, In-Reply-To and References of an e-mail answer: it joins the customer's
        own thread in their mail client (RFC 5322)."""
        mails = [m for m in self.thread if m.channel is Channel.EMAIL]
        ids = tuple(m.message_id for m in mails if m.message_id)[-REFERENCES_KEPT:]
        subject = next((m.subject for m in reversed(mails) if m.subject), None)
        if subject is not None and not subject.lower().startswith(("re:", "antw:")):
            subject = f"Re: {subject}"
        return subject, (ids[-1] if ids else None), ids

    def become_unreachable(self, now: datetime) -> None:
        self.outcome = Outcome.UNREACHABLE
        self.status = LeadStatus.UNREACHABLE
        self.note(
            now, EventName.UNREACHABLE, detail=f"{len(self.touches)} touches without an answer"
        )

    # --- what is refused, and why (the update validators) ---------------------------------

    def refuse_outcome(self, request: RecordOutcome) -> str | None:
        if self.status.final:
            return f"the lead is already {self.status.value}"
        if (
            request.outcome in (Outcome.SHOWN, Outcome.NO_SHOW)
            and self.status is not LeadStatus.APPOINTMENT
        ):
            return f"{request.outcome.value} needs an appointment: book one first"
        if request.outcome is Outcome.LOST and not (request.reason or "").strip():
            return "lost needs a reason (e.g. bought elsewhere, price, financing)"
        if request.outcome is Outcome.UNREACHABLE and self.any_reply():
            return "the customer answered: unreachable does not apply (use lost with a reason)"
        if request.outcome is Outcome.UNREACHABLE and not self.cadence_done:
            return (
                f"{len(self.touches)} of {self.touches_planned} touches done; a lead becomes "
                "unreachable only after the whole cadence ran without an answer"
            )
        return None

    def refuse_appointment(self, request: RecordOutcome, now: datetime) -> str | None:
        """An appointment is a date and time agreed with the customer, still to come. Only
        the update's validator asks (it reads the clock): an update accepted before this
        rule existed replays as it ran."""
        booked = self.appointment_at
        if request.outcome is Outcome.NO_SHOW and booked is not None and now < booked:
            local = booked.astimezone(ZoneInfo(self.plan.timezone))
            return (
                f"the appointment is on {local:%Y-%m-%d} at {local:%H:%M}: a no-show "
                "can only be recorded after it"
            )
        if request.outcome is not Outcome.APPOINTMENT:
            return None
        at = self.appointment_time(request)
        if at is None:
            return "an appointment needs appointment_at: the date and time agreed with the customer"
        if at <= now:
            local = at.astimezone(ZoneInfo(self.plan.timezone))
            return f"appointment_at {local:%Y-%m-%d %H:%M} is in the past: give the date to come"
        return None

    def refuse_dropping(self, request: RecordOutcome) -> str | None:
        """Rules 1 and 5: a lead the customer never answered is not given up by hand — `lost`
        or `not_interested` before any contact would be pre-qualifying under another name;
        the cadence runs, and `unreachable` comes at its end. Only the update's validator asks:
        such outcomes accepted before this rule replay as they ran."""
        if request.outcome not in (Outcome.LOST, Outcome.NOT_INTERESTED) or self.any_reply():
            return None
        return (
            f"the customer has not answered yet: {request.outcome.value.replace('_', ' ')} "
            "is for a customer you spoke to; the follow-up goes on, and a lead nobody reaches "
            "becomes unreachable at its end"
        )

    def refuse_rebooking(self, request: RecordOutcome) -> str | None:
        """The same appointment twice (a double tap, a retried request) would confirm twice."""
        if request.outcome is not Outcome.APPOINTMENT or self.status is not LeadStatus.APPOINTMENT:
            return None
        kind = request.appointment_kind or AppointmentKind.SHOWROOM
        if (self.appointment_time(request), kind) == (self.appointment_at, self.appointment_kind):
            return "this appointment is already booked"
        return None

    def appointment_time(self, request: RecordOutcome) -> datetime | None:
        """`appointment_at`; a time without a UTC offset is the dealer's local time."""
        at = request.appointment_at
        if at is not None and at.tzinfo is None:
            return at.replace(tzinfo=ZoneInfo(self.plan.timezone))
        return at

    def refuse_call(self) -> str | None:
        if self.status.final:
            return f"the lead is already {self.status.value}"
        return None

    def refuse_pause(self) -> str | None:
        if self.status.final:
            return f"the lead is already {self.status.value}"
        if self.status is LeadStatus.PAUSED:
            return "the lead is already paused"
        if self.status is not LeadStatus.CONTACTING:
            return f"only a lead being contacted can be paused (it is {self.status.value})"
        return None

    def refuse_resume(self) -> str | None:
        if self.status is not LeadStatus.PAUSED:
            return f"the lead is not paused (it is {self.status.value})"
        return None

    # --- the `state` query ----------------------------------------------------------------

    def state(self, next_touch_at: datetime | None) -> LeadState:
        return LeadState(
            lead_id=self.lead_id,
            dealer_id=self.plan.dealer_id,
            status=self.status,
            kind=self.lead.kind,
            source=self.lead.source,
            usable_channels=self.usable(),
            touches=self.touches,
            touches_planned=self.touches_planned,
            attempts=self.attempts(),
            next_touch_at=next_touch_at,
            open_task_id=self.open_task_id,
            outcome=self.outcome,
            outcome_reason=self.outcome_reason,
            appointment_at=self.appointment_at,
            appointment_kind=self.appointment_kind,
            salesperson_id=self.salesperson_id,
            whatsapp_window_until=self.whatsapp_window_until(),
            customer=self.lead.customer,
            vehicle=self.lead.vehicle,
            message=self.lead.message,
            inquiries=self.inquiries,
            events=self.events,
            events_dropped=self.events_dropped,
            paused_seconds=self.paused_total.total_seconds(),
            opted_out=self.opted_out,
            thread=self.thread,
            thread_dropped=self.thread_dropped,
        )
