"""Patches `lean-history`, `results-with-send` and `first-answer-in-open` (issue 12): a lead's
history close to Temporal's floor. New runs open with one local activity that also sends the
first answer and writes it to the results store, send their later touches as local
activities and upsert their search attributes once per workflow task; these tests hold the
history to that shape and size."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from contracts import search_attributes as sa
from leads.identity import contact_identifiers, contact_keys
from leads.models import Channel, LeadStatus
from tests.conftest import make_config
from tests.workflows.test_lead_follow_up import Engine, engine_for, first_touch_by_twilio

# The whole default cadence (8 touches, 2 days' grace) without an answer: 114 events before
# the patches. 58 of these 65 are the cadence itself; 7 keep TouchCount and NextTouchAt true
# after each touch but the first (docs/benchmarks.md).
FULL_CADENCE_EVENTS = 65


@pytest.fixture
async def lean(time_env: WorkflowEnvironment, outbox_path: Path) -> AsyncIterator[Engine]:
    async with engine_for(time_env, outbox_path, make_config()) as each:
        yield each


def _local_activity_type(event: HistoryEvent) -> str:
    payload = event.marker_recorded_event_attributes.details["data"].payloads[0]
    return str(json.loads(payload.data)["activity_type"])


async def local_activities(handle: WorkflowHandle[Any, Any]) -> list[str]:
    """The local activities of a run so far, in the order its history recorded them."""
    history = await handle.fetch_history()
    return [
        _local_activity_type(e)
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
        and "data" in e.marker_recorded_event_attributes.details
    ]


async def test_a_lead_opens_with_one_local_activity_that_also_answers_and_sets_its_keys(
    lean: Engine,
) -> None:
    """Started without ContactKeys (as an operator's CLI would): the opening local activity
    hashes them, and the first workflow task upserts them with everything else."""
    handle = await lean.start()
    state = await lean.until(handle, lambda s: len(s.touches) == 1)
    history = await handle.fetch_history()
    kinds = Counter(EventType.Name(e.event_type) for e in history.events)
    assert kinds["EVENT_TYPE_ACTIVITY_TASK_SCHEDULED"] == 0  # the touch is a local activity
    markers = await local_activities(handle)
    # The opening sent the first answer and wrote its figures: no other local activity.
    assert markers == ["open_lead"]
    assert "contact_keys" not in markers and "opted_out_channels" not in markers
    dealer = lean.config.dealers[0]
    inquiries = [(i.source, i.external_id) for i in state.inquiries]
    assert state.customer is not None
    expected = contact_keys(
        dealer.webhook_secret, contact_identifiers(state.customer, inquiries, dealer.country)
    )
    described = await handle.describe()
    assert expected and described.typed_search_attributes.get(sa.CONTACT_KEYS) == expected


async def test_the_whole_cadence_fits_its_event_budget(lean: Engine) -> None:
    handle = await lean.start()
    final = await handle.result()  # the test server skips the 16 days
    assert final.status is LeadStatus.UNREACHABLE and len(final.touches) == 8
    history = await handle.fetch_history()
    assert len(history.events) <= FULL_CADENCE_EVENTS, Counter(
        EventType.Name(e.event_type) for e in history.events
    )


async def test_rule4_a_first_answer_the_opening_could_not_send_goes_out_with_retries(
    time_env: WorkflowEnvironment, outbox_path: Path, fake_twilio: Any
) -> None:
    """The real twilio client against the fake Twilio API, down once (HTTP 500): the opening
    gives the touch back, and the lead's own send (a local activity with retries) delivers it
    on the channel the customer chose."""
    fake_twilio.fail_next(500)
    async with first_touch_by_twilio(time_env, outbox_path, fake_twilio) as (_, handle, state):
        assert state.touches[0].channel is Channel.SMS and state.touches[0].failed is None
        assert (len(fake_twilio.messages), len(fake_twilio.sent)) == (2, 1)  # down, then taken
        assert (await local_activities(handle))[:2] == ["open_lead", "send_touch"]
