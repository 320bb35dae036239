"""The inbox's pure decisions, table by table: the task list's order, the reply's channels
and the WhatsApp window, the texts in both languages, the session cookie, and whose address
a sign-in request names."""

from __future__ import annotations

import re
import string
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from api.inbox import views
from api.inbox.sessions import cookie_value, parse_cookie
from api.inbox.sign_in import matching, new_token, token_owner
from api.inbox.texts import TEXTS, Texts, preferred_locale
from leads.config import Config
from leads.models import Channel, LeadState, TaskState, ThreadMessage
from tests.api.conftest import api_config

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def config() -> Config:
    base = api_config("views")
    jan = (
        base.dealers[0]
        .salespeople[0]
        .model_copy(update={"email": "Jan@Autohuis-Test.nl", "phone": "06 4152 7384"})
    )
    dealer = base.dealers[0].model_copy(
        update={"salespeople": (jan, *base.dealers[0].salespeople[1:])}
    )
    return base.model_copy(update={"dealers": (dealer, *base.dealers[1:])})


def task(n: int, status: str = "open", assigned: str | None = None, **flags: Any) -> TaskState:
    return TaskState(
        task_id=f"t{n}",
        lead_id="l",
        dealer_id="autohuis-test",
        kind="reply",
        status=status,
        assigned_to=assigned,
        summary="Reply",
        opened_at=NOW - timedelta(minutes=n),  # t3 is older than t1
        due_at=None,
        reminded=flags.get("reminded", False),
        escalated=flags.get("escalated", False),
    )


TASKS = [
    task(1),
    task(3),
    task(5, "claimed", "jan"),
    task(7, "claimed", "marieke"),
    task(2, escalated=True),
]


@pytest.mark.parametrize(
    ("who", "manager", "order"),
    [
        # rule 6: the longest wait first; a salesperson sees open tasks and their own
        ("jan", False, ["t3", "t2", "t1", "t5"]),
        # a manager sees every task, escalations first
        ("marieke", True, ["t2", "t3", "t1", "t7", "t5"]),
    ],
)
def test_rule6_the_task_list_order(who: str, manager: bool, order: list[str]) -> None:
    assert [t.task_id for t in views.visible_tasks(TASKS, who, manager)] == order


def state(thread: list[tuple[str, str]], usable: list[str], window: timedelta | None) -> LeadState:
    return LeadState.model_validate(
        {
            "lead_id": "l",
            "dealer_id": "autohuis-test",
            "status": "engaged",
            "kind": "offer",
            "source": "",
            "usable_channels": usable,
            "touches": [],
            "touches_planned": 8,
            "attempts": {},
            "next_touch_at": None,
            "open_task_id": None,
            "outcome": None,
            "inquiries": [],
            "events": [],
            "whatsapp_window_until": NOW + window if window is not None else None,
            "thread": [
                ThreadMessage(at=NOW, direction=d, channel=c, by="x", text="t") for d, c in thread
            ],
        }
    )


@pytest.mark.parametrize(
    ("thread", "usable", "offered", "default"),
    [
        ([("out", "email"), ("in", "sms")], ["email", "sms", "phone"], ["email", "sms"], "sms"),
        # STOP on SMS: the last channel the customer wrote on is gone, the first usable one
        ([("in", "sms")], ["email", "phone"], ["email"], "email"),
        ([], ["phone"], [], None),  # rule 3: phone is a call, never a message
    ],
)
def test_rule3_reply_channels_are_the_usable_written_ones(
    thread: list[tuple[str, str]], usable: list[str], offered: list[str], default: str | None
) -> None:
    lead = state(thread, usable, None)
    assert views.reply_channels(lead) == [Channel(c) for c in offered]
    assert views.default_channel(lead) == (Channel(default) if default else None)


@pytest.mark.parametrize(
    ("window", "left", "shown"),
    [
        (timedelta(hours=3, minutes=12), timedelta(hours=3, minutes=12), "3 u 12 min"),
        (timedelta(minutes=5), timedelta(minutes=5), "5 min"),
        (timedelta(minutes=-1), None, None),
        (None, None, None),
    ],
)
def test_the_whatsapp_window(
    window: timedelta | None, left: timedelta | None, shown: str | None
) -> None:
    found = views.whatsapp_left(state([], ["whatsapp"], window), NOW)
    assert found == left
    if found is not None:
        assert views.duration(found, Texts("nl")) == shown


def test_every_text_exists_in_both_languages_with_the_same_placeholders() -> None:
    fields = string.Formatter()
    for key, (nl, en) in TEXTS.items():
        assert nl.strip() and en.strip(), key
        names = [{name for _, name, _, _ in fields.parse(text) if name} for text in (nl, en)]
        assert names[0] == names[1], key


@pytest.mark.parametrize(
    ("header", "locale"),
    [("nl-NL,nl;q=0.9,en;q=0.8", "nl"), ("en-US,en;q=0.9", "en"), ("de-DE", "nl"), (None, "nl")],
)
def test_the_browsers_language_before_sign_in(header: str | None, locale: str) -> None:
    assert preferred_locale(header, "nl") == locale


def test_a_session_cookie_is_good_only_as_signed_and_until_it_expires() -> None:
    settings = config()
    dealer = settings.dealers[0]
    jan = dealer.salespeople[0]
    later = int(time.time()) + 3600
    value = cookie_value(dealer, jan, "session-id", later)
    found = parse_cookie(settings, value)
    assert found is not None and (found.dealer.id, found.person.id) == ("autohuis-test", "jan")
    other = settings.dealers[1]  # the same cookie signed with another dealer's secret
    for bad in (
        value[:-2] + ("AA" if not value.endswith("AA") else "BB"),
        value.replace("session-id", "session-ie"),
        cookie_value(dealer, jan, "session-id", int(time.time()) - 1),
        cookie_value(other, jan, "session-id", later).replace("autohuis-oost", "autohuis-test"),
        "",
        "v1.....",
        "x" * 300,
    ):
        assert parse_cookie(settings, bad) is None, bad


def test_a_sign_in_request_names_the_salesperson_by_e_mail_or_phone() -> None:
    settings = config()
    found = {
        address: [(d.id, p.id) for d, p in matching(settings, address)]
        for address in (" jan@autohuis-test.NL ", "+31641527384", "0641527384", "x@y.nl", "06")
    }
    assert found == {
        " jan@autohuis-test.NL ": [("autohuis-test", "jan")],
        "+31641527384": [("autohuis-test", "jan")],
        "0641527384": [("autohuis-test", "jan")],
        "x@y.nl": [],
        "06": [],
    }


def test_a_link_token_names_its_salesperson_and_nothing_else_passes() -> None:
    settings = config()
    dealer = settings.dealers[0]
    token = new_token(dealer, dealer.salespeople[0])
    assert re.fullmatch(r"autohuis-test\.jan\.[A-Za-z0-9_-]{43}", token)
    owner = token_owner(settings, token)
    assert owner is not None and owner[1].id == "jan"
    for bad in (token + "x", token.replace(".jan.", ".nobody."), "a.b", "", "<script>"):
        assert token_owner(settings, bad) is None
