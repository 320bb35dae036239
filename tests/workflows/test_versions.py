"""Two worker versions side by side (a rolling deploy, a rollback) and a customer who comes
back: issue 9, findings 3 and 4.

- Everything Temporal stores or a worker receives tolerates fields this version does not know
  and passes them on: a signal carrying one is heard, an update applied, and a lead carried
  through continue-as-new keeps them.
- Every exactly-once key names the conversation: a customer whose conversation ended gets a
  first answer in their new one, and a provider's late report on the old conversation's
  touch leaves the new conversation's touch of the same number alone.
"""

from __future__ import annotations

import types
import typing
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from temporalio import activity, workflow
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.senders import Senders
from leads.models import (
    Channel,
    DeliveryFailed,
    DeliveryReport,
    LeadState,
    LeadStatus,
    LogCall,
    RecordOutcome,
)
from providers.outbox import OutboxProvider
from tests.conftest import make_config
from tests.workflows.test_lead_follow_up import Engine, engine_for
from worker import WORKFLOWS, activities
from workflows.lead_follow_up import LeadFollowUp

NEWER = {"added_by_a_newer_version": {"anything": [1, "two"]}}


@pytest.fixture
async def always_open(time_env: WorkflowEnvironment, outbox_path: Path) -> AsyncIterator[Engine]:
    config = make_config(contact_window="always", business_hours="always")
    async with engine_for(time_env, outbox_path, config) as each:
        yield each


# --- finding 4: unknown fields are heard, kept and passed on --------------------------------


def boundary_types() -> Iterator[Any]:
    """The declared types of every workflow input, signal, update, query and result, and of
    every activity's arguments and result: what crosses a worker boundary."""
    for cls in WORKFLOWS:
        definition = workflow._Definition.must_from_class(cls)  # the SDK's own reading
        yield from definition.arg_types or []
        yield definition.ret_type
        handlers: list[Any] = [*definition.signals.values(), *definition.updates.values()]
        for handler in [*handlers, *definition.queries.values()]:
            yield from handler.arg_types or []
            yield getattr(handler, "ret_type", None)
    for fn in activities(make_config(), Senders(outbox=OutboxProvider(Path("unused"))), None):
        defined = activity._Definition.must_from_callable(fn)
        yield from defined.arg_types or []
        yield defined.ret_type


def models_in(annotation: Any, found: set[type[BaseModel]]) -> None:
    """Every pydantic model an annotation holds, its fields' models included."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation in found:
            return
        found.add(annotation)
        for info in annotation.model_fields.values():
            models_in(info.annotation, found)
        return
    if typing.get_origin(annotation) is not None or isinstance(annotation, types.UnionType):
        for inner in typing.get_args(annotation):
            models_in(inner, found)


def test_every_payload_crossing_a_worker_boundary_keeps_unknown_fields() -> None:
    found: set[type[BaseModel]] = set()
    for annotation in boundary_types():
        models_in(annotation, found)
    names = {model.__name__ for model in found}
    # The walk reaches the nested ones, not only the handlers' own types.
    assert {"Lead", "Customer", "Conversation", "DealerPlan", "Window", "SendRequest"} <= names
    strict = sorted(m.__name__ for m in found if m.model_config.get("extra") != "allow")
    assert strict == []


async def test_a_signal_with_a_field_this_version_does_not_know_is_heard(
    always_open: Engine,
) -> None:
    """Issue 9, finding 4: a customer_replied with one extra field left the lead contacting."""
    handle = await always_open.start()
    await always_open.until(handle, lambda s: len(s.touches) == 1)
    reply = {"channel": "email", "text": "Is hij er nog?", **NEWER}  # as a newer API sends it
    await handle.signal("customer_replied", reply)
    state = await always_open.until(handle, lambda s: s.status is LeadStatus.ENGAGED)
    assert state.open_task_id is not None


async def test_an_update_with_a_field_this_version_does_not_know_is_applied(
    always_open: Engine,
) -> None:
    handle = await always_open.start()
    await always_open.until(handle, lambda s: len(s.touches) == 1)
    done = await handle.execute_update("record_outcome", {"outcome": "won", **NEWER})
    assert done["status"] == "won"


async def test_continue_as_new_carries_what_a_newer_version_added(
    time_env: WorkflowEnvironment, outbox_path: Path
) -> None:
    config = make_config(history_limit=50, contact_window="always", business_hours="always")
    async with engine_for(time_env, outbox_path, config) as engine:
        handle = await engine.start(
            customer={"email": "nieuw@example.nl", **NEWER}, **{"loyalty": "gold"}
        )
        final = await handle.result()  # eight touches: past 50 events, continued as new
        assert await engine.continued_as_new(handle)
        assert final.customer is not None
        assert final.customer.model_extra == NEWER  # kept, and passed on to the next run
        assert len(final.touches) == 8


# --- finding 3: exactly once per conversation ----------------------------------------------


Handle = WorkflowHandle[LeadFollowUp, LeadState]


async def comes_back(engine: Engine, customer: dict[str, str]) -> tuple[Handle, Handle]:
    """A customer's conversation ends (not interested); they write again through another
    portal, and a new conversation starts under the same lead id: both runs, once the new
    one has sent its touch 1."""
    first = await engine.start(customer=customer)
    await engine.until(first, lambda s: len(s.touches) == 1)
    await first.execute_update(LeadFollowUp.log_call, LogCall(result="reached"))
    await first.execute_update(LeadFollowUp.record_outcome, RecordOutcome(outcome="not_interested"))
    await first.result()
    again = await engine.start(customer=customer, source="autoscout24")
    assert again.id == first.id
    await engine.until(again, lambda s: len(s.touches) == 1)
    return first, again


async def test_a_returning_customer_gets_a_first_answer(always_open: Engine) -> None:
    """The new conversation's touch 1 is written, under its own key."""
    first, again = await comes_back(always_open, {"email": "terug@example.nl"})
    lines = always_open.lines()
    assert [(line["touch"], line["conversation"]) for line in lines] == [
        (1, first.first_execution_run_id),
        (1, again.first_execution_run_id),
    ]
    assert first.first_execution_run_id != again.first_execution_run_id


async def test_a_report_on_the_earlier_conversation_leaves_this_one_alone(
    always_open: Engine,
) -> None:
    first, again = await comes_back(always_open, {"email": "oud@example.nl"})
    old = first.first_execution_run_id
    # Late reports on the old conversation's touch 1, routed back by its key.
    await again.signal(
        LeadFollowUp.delivery_failed,
        DeliveryFailed(channel="email", reason="bounce", permanent=True, touch=1, conversation=old),
    )
    await again.signal(
        LeadFollowUp.delivery_status,
        DeliveryReport(channel="email", touch=1, status="read", conversation=old),
    )
    # ... and one on this conversation's own touch 1: it is applied (so the others were seen).
    await again.signal(
        LeadFollowUp.delivery_status,
        DeliveryReport(
            channel="email", touch=1, status="delivered", conversation=again.first_execution_run_id
        ),
    )
    state = await always_open.until(again, lambda s: s.touches[0].delivery is not None)
    assert state.touches[0].delivery == "delivered" and state.touches[0].failed is None
    assert Channel.EMAIL in state.usable_channels
