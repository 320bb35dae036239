"""A generated data set with known answers for the funnel and speed reports, written through
`ResultsStore.record_conversation` as the workflows write it (no personal data: ids, kinds,
flags and times). Used by tests/results/test_reports.py and tests/api/test_reports.py.

The dealer's conversations are blocks of (count, source, kind, contact quality, first
channel, salesperson, path); each path reaches the stages PATH_STAGES says. The answers the
tests expect are written out by hand below the table (and re-derived from it by the tests),
so a mistake in either shows. Another dealer's rows and the dealer's own rows from before
the period are recorded too, with figures no answer below could absorb unnoticed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from leads.milestones import ConversationFigures, FinalOutcome, TaskFigures
from leads.models import Channel, LeadKind, LeadStatus, TaskKind
from results.store import ResultsStore

DEALER = "autohuis-test"
OTHER_DEALER = "autohuis-oost"
OTHER_SOURCE = "oost-only-portal"  # only the other dealer's rows have it
START = datetime(2026, 3, 2, tzinfo=UTC)  # the default period of the store tests
END = START + timedelta(days=28)
SPACING = timedelta(hours=1)  # between arrivals: all 65 arrive in the period's first 3 days


@dataclass(frozen=True)
class Block:
    count: int
    source: str
    kind: str
    quality: str
    first_channel: str
    salesperson: str | None
    path: str  # a key of PATH_STAGES


BLOCKS = [
    Block(10, "website", "test_drive", "complete", "email", "jan", "won"),
    Block(5, "website", "test_drive", "complete", "sms", "els", "shown_lost"),
    Block(7, "website", "price_request", "email_only", "email", "jan", "lost"),
    Block(4, "marktplaats", "offer", "placeholder_phone", "email", "els", "not_interested"),
    Block(6, "marktplaats", "offer", "placeholder_phone", "email", "jan", "no_show"),
    Block(20, "marktplaats", "offer", "placeholder_phone", "email", None, "unreachable"),
    Block(8, "marktplaats", "brochure_request", "complete", "sms", None, "opted_out"),
    Block(3, "autoscout24", "brochure_request", "no_channel", "none", None, "open"),
    Block(2, "autoscout24", "brochure_request", "phone_only", "sms", "els", "won"),
]
PATH_STAGES = {
    "won": {"contacted", "appointment", "shown", "won"},
    "shown_lost": {"contacted", "appointment", "shown", "lost"},
    "lost": {"contacted", "lost"},
    "not_interested": {"contacted", "lost"},  # the funnel's `lost` counts both
    "no_show": {"contacted", "appointment"},
    "unreachable": {"unreachable"},
    "opted_out": {"opted_out"},
    "open": set(),
}
STATUS = {
    "won": (LeadStatus.WON, FinalOutcome.WON),
    "shown_lost": (LeadStatus.LOST, FinalOutcome.LOST),
    "lost": (LeadStatus.LOST, FinalOutcome.LOST),
    "not_interested": (LeadStatus.LOST, FinalOutcome.NOT_INTERESTED),
    "no_show": (LeadStatus.ENGAGED, None),
    "unreachable": (LeadStatus.UNREACHABLE, FinalOutcome.UNREACHABLE),
    "opted_out": (LeadStatus.OPTED_OUT, FinalOutcome.OPTED_OUT),
    "open": (LeadStatus.CONTACTING, None),
}

# --- the answers, by hand from the table ------------------------------------------------
# leads, contacted, appointment, shown, won, lost, unreachable, opted_out
Answers = dict[object, tuple[int, ...]]  # a group's key (a value, or a tuple of two): counts
TOTAL = (65, 34, 23, 17, 12, 16, 20, 8)
BY_SOURCE: Answers = {
    "website": (22, 22, 15, 15, 10, 12, 0, 0),
    "marktplaats": (38, 10, 6, 0, 0, 4, 20, 8),
    "autoscout24": (5, 2, 2, 2, 2, 0, 0, 0),
}
BY_SALESPERSON: Answers = {
    "jan": (23, 23, 16, 10, 10, 7, 0, 0),
    "els": (11, 11, 7, 7, 2, 9, 0, 0),
    None: (31, 0, 0, 0, 0, 0, 20, 8),
}
BY_SOURCE_AND_KIND: Answers = {
    ("website", "test_drive"): (15, 15, 15, 15, 10, 5, 0, 0),
    ("website", "price_request"): (7, 7, 0, 0, 0, 7, 0, 0),
    ("marktplaats", "offer"): (30, 10, 6, 0, 0, 4, 20, 0),
    ("marktplaats", "brochure_request"): (8, 0, 0, 0, 0, 0, 0, 8),
    ("autoscout24", "brochure_request"): (5, 2, 2, 2, 2, 0, 0, 0),
}

# Speed. The first automated answer of the m-th conversation with a usable channel (62 of
# them: all but the no-channel block) goes out m+1 seconds after arrival: 1..62 s, so the
# nearest-rank p50 is the 31st value and p90 the ceil(55.8) = 56th.
FIRST_ANSWER = (62, 31.0, 56.0)  # count, p50, p90
# The k-th (0-based) replied-to conversation of a salesperson is claimed (k+1) minutes after
# the reply. jan: 23 claims, 60..1380 s: p50 = rank 12 = 720, p90 = rank ceil(20.7) = 21 =
# 1260. els: 11 claims, 60..660 s: p50 = rank 6 = 360, p90 = rank ceil(9.9) = 10 = 600.
REPLY_TO_CLAIM = {"jan": (23, 720.0, 1260.0), "els": (11, 360.0, 600.0)}
# The first human message follows the claim by 2 minutes, except jan's last three: two
# never wrote, one wrote before the customer's reply (not an answer to it: not counted).
# jan: 20 messages, 180..1320 s: p50 = rank 10 = 720, p90 = rank 18 = 1200. els: 11
# messages, 180..780 s: p50 = rank 6 = 480, p90 = rank 10 = 720.
REPLY_TO_MESSAGE = {"jan": (20, 720.0, 1200.0), "els": (11, 480.0, 720.0)}
NOT_ANSWERED = 3  # jan's last three replied-to conversations: no message after the reply
# One reply task per replied-to conversation, opened at the reply, claimed with the claim:
# reminded when the claim took 10 minutes or more, escalated at 20 (jan: k+1 ≥ 10 is 14 of
# 23, k+1 ≥ 20 is 4; els: 2 of 11 and none), and one no-channel task per no-channel lead,
# never claimed, reminded and escalated: 37 tasks, 19 reminded, 7 escalated.
TASKS, REMINDED, ESCALATED = 37, 19, 7
REMIND_AFTER, ESCALATE_AFTER = timedelta(minutes=10), timedelta(minutes=20)

# Noise the answers must not absorb.
OTHER_DEALER_ROWS = 40  # won, contacted, an hour to answer: in the period, another dealer's
OLD_ROWS = 5  # the dealer's own, won, from before the period
SLOW = timedelta(hours=1)

STAGE_NAMES = ("contacted", "appointment", "shown", "won", "lost", "unreachable", "opted_out")


def expected(block_key: Callable[[Block], object] | None = None) -> Answers:
    """The funnel's counts per key, derived from BLOCKS and PATH_STAGES (not from SQL):
    `block_key` maps a block to its group's key."""
    found: dict[object, Counter[str]] = {}
    for block in BLOCKS:
        key = block_key(block) if block_key else None
        counts = found.setdefault(key, Counter())
        counts["leads"] += block.count
        for stage in PATH_STAGES[block.path]:
            counts[stage] += block.count
    return {
        key: (counts["leads"], *(counts[stage] for stage in STAGE_NAMES))
        for key, counts in found.items()
    }


@dataclass
class _Counters:
    """Where the generation stands: conversations answered, replies per salesperson."""

    answered: int = 0
    replied: Counter[str] = field(default_factory=Counter)


def _usable(block: Block) -> list[Channel]:
    if block.quality == "no_channel":
        return []
    email = block.quality in ("complete", "email_only", "placeholder_phone")
    phone = block.quality in ("complete", "phone_only")
    return [Channel.EMAIL] * email + [Channel.SMS] * phone


def _conversation(
    dealer: str,
    block: Block,
    n: int,
    arrived: datetime,
    counters: _Counters,
    replied_total: Counter[str],
) -> ConversationFigures:
    status, outcome = STATUS[block.path]
    stages = PATH_STAGES[block.path]
    usable = _usable(block)
    conversation_id = f"{dealer}-conversation-{n:06d}"
    lead_id = f"lead-{dealer}-{n:024x}"
    first_answer = None
    if usable:
        counters.answered += 1
        first_answer = arrived + timedelta(seconds=counters.answered)
    replied = claimed = wrote = None
    task_list: list[TaskFigures] = []
    if "contacted" in stages:
        assert block.salesperson is not None
        k = counters.replied[block.salesperson]
        counters.replied[block.salesperson] += 1
        replied = arrived + timedelta(hours=2)
        claimed = replied + timedelta(minutes=k + 1)
        from_last = replied_total[block.salesperson] - k  # 1 for the salesperson's last
        if block.salesperson != "jan" or from_last > NOT_ANSWERED:
            wrote = claimed + timedelta(minutes=2)
        elif from_last == NOT_ANSWERED:
            wrote = replied - timedelta(minutes=10)  # before the reply: not an answer
        took = claimed - replied
        task_list.append(
            TaskFigures(
                task_key=f"{conversation_id}:1",
                lead_id=lead_id,
                dealer_id=dealer,
                kind=TaskKind.REPLY,
                opened_at=replied,
                claimed_at=claimed,
                salesperson_id=block.salesperson,
                reminded=took >= REMIND_AFTER,
                escalated=took >= ESCALATE_AFTER,
            )
        )
    elif block.quality == "no_channel":
        task_list.append(
            TaskFigures(
                task_key=f"{conversation_id}:1",
                lead_id=lead_id,
                dealer_id=dealer,
                kind=TaskKind.NO_CHANNEL,
                opened_at=arrived,
                reminded=True,
                escalated=True,
            )
        )
    return ConversationFigures(
        conversation_id=conversation_id,
        lead_id=lead_id,
        dealer_id=dealer,
        source=block.source,
        kind=LeadKind(block.kind),
        first_channel=block.first_channel,
        usable_channels=usable,
        contact_quality=block.quality,
        email_usable=Channel.EMAIL in usable,
        phone_usable=Channel.SMS in usable,
        phone_placeholder=block.quality == "placeholder_phone",
        no_usable_channel=not usable,
        arrived_at=arrived,
        first_answer_at=first_answer,
        first_reply_at=replied,
        touches_to_reply=1 if replied else None,
        claimed_at=claimed,
        first_human_message_at=wrote,
        salesperson_id=block.salesperson,
        appointment_set_at=arrived + timedelta(days=1) if "appointment" in stages else None,
        shown_at=arrived + timedelta(days=3) if "shown" in stages else None,
        no_show_at=arrived + timedelta(days=3) if block.path == "no_show" else None,
        status=status,
        outcome=outcome,
        outcome_reason="price" if outcome is FinalOutcome.LOST else None,
        closed_at=arrived + timedelta(days=5) if outcome is not None else None,
        revision=10,
        tasks=task_list,
    )


def conversations(start: datetime = START) -> Iterator[ConversationFigures]:
    """The dealer's 65 conversations from `start` on, the other dealer's alongside, and the
    dealer's old ones before `start`."""
    replied_total: Counter[str] = Counter()
    for block in BLOCKS:
        if "contacted" in PATH_STAGES[block.path] and block.salesperson:
            replied_total[block.salesperson] += block.count
    counters = _Counters()
    n = 0
    for block in BLOCKS:
        for _ in range(block.count):
            yield _conversation(DEALER, block, n, start + n * SPACING, counters, replied_total)
            n += 1
    noise = Block(OTHER_DEALER_ROWS, OTHER_SOURCE, "offer", "complete", "email", "piet", "won")
    for i in range(noise.count):
        yield _slow(
            _conversation(OTHER_DEALER, noise, n, start + i * SPACING, _Counters(), Counter())
        )
        n += 1
    old = Block(OLD_ROWS, "website", "test_drive", "complete", "email", "jan", "won")
    for i in range(old.count):
        arrived = start - timedelta(days=40, hours=i)  # before any 30-day period with start
        yield _slow(_conversation(DEALER, old, n, arrived, _Counters(), Counter()))
        n += 1


def _slow(row: ConversationFigures) -> ConversationFigures:
    """An hour for everything: any of these rows counted would move a percentile."""
    at = row.arrived_at + SLOW
    tasks = [
        task.model_copy(update={"opened_at": at, "claimed_at": at + SLOW, "escalated": True})
        for task in row.tasks
    ]
    return row.model_copy(
        update={
            "first_answer_at": at,
            "first_reply_at": at,
            "claimed_at": at + SLOW,
            "first_human_message_at": at + SLOW,
            "tasks": tasks,
        }
    )


def record(store: ResultsStore, start: datetime = START) -> None:
    for row in conversations(start):
        store.record_conversation(row)
