"""results/store.py: the merge rules of its upserts, erasure's unlinking, and that no column can
hold personal data (rule 8: judge by the result, never by who). Every rule runs on SQLite and on
PostgreSQL (the `store` fixture), one row of a table per column it governs.

A write is the whole of a conversation's figures at one revision, as the workflow sends them
after each step that changed them; a retried activity or a replayed workflow sends the same
figures again, a late retry an older revision's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Table, inspect, select

from leads.conversation import Conversation, TouchDue
from leads.milestones import ConversationFigures, FinalOutcome, TaskFigures, conversation_figures
from leads.models import (
    AppointmentKind,
    Channel,
    Customer,
    Lead,
    LeadKind,
    LeadStatus,
    Outcome,
    RecordOutcome,
    TaskKind,
    Touch,
)
from results.store import ResultsStore
from results.tables import FIRST, FIXED, LATEST, conversations, tasks
from tests.unit.test_conversation import plan

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
LEAD_ID = "lead-autohuis-test-0123456789abcdef01234567"
CONVERSATION_ID = "run-0001"
TASK_KEY = f"{CONVERSATION_ID}:1"
# The store's clock, not a figure: every write sets it.
STORE_CLOCK = "recorded_at"

BASE = ConversationFigures(
    conversation_id=CONVERSATION_ID,
    lead_id=LEAD_ID,
    dealer_id="autohuis-test",
    source="website",
    kind=LeadKind.GENERAL,
    first_channel="email",
    usable_channels=[Channel.EMAIL],
    contact_quality="email_only",
    email_usable=True,
    phone_usable=False,
    phone_placeholder=False,
    no_usable_channel=False,
    arrived_at=T0,
    status=LeadStatus.CONTACTING,
    revision=5,
)
TASK = TaskFigures(
    task_key=TASK_KEY,
    lead_id=LEAD_ID,
    dealer_id="autohuis-test",
    kind=TaskKind.REPLY,
    opened_at=T0 + timedelta(hours=2),
)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


# Two different values of each column: (the first write's, a later write's).
FIXED_VALUES: dict[str, tuple[Any, Any]] = {
    "lead_id": (LEAD_ID, "lead-autohuis-test-ffffffffffffffffffffffff"),
    "dealer_id": ("autohuis-test", "autohuis-west"),
    "source": ("website", "marktplaats"),
    "kind": (LeadKind.BROCHURE_REQUEST, LeadKind.TEST_DRIVE),
    "first_channel": ("email", "sms"),
    "usable_channels": ([Channel.EMAIL], [Channel.EMAIL, Channel.SMS]),
    "contact_quality": ("email_only", "complete"),
    "email_usable": (True, False),
    "phone_usable": (False, True),
    "phone_placeholder": (True, False),
    "no_usable_channel": (False, True),
    "arrived_at": (T0, at(1)),
}
FIRST_VALUES: dict[str, tuple[Any, Any]] = {
    "first_answer_at": (at(0.001), at(4)),
    "first_reply_at": (at(2), at(26)),
    "touches_to_reply": (1, 3),
    "claimed_at": (at(2.2), at(27)),
    "first_human_message_at": (at(2.5), at(28)),
    "appointment_set_at": (at(3), at(30)),
    "shown_at": (at(48), at(72)),
    "no_show_at": (at(48), at(72)),
}
LATEST_VALUES: dict[str, tuple[Any, Any]] = {
    "salesperson_id": ("jan", "marieke"),
    "appointment_at": (at(48), at(72)),
    "appointment_kind": (AppointmentKind.SHOWROOM, AppointmentKind.TEST_DRIVE),
    "status": (LeadStatus.ENGAGED, LeadStatus.APPOINTMENT),
    "outcome": (FinalOutcome.LOST, FinalOutcome.WON),
    "outcome_reason": ("price", "bought elsewhere"),
    "closed_at": (at(100), at(200)),
}


def stored(value: Any) -> Any:
    """A figure as the store keeps it: naive UTC, enum values, channels comma-separated."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list):
        return ",".join(stored(item) for item in value)
    return value


def write(
    store: ResultsStore,
    revision: int = 5,
    *,
    tasks: list[TaskFigures] | None = None,
    **figures: Any,
) -> None:
    update = {"revision": revision, "tasks": tasks if tasks is not None else [], **figures}
    store.record_conversation(BASE.model_copy(update=update))


def rows(store: ResultsStore, table: Table) -> list[dict[str, Any]]:
    with store.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(select(table))]


def the_row(store: ResultsStore, table: Table = conversations) -> dict[str, Any]:
    (row,) = rows(store, table)
    return row


def figures_of(row: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in row.items() if name != STORE_CLOCK}


# --- the tables of this file cover every column ---------------------------------------------


def test_every_column_has_a_merge_rule_and_a_row_here() -> None:
    """A new column gets a rule in results/tables.py and its values in the tables above."""
    columns = {column.name for column in conversations.columns}
    assert columns == {*FIXED, *FIRST, *LATEST, "conversation_id", STORE_CLOCK}
    assert set(FIXED_VALUES) == set(FIXED)
    assert set(FIRST_VALUES) == set(FIRST)
    assert set(LATEST_VALUES) == set(LATEST) - {"revision"}


# --- a replayed or retried write changes nothing --------------------------------------------


def full_figures(revision: int) -> dict[str, Any]:
    """A conversation well on its way: every milestone so far set, one task claimed."""
    done = {name: first for name, (first, _) in FIRST_VALUES.items() if name != "no_show_at"}
    latest = {name: first for name, (first, _) in LATEST_VALUES.items()}
    task = TASK.model_copy(update={"claimed_at": at(2.2), "salesperson_id": "jan"})
    return {"revision": revision, **done, **latest, "tasks": [task]}


@pytest.mark.parametrize("times", [2, 3])
def test_idempotence_a_replayed_write_changes_no_row_count_and_no_figure(
    store: ResultsStore, times: int
) -> None:
    figures = full_figures(revision=9)
    write(store, **figures)
    conversation, task = figures_of(the_row(store)), figures_of(the_row(store, tasks))
    for _ in range(times - 1):
        write(store, **figures)
    assert figures_of(the_row(store)) == conversation
    assert figures_of(the_row(store, tasks)) == task


def test_idempotence_a_late_retry_of_an_older_revision_changes_nothing(
    store: ResultsStore,
) -> None:
    """The activity of revision 7 retried after revision 9 was written: nothing moves back."""
    older, newer = full_figures(revision=7), full_figures(revision=9)
    newer.update(status=LeadStatus.WON, outcome=FinalOutcome.WON, outcome_reason=None)
    write(store, **newer)
    after_newer = figures_of(the_row(store))
    write(store, **older)
    assert figures_of(the_row(store)) == after_newer
    assert len(rows(store, tasks)) == 1


# --- FIXED: what the lead was when it arrived, kept from the first write -------------------


@pytest.mark.parametrize("name", sorted(FIXED_VALUES))
def test_fixed_columns_keep_the_first_writes_value(store: ResultsStore, name: str) -> None:
    first, later = FIXED_VALUES[name]
    write(store, revision=5, **{name: first})
    write(store, revision=6, **{name: later})
    assert the_row(store)[name] == stored(first)


# --- FIRST: a milestone's first time, never moved nor cleared once set ---------------------


@pytest.mark.parametrize("name", sorted(FIRST_VALUES))
def test_first_columns_never_move_once_set(store: ResultsStore, name: str) -> None:
    first, later = FIRST_VALUES[name]
    write(store, revision=5, **{name: first})
    write(store, revision=6, **{name: later})
    assert the_row(store)[name] == stored(first)


@pytest.mark.parametrize("name", sorted(FIRST_VALUES))
def test_first_columns_never_clear_once_set(store: ResultsStore, name: str) -> None:
    first, _ = FIRST_VALUES[name]
    write(store, revision=5, **{name: first})
    write(store, revision=6, **{name: None})
    assert the_row(store)[name] == stored(first)


@pytest.mark.parametrize("name", sorted(FIRST_VALUES))
def test_first_columns_are_set_by_the_write_that_reaches_them(
    store: ResultsStore, name: str
) -> None:
    write(store, revision=5)
    assert the_row(store)[name] is None
    first, _ = FIRST_VALUES[name]
    write(store, revision=6, **{name: first})
    assert the_row(store)[name] == stored(first)


# --- LATEST: where the conversation stands, by the newest revision -------------------------


@pytest.mark.parametrize("name", sorted(LATEST_VALUES))
def test_latest_columns_follow_a_newer_revision(store: ResultsStore, name: str) -> None:
    old, new = LATEST_VALUES[name]
    write(store, revision=5, **{name: old})
    write(store, revision=6, **{name: new})
    row = the_row(store)
    assert row[name] == stored(new)
    assert row["revision"] == 6


@pytest.mark.parametrize("name", sorted(LATEST_VALUES))
def test_latest_columns_never_follow_an_older_revision(store: ResultsStore, name: str) -> None:
    old, new = LATEST_VALUES[name]
    write(store, revision=6, **{name: new})
    write(store, revision=5, **{name: old})
    row = the_row(store)
    assert row[name] == stored(new)
    assert row["revision"] == 6


# --- task rows ------------------------------------------------------------------------------


def write_task(store: ResultsStore, **figures: Any) -> None:
    write(store, tasks=[TASK.model_copy(update=figures)])


@pytest.mark.parametrize("name", ["claimed_at", "done_at"])
@pytest.mark.parametrize("then", [at(5), None], ids=["moved", "cleared"])
def test_task_claim_and_done_times_are_kept_once_set(
    store: ResultsStore, name: str, then: datetime | None
) -> None:
    write_task(store, **{name: at(3)})
    write_task(store, **{name: then})
    assert the_row(store, tasks)[name] == stored(at(3))


@pytest.mark.parametrize("name", ["reminded", "escalated"])
@pytest.mark.parametrize("order", [(True, False), (False, True)], ids=["then-false", "later"])
def test_task_reminded_and_escalated_once_true_stay_true(
    store: ResultsStore, name: str, order: tuple[bool, bool]
) -> None:
    for value in order:
        write_task(store, **{name: value})
    assert the_row(store, tasks)[name] is True


def test_task_salesperson_follows_a_reassignment_and_is_never_cleared(
    store: ResultsStore,
) -> None:
    write_task(store, claimed_at=at(3), salesperson_id="jan")
    write_task(store, claimed_at=at(3), salesperson_id="marieke")
    assert the_row(store, tasks)["salesperson_id"] == "marieke"
    write_task(store, claimed_at=at(3), salesperson_id=None)
    assert the_row(store, tasks)["salesperson_id"] == "marieke"


def test_task_fixed_figures_keep_the_first_writes(store: ResultsStore) -> None:
    write_task(store)
    write_task(store, kind=TaskKind.CALL, opened_at=at(9), dealer_id="autohuis-west")
    row = the_row(store, tasks)
    assert (row["kind"], row["opened_at"], row["dealer_id"]) == (
        "reply",
        stored(TASK.opened_at),
        "autohuis-test",
    )


# --- erasure: the figures stay, the link to the person goes ---------------------------------


def test_erasure_replaces_the_lead_id_in_both_tables_and_keeps_the_figures(
    store: ResultsStore,
) -> None:
    write(store, **full_figures(revision=9))
    before = [figures_of(row) for row in (the_row(store), the_row(store, tasks))]
    assert store.erase_lead(LEAD_ID) == 2
    after = [figures_of(row) for row in (the_row(store), the_row(store, tasks))]
    (stranger,) = {row["lead_id"] for row in after}  # one id for the conversation and its tasks
    assert stranger.startswith("erased-") and LEAD_ID not in stranger
    for old, new in zip(before, after, strict=True):
        assert {**old, "lead_id": stranger} == new


def test_erasure_of_two_leads_gives_each_its_own_random_id(store: ResultsStore) -> None:
    other = BASE.model_copy(
        update={"conversation_id": "run-0002", "lead_id": "lead-autohuis-test-other"}
    )
    write(store)
    store.record_conversation(other)
    assert store.erase_lead(LEAD_ID) == 1
    assert store.erase_lead(other.lead_id) == 1
    ids = {row["lead_id"] for row in rows(store, conversations)}
    assert len(ids) == 2 and all(lead.startswith("erased-") for lead in ids)


def test_erasure_is_not_undone_by_a_late_write_of_the_erased_lead(store: ResultsStore) -> None:
    """An activity still retrying when the manager erased the lead writes the old lead id: the
    lead id is a FIXED column, so the row keeps its stranger's id."""
    write(store, tasks=[TASK])
    store.erase_lead(LEAD_ID)
    write(store, revision=9, tasks=[TASK])
    for table in (conversations, tasks):
        assert the_row(store, table)["lead_id"].startswith("erased-")


def test_erasure_of_an_unknown_lead_changes_nothing(store: ResultsStore) -> None:
    write(store)
    assert store.erase_lead("lead-autohuis-test-nobody") == 0
    assert the_row(store)["lead_id"] == LEAD_ID


# --- no column can hold personal data -------------------------------------------------------

# Ids, kinds, channels, flags about the contact data, times and counts; reviewed one by one.
# A new column is added here only when it cannot hold a name, an address, a number or a text.
ALLOWED_COLUMNS = {
    "conversations": {
        "conversation_id", "lead_id", "dealer_id", "source", "kind", "first_channel",
        "usable_channels", "contact_quality", "email_usable", "phone_usable",
        "phone_placeholder", "no_usable_channel", "arrived_at", "first_answer_at",
        "first_reply_at", "touches_to_reply", "claimed_at", "first_human_message_at",
        "salesperson_id", "appointment_set_at", "appointment_at", "appointment_kind",
        "shown_at", "no_show_at", "status", "outcome", "outcome_reason", "closed_at",
        "revision", "recorded_at",
    },
    "tasks": {
        "task_key", "lead_id", "dealer_id", "kind", "opened_at", "claimed_at",
        "salesperson_id", "reminded", "escalated", "done_at", "recorded_at",
    },
}  # fmt: skip


def test_no_personal_data_the_tables_have_only_allowed_columns() -> None:
    assert {column.name for column in conversations.columns} == ALLOWED_COLUMNS["conversations"]
    assert {column.name for column in tasks.columns} == ALLOWED_COLUMNS["tasks"]


def test_no_personal_data_the_migrated_database_has_only_allowed_columns(
    store: ResultsStore,
) -> None:
    found = inspect(store.engine)
    for table, allowed in ALLOWED_COLUMNS.items():
        assert {column["name"] for column in found.get_columns(table)} == allowed


AMS = ZoneInfo("Europe/Amsterdam")
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=AMS)
NAME = "Pieter Jansen"
EMAIL = "pieter.jansen@example.nl"
PHONE = "06 2849 1735"
# Everything of the customer's that could leak, as written and as the code normalises it.
PERSONAL = (
    *(NAME, "Pieter", "Jansen", EMAIL, "pieter.jansen"),
    *(PHONE, "2849 1735", "0628491735", "+31628491735", "628491735"),
    *("laagste prijs", "bel me", "Pietersweg"),
)


def conversation_of_a_known_customer() -> Conversation:
    """A customer who gave a name, an e-mail address and a phone number, wrote a message,
    replied with their street in it, and was claimed and lost: every path a text could take."""
    lead = Lead(
        source="marktplaats",
        external_id="mp-88123",
        kind=LeadKind.OFFER,
        customer=Customer(name=NAME, email=EMAIL, phone=PHONE),
        message="Wat is uw laagste prijs?",
        offer_amount=9500,
    )
    c = Conversation.start(LEAD_ID, lead, plan(), NOW)
    step = c.next_step()
    assert isinstance(step, TouchDue)
    c.record_touch(Touch(number=step.number, channel=step.channel, at=step.at, template="t"))
    replied = NOW + timedelta(hours=1)
    c.replied(replied, Channel.EMAIL, "Ik ben Pieter Jansen, Pietersweg 1, bel me op 06 2849 1735")
    task_id = f"task-{LEAD_ID}-1"
    c.note(replied, "task_opened_reply", detail=task_id)
    c.task_claimed(replied + timedelta(minutes=3), task_id, "jan")
    c.record_outcome(
        replied + timedelta(days=1),
        RecordOutcome(outcome=Outcome.LOST, reason="price", salesperson_id="jan"),
    )
    return c


def test_no_personal_data_in_the_figures_of_a_customer_with_name_email_and_phone() -> None:
    figures = conversation_figures(conversation_of_a_known_customer(), CONVERSATION_ID)
    # The conversation really went through its milestones: the figures are not empty.
    assert figures.first_reply_at is not None and figures.outcome is FinalOutcome.LOST
    assert figures.tasks and figures.tasks[0].claimed_at is not None
    serialised = figures.model_dump_json().lower()
    leaked = [text for text in PERSONAL if text.lower() in serialised]
    assert not leaked, f"the figures hold {leaked}"


def test_no_personal_data_in_the_rows_of_a_customer_with_name_email_and_phone(
    store: ResultsStore,
) -> None:
    store.record_conversation(
        conversation_figures(conversation_of_a_known_customer(), CONVERSATION_ID)
    )
    values = [
        v for table in (conversations, tasks) for row in rows(store, table) for v in row.values()
    ]
    written = " ".join(str(value) for value in values).lower()
    leaked = [text for text in PERSONAL if text.lower() in written]
    assert not leaked, f"the store holds {leaked}"
