"""Which leads a demo month has, and what each customer and salesperson will do.

Pure: no Temporal, no clock. `month(seed, …)` is the same list on every machine and run.

Rule 8 is the point of the demo: the perception audit must find "no evidence that this kind
converts worse", because in the demo, as in Blanco's claim, it does not. So what a lead looks
like (`forms`: kind, source, contact data, vehicle) and what happens to it (`behaviours`:
whether the customer answers, opts out, books, shows, buys; how fast the salesperson is) are
drawn from two separate random streams, and `behaviours` is never shown a lead: the same
probabilities hold whatever the form, by construction.

No personal data: customers are "Demo klant 17", addresses are at example.com (reserved by
RFC 2606, nobody's mailbox), mobile numbers are from the North American 555-0100…0199 range
that is reserved for fiction, and a share of leads carry the placeholders (0000000000) and
gaps that real forms have.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from leads.milestones import FinalOutcome
from leads.models import AppointmentKind, Channel, Customer, Lead, LeadKind, Outcome, Vehicle

T = TypeVar("T")

# At most this many leads: each needs a fictional mobile number of its own (a shared number
# would make two leads one customer, merged into one conversation).
MAX_LEADS = 1000
DEFAULT_LEADS = 300
ARRIVALS_PER_SECOND = 6.0  # a month's leads arrive over the first ~50 s of the demo

# --- what the leads look like (the form: never an input to what happens) -----------------

KINDS: dict[LeadKind, float] = {
    LeadKind.BROCHURE_REQUEST: 0.17,
    LeadKind.PRICE_REQUEST: 0.17,
    LeadKind.TEST_DRIVE: 0.14,
    LeadKind.TRADE_IN: 0.10,
    LeadKind.OFFER: 0.17,  # the low bids the trade loves to ignore
    LeadKind.CALLBACK_REQUEST: 0.08,
    LeadKind.GENERAL: 0.17,
}
SOURCES: dict[str, float] = {
    "marktplaats": 0.26,
    "autoscout24": 0.18,
    "mobile.de": 0.10,
    "website": 0.30,
    "facebook": 0.08,
    "gaspedaal": 0.08,
}
# Platforms whose leads may come with a conversation on the platform (platform chat).
PLATFORMS = frozenset({"marktplaats", "autoscout24", "mobile.de"})
WITH_CHAT = 0.5


class ContactForm(StrEnum):
    """What the customer typed into the form's contact fields."""

    COMPLETE = "complete"  # e-mail and mobile number
    EMAIL_ONLY = "email_only"
    EMAIL_BAD_PHONE = "email_bad_phone"  # e-mail and "06-2849": not a whole number
    EMAIL_PLACEHOLDER = "email_placeholder"  # e-mail and 0000000000 or the like
    PHONE_ONLY = "phone_only"
    PLACEHOLDER_ONLY = "placeholder_only"  # 0000000000 and nothing else
    NOTHING = "nothing"  # no contact fields at all (the platform's chat may still reach them)


CONTACT_FORMS: dict[ContactForm, float] = {
    ContactForm.COMPLETE: 0.34,
    ContactForm.EMAIL_ONLY: 0.20,
    ContactForm.EMAIL_BAD_PHONE: 0.04,
    ContactForm.EMAIL_PLACEHOLDER: 0.14,
    ContactForm.PHONE_ONLY: 0.12,
    ContactForm.PLACEHOLDER_ONLY: 0.08,
    ContactForm.NOTHING: 0.08,
}
PLACEHOLDERS = ("0000000000", "0612345678", "1234567890", "06-11111111")
BAD_PHONES = ("06-2849", "0628 49", "geen")  # too short, or not a number
# Area codes for the fictional 555-01xx numbers: 100 numbers each, MAX_LEADS in all.
AREA_CODES = ("202", "212", "213", "305", "312", "415", "503", "617", "702", "808")
PREFERRED: dict[Channel | None, float] = {
    None: 0.50,
    Channel.PHONE: 0.15,
    Channel.WHATSAPP: 0.15,
    Channel.SMS: 0.10,
    Channel.EMAIL: 0.10,
}
VEHICLES = (
    ("Volkswagen", "Golf"),
    ("Volkswagen", "Polo"),
    ("Kia", "Niro"),
    ("Peugeot", "208"),
    ("Toyota", "Yaris"),
    ("Skoda", "Octavia"),
    ("Renault", "Clio"),
    ("Ford", "Focus"),
    ("Tesla", "Model 3"),
    ("Opel", "Corsa"),
)
MESSAGES: dict[LeadKind, str] = {
    LeadKind.BROCHURE_REQUEST: "Graag de brochure.",
    LeadKind.PRICE_REQUEST: "Wat is de laatste prijs?",
    LeadKind.TEST_DRIVE: "Kan ik een proefrit maken?",
    LeadKind.TRADE_IN: "Wat geven jullie voor mijn huidige auto?",
    LeadKind.OFFER: "Dit is mijn bod.",
    LeadKind.CALLBACK_REQUEST: "Bel mij even terug.",
    LeadKind.GENERAL: "Is deze auto nog beschikbaar?",
}

# --- what happens (the same for every lead, whatever it looks like) -----------------------

ANSWERS = 0.55  # the customer answers at some touch of the cadence
STOPS = 0.07  # …and that answer is STOP
APPOINTMENT = 0.50  # a contacted customer books an appointment
SHOWS = 0.75  # …and comes
WINS_AFTER_SHOWN = 0.60
LOST_WITHOUT_APPOINTMENT = 0.45  # else not interested
LOST_AFTER_NO_SHOW = 0.50  # else not interested
LOST_REASONS = ("price", "bought elsewhere", "financing", "trade-in value", "delivery time")
NO_SHOW_REASON = "no show"
REPLIES = (
    "Ja, graag meer informatie.",
    "Is hij nog beschikbaar?",
    "Wanneer kan ik langskomen?",
    "Prima, bel of mail me maar.",
    "Yes please, tell me more.",
)
WRITES = 0.70  # the salesperson writes to the customer before recording anything
STEP_GAP = (1.0, 3.0)  # seconds between a salesperson's steps


@dataclass(frozen=True)
class Step:
    """One outcome the salesperson records, in order."""

    outcome: Outcome
    reason: str | None = None
    appointment_kind: AppointmentKind | None = None


@dataclass(frozen=True)
class CustomerPlay:
    """What the customer does. `answers_at`: the touch after which they answer (on its
    channel, or when the salesperson reaches them on a call or on the platform); None: never,
    and the whole cadence runs to unreachable."""

    answers_at: int | None
    stops: bool  # the answer is STOP, on every channel that reaches them
    reply: str


@dataclass(frozen=True)
class SalesPlay:
    """What the salesperson does: who takes the lead's tasks, how long until they claim each
    one (past the dealer's remind_after / escalate_after for some, so that the speed report
    has chased tasks), whether they write first, and the outcomes they record."""

    salesperson: str
    claim_after: float  # seconds from a task's opening to its claim
    writes: bool
    gaps: tuple[float, ...]  # seconds before each step (and before the message)
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class Behaviour:
    customer: CustomerPlay
    sales: SalesPlay

    @property
    def ending(self) -> FinalOutcome:
        """How the conversation ends, as the results store will count it."""
        if self.customer.answers_at is None:
            return FinalOutcome.UNREACHABLE
        if self.customer.stops:
            return FinalOutcome.OPTED_OUT
        last = self.sales.steps[-1].outcome
        return FinalOutcome(last.value)


@dataclass(frozen=True)
class Form:
    """What a lead looks like, and when it arrives (seconds after the demo starts)."""

    number: int
    arrives_after: float
    contact: ContactForm
    lead: Lead


@dataclass(frozen=True)
class LeadScript:
    form: Form
    behaviour: Behaviour

    @property
    def number(self) -> int:
        return self.form.number

    @property
    def lead(self) -> Lead:
        return self.form.lead

    @property
    def ending(self) -> FinalOutcome:
        return self.behaviour.ending


def _pick(rng: random.Random, weights: dict[T, float]) -> T:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def fictional_mobile(number: int) -> str:
    """A mobile number nobody has: 555-0100…0199 of one of AREA_CODES, one per lead."""
    area = AREA_CODES[(number // 100) % len(AREA_CODES)]
    return f"+1 {area} 555 01{number % 100:02d}"


def _contact(rng: random.Random, number: int, form: ContactForm) -> tuple[str | None, str | None]:
    email = f"demo-{number}@example.com"
    mobile = fictional_mobile(number)
    return {
        ContactForm.COMPLETE: (email, mobile),
        ContactForm.EMAIL_ONLY: (email, None),
        ContactForm.EMAIL_BAD_PHONE: (email, rng.choice(BAD_PHONES)),
        ContactForm.EMAIL_PLACEHOLDER: (email, rng.choice(PLACEHOLDERS)),
        ContactForm.PHONE_ONLY: (None, mobile),
        ContactForm.PLACEHOLDER_ONLY: (None, rng.choice(PLACEHOLDERS)),
        ContactForm.NOTHING: (None, None),
    }[form]


def forms(seed: int, count: int) -> list[Form]:
    """The month's leads as they arrive: kind, source, contact data, vehicle, channel."""
    rng = random.Random(f"{seed}/forms")
    window = count / ARRIVALS_PER_SECOND
    arrivals = sorted(rng.uniform(0, window) for _ in range(count))
    made = []
    for index, arrives_after in enumerate(arrivals):
        number = index + 1
        kind = _pick(rng, KINDS)
        source = _pick(rng, SOURCES)
        contact = _pick(rng, CONTACT_FORMS)
        email, phone = _contact(rng, number, contact)
        chat = source in PLATFORMS and rng.random() < WITH_CHAT
        make, model = rng.choice(VEHICLES)
        year = rng.randint(2015, 2024)
        offer = rng.randrange(4000, 25000, 250) if kind is LeadKind.OFFER else None
        lead = Lead(
            source=source,
            external_id=f"demo-{number}",
            kind=kind,
            customer=Customer(
                name=f"Demo klant {number}",
                email=email,
                phone=phone,
                preferred_channel=_pick(rng, PREFERRED),
                locale="en" if rng.random() < 0.15 else "nl",
            ),
            vehicle=Vehicle(make=make, model=model, year=year),
            message=MESSAGES[kind],
            offer_amount=offer,
            reply_url=f"https://chat.example.com/{source}/demo-{number}" if chat else None,
        )
        made.append(Form(number, round(arrives_after, 2), contact, lead))
    return made


def _answer_touch(rng: random.Random, touches: int) -> int:
    """Earlier touches are answered more often: each is half as likely as the one before."""
    weights = [2.0 ** (touches - k) for k in range(1, touches + 1)]
    return rng.choices(range(1, touches + 1), weights=weights)[0]


def _claim_after(rng: random.Random, remind_after: float, escalate_after: float) -> float:
    """Most tasks are claimed before the reminder, some after it, a few after escalation."""
    draw = rng.random()
    if draw < 0.65:
        low, high = 1.0, remind_after * 0.8
    elif draw < 0.90:
        low, high = remind_after * 1.2, escalate_after * 0.9
    else:
        low, high = escalate_after * 1.2, escalate_after * 1.6
    return round(rng.uniform(low, high), 1)


def _steps(rng: random.Random) -> tuple[Step, ...]:
    if rng.random() < APPOINTMENT:
        kind = rng.choice((AppointmentKind.SHOWROOM, AppointmentKind.TEST_DRIVE))
        booked = Step(Outcome.APPOINTMENT, appointment_kind=kind)
        if rng.random() < SHOWS:
            if rng.random() < WINS_AFTER_SHOWN:
                return (booked, Step(Outcome.SHOWN), Step(Outcome.WON))
            lost = Step(Outcome.LOST, reason=rng.choice(LOST_REASONS))
            return (booked, Step(Outcome.SHOWN), lost)
        if rng.random() < LOST_AFTER_NO_SHOW:
            return (booked, Step(Outcome.NO_SHOW), Step(Outcome.LOST, reason=NO_SHOW_REASON))
        return (booked, Step(Outcome.NO_SHOW), Step(Outcome.NOT_INTERESTED))
    if rng.random() < LOST_WITHOUT_APPOINTMENT:
        return (Step(Outcome.LOST, reason=rng.choice(LOST_REASONS)),)
    return (Step(Outcome.NOT_INTERESTED),)


def behaviour(
    customers: random.Random,
    salespeople_rng: random.Random,
    touches: int,
    salespeople: Sequence[str],
    remind_after: float,
    escalate_after: float,
) -> Behaviour:
    """One lead's story. It is given no lead on purpose (rule 8): nothing about the form can
    change the odds."""
    answers = customers.random() < ANSWERS
    answers_at = _answer_touch(customers, touches) if answers else None
    stops = answers and customers.random() < STOPS
    reply = customers.choice(REPLIES)
    steps = _steps(customers) if answers and not stops else ()
    sales = SalesPlay(
        salesperson=salespeople_rng.choice(list(salespeople)),
        claim_after=_claim_after(salespeople_rng, remind_after, escalate_after),
        writes=salespeople_rng.random() < WRITES,
        gaps=tuple(round(salespeople_rng.uniform(*STEP_GAP), 1) for _ in range(len(steps) + 1)),
        steps=steps,
    )
    return Behaviour(CustomerPlay(answers_at, stops, reply), sales)


def behaviours(
    seed: int,
    count: int,
    touches: int,
    salespeople: Sequence[str],
    remind_after: float,
    escalate_after: float,
) -> list[Behaviour]:
    customers = random.Random(f"{seed}/customers")
    sales = random.Random(f"{seed}/salespeople")
    return [
        behaviour(customers, sales, touches, salespeople, remind_after, escalate_after)
        for _ in range(count)
    ]


def month(
    seed: int,
    count: int,
    touches: int,
    salespeople: Sequence[str],
    remind_after: float,
    escalate_after: float,
) -> list[LeadScript]:
    """`count` leads in order of arrival, each with its story. `touches`: the cadence length
    of the dealer they are played on; `remind_after` / `escalate_after` in seconds."""
    if not 1 <= count <= MAX_LEADS:
        raise ValueError(f"a demo month has 1 to {MAX_LEADS} leads, not {count}")
    if not salespeople:
        raise ValueError("the dealer has no salespeople to play the demo month")
    stories = behaviours(seed, count, touches, salespeople, remind_after, escalate_after)
    return [
        LeadScript(form, story) for form, story in zip(forms(seed, count), stories, strict=True)
    ]
