"""leads.timeline: the bounded timeline a conversation carries through continue-as-new and
every query, and the provider event ids it remembers as digests."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from leads.models import CallResult, Event, Outcome, TaskKind
from leads.timeline import (
    CLOSING_EVENTS,
    CONTACT_EVENTS,
    EVENTS_REMEMBERED,
    SEEN_DIGEST,
    EventName,
    call_event,
    drop_oldest,
    opened_task_kind,
    outcome_event,
    seen_key,
    task_opened,
)
from tests.unit.test_conversation import start

T0 = datetime(2027, 3, 1, 9, tzinfo=UTC)
ROOT = Path(__file__).parents[2]


def timeline(*whats: str) -> list[Event]:
    return [Event(at=T0 + timedelta(minutes=n), what=w) for n, w in enumerate(whats)]


@pytest.mark.parametrize(
    ("whats", "limit", "dropped", "left"),
    [
        pytest.param(("a", "a", "a"), 3, None, ("a", "a", "a"), id="within-the-limit"),
        pytest.param(("a", "a", "a"), 2, 1, ("a", "a"), id="the-oldest-repeat-goes"),
        pytest.param(("a", "b", "a", "b"), 3, 2, ("a", "b", "b"), id="the-first-of-a-kind-stays"),
        pytest.param(
            ("task_opened_reply", "task_claimed", "task_claimed", "x"),
            3,
            None,
            ("task_opened_reply", "task_claimed", "task_claimed", "x"),
            id="task-lines-stay",
        ),
        pytest.param(("a", "b", "c"), 2, None, ("a", "b", "c"), id="all-pinned-none-goes"),
    ],
)
def test_drop_oldest_keeps_what_decisions_read(
    whats: tuple[str, ...], limit: int, dropped: int | None, left: tuple[str, ...]
) -> None:
    events = timeline(*whats)
    expected = None if dropped is None else events[dropped]
    assert drop_oldest(events, limit) == expected
    assert tuple(e.what for e in events) == left


def test_a_conversation_of_500_replies_keeps_its_first_and_counts_the_rest() -> None:
    c = start()
    for n in range(500):
        c.replied(T0 + timedelta(minutes=n), c.usable()[0], f"bericht {n}")
    replies = [e for e in c.events if e.what == "customer_replied"]
    assert len(c.events) == 200
    assert replies[0].detail == "bericht 0" and replies[-1].detail == "bericht 499"
    assert c.events_dropped == {"customer_replied": 500 - len(replies)}
    assert c.events_recorded() == sum(c.events_dropped.values()) + len(c.events)
    assert c.any_reply()


def test_seen_ids_are_digests_of_a_fixed_size_and_still_heard_once() -> None:
    c = start()
    long_ids = [f"<{n}." + "x" * 180 + "@mail.example.nl>" for n in range(600)]
    assert all(c.first_time(i) for i in long_ids)
    assert len(c.events_seen) == EVENTS_REMEMBERED
    assert {len(key) for key in c.events_seen} == {SEEN_DIGEST}
    assert not c.first_time(long_ids[-1]) and not c.first_time(long_ids[100])
    assert c.first_time(long_ids[0])  # forgotten: the oldest of 600


def test_a_conversation_carried_from_before_digests_still_knows_its_raw_ids() -> None:
    c = start().model_copy(update={"events_seen": ["SM123:delivered"]})
    assert not c.first_time("SM123:delivered")
    assert seen_key("SM123:delivered") not in c.events_seen


@pytest.mark.parametrize(
    ("what", "kind"),
    [
        pytest.param(task_opened(TaskKind.REPLY), TaskKind.REPLY, id="reply"),
        pytest.param(task_opened(TaskKind.NO_CHANNEL), TaskKind.NO_CHANNEL, id="no-channel"),
        pytest.param("task_opened_added_later", None, id="a-newer-versions-kind"),
        pytest.param(EventName.TASK_CLAIMED, None, id="another-task-line"),
        pytest.param(outcome_event(Outcome.WON), None, id="an-outcome"),
    ],
)
def test_opened_task_kind_reads_the_family_it_names(what: str, kind: TaskKind | None) -> None:
    assert opened_task_kind(what) == kind


def test_the_names_are_the_strings_the_timeline_always_held() -> None:
    """Stored lines keep plain strings: recorded histories and newer versions read them."""
    assert call_event(CallResult.REACHED) == "call_reached" in CONTACT_EVENTS
    assert outcome_event(Outcome.NOT_INTERESTED) == "outcome_not_interested" in CLOSING_EVENTS
    assert str(EventName.CUSTOMER_REPLIED) == "customer_replied"


def test_no_timeline_line_is_named_by_a_string_literal() -> None:
    """Every `note(now, what, …)` names its line through leads.timeline, so code that reads
    lines compares against the same names."""
    literal: list[str] = []
    for path in [*(ROOT / "leads").glob("*.py"), *(ROOT / "workflows").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "note"
                and len(node.args) >= 2
                and isinstance(node.args[1], (ast.Constant, ast.JoinedStr))
            ):
                literal.append(f"{path.name}:{node.lineno}")
    assert literal == []
