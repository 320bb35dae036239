"""leads.task_summary: what a task says of its lead (rule 1: the blind line, shown until a
salesperson claims the task, names neither the source nor the offer; rule 6: a human task
says what the work is). Never the customer's name, address or number."""

from __future__ import annotations

from typing import Any

import pytest

from leads.models import Lead, TaskKind
from leads.task_summary import task_summaries

CUSTOMER = {"name": "Pieter Proef", "email": "pieter@example.nl", "phone": "+31611223344"}


def lead(**fields: Any) -> Lead:
    return Lead.model_validate(
        {"source": "marktplaats", "kind": "offer", "customer": CUSTOMER, **fields}
    )


@pytest.mark.parametrize(
    ("the_lead", "kind", "blind", "full"),
    [
        pytest.param(
            lead(vehicle={"make": "Volkswagen", "model": "Golf"}, offer_amount=9500),
            TaskKind.REPLY,
            "Reply · offer · Volkswagen Golf",
            "Reply · offer · marktplaats · Volkswagen Golf · offer €9,500",
            id="reply-with-offer",
        ),
        pytest.param(
            lead(kind="test_drive"),
            TaskKind.NO_CHANNEL,
            "No channel · test drive · no vehicle named",
            "No channel · test drive · marktplaats · no vehicle named",
            id="no-channel-without-vehicle",
        ),
        pytest.param(
            lead(kind="trade_in", vehicle={"make": "Opel"}),
            TaskKind.CALL,
            "Call · trade in · Opel",
            "Call · trade in · marktplaats · Opel",
            id="call-without-offer",
        ),
    ],
)
def test_rule1_the_blind_summary_names_neither_source_nor_offer(
    the_lead: Lead, kind: TaskKind, blind: str, full: str
) -> None:
    assert task_summaries(the_lead, kind) == (blind, full)
    assert "marktplaats" not in blind and "€" not in blind
    for secret in CUSTOMER.values():
        assert secret not in blind and secret not in full
