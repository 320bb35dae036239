"""Erasure as a Temporal workflow (issue 13, hazard 4: "Erasure is not durable"): the
`DELETE /v1/leads/{lead}` starts `Erasure` (`erasure-<lead id>`) and waits for it. Operators
see it in Temporal, its history holds none of the customer's data, a failure half-way is
retried until the erasure completes with the opt-outs kept, and a repeated DELETE erases
once. The real dev server, a real worker, real HTTP through the app."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.json_format import MessageToJson
from google.protobuf.message import Message
from temporalio import activity
from temporalio.api.common.v1 import Payload
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from api import erasure as api_erasure
from contracts import search_attributes as sa
from contracts.erasure import (
    DELETE_HISTORIES,
    WHAT_SURVIVES,
    DeleteHistories,
    ErasureRequest,
    ErasureResult,
    WhatSurvives,
)
from contracts.memo import OPT_OUT_CHANNELS
from leads.identity import erasure_id, opt_out_id
from leads.models import Channel
from tests.api.conftest import SECRET, Api, customer_lead, served, unique
from tests.api.test_erasure import histories
from tests.api.test_inbound import started
from tests.conftest import eventually


async def opted_out_of_sms(api: Api, **customer: str) -> tuple[str, dict[str, str]]:
    """A lead whose customer prefers SMS and then sends STOP: what erasure must keep."""
    person = {**customer_lead()["customer"], "preferred_channel": "sms", **customer}
    lead_id, _ = await started(api, customer=person)
    assert (await api.sms(person["phone"], "STOP")).status_code == 200
    await api.state_when(lead_id, lambda s: Channel.SMS in s.opted_out)
    return lead_id, person


def kept_opt_out(phone: str) -> str:
    return opt_out_id("autohuis-test", SECRET, f"phone:{phone}")


async def erasure_runs(api: Api, lead_id: str) -> list[Any]:
    query = f"WorkflowId = '{erasure_id(lead_id)}'"
    return [w async for w in api.client.list_workflows(query)]


def payloads_in(message: Message) -> Iterator[Payload]:
    """Every payload an event holds, however deep (inputs, results, memos, summaries)."""
    if isinstance(message, Payload):
        yield message
        return
    for field, value in message.ListFields():
        kind = field.message_type
        if field.type != FieldDescriptor.TYPE_MESSAGE or kind is None:
            continue
        if kind.GetOptions().map_entry:
            if kind.fields_by_name["value"].type == FieldDescriptor.TYPE_MESSAGE:
                for item in value.values():
                    yield from payloads_in(item)
        elif field.is_repeated:
            for item in value:
                yield from payloads_in(item)
        else:
            yield from payloads_in(value)


async def history_text(api: Api, workflow_id: str) -> str:
    """The whole history as an operator's tools show it: the events, and every payload
    decrypted with the codec (the server stores ciphertext)."""
    history = await api.client.get_workflow_handle(workflow_id).fetch_history()
    events = [MessageToJson(event) for event in history.events]
    found = [p for event in history.events for p in payloads_in(event)]
    codec = api.client.data_converter.payload_codec
    assert codec is not None
    decoded = await codec.decode(found)
    return "\n".join([*events, *(p.data.decode() for p in decoded)])


async def test_the_erasure_is_a_workflow_operators_see_with_no_personal_data(api: Api) -> None:
    """Before issue 13's hazard 4, erasure was calls inside the HTTP request: nothing in
    Temporal showed it, and a failure half-way left no trace of what was done."""
    name = unique("Naam")
    lead_id, person = await opted_out_of_sms(api, name=name)

    erased = await api.http.delete(f"/v1/leads/{lead_id}", headers=api.bearer("marieke"))
    assert erased.status_code == 204, erased.text

    handle = api.client.get_workflow_handle(erasure_id(lead_id), result_type=ErasureResult)
    described = await handle.describe()
    assert described.workflow_type == "Erasure"
    assert described.status == WorkflowExecutionStatus.COMPLETED
    assert described.typed_search_attributes.get(sa.DEALER_ID) == "autohuis-test"
    result = await handle.result()
    assert result.opt_outs == 1 and result.executions >= 1

    text = await history_text(api, erasure_id(lead_id))
    # The decoding worked: what the erasure may hold is there in clear.
    assert lead_id in text and kept_opt_out(person["phone"]) in text
    for personal in (person["email"], person["phone"], person["phone"].lstrip("+"), name):
        assert personal not in text


def failing_once(name: str, failures: list[str]) -> Callable[[Any], Any]:
    """A `build_worker(wrap=…)` that injects one failure into activity `name`: its first
    attempt fails (the delete after deleting the first history only: half-way), and every
    later attempt runs the real activity. A failure injection at the activity boundary, not a
    mock of its result."""

    def wrap(fn: Any) -> Any:
        defined = activity._Definition.from_callable(fn)
        if defined is None or defined.name != name:
            return fn
        if name == WHAT_SURVIVES:

            @activity.defn(name=WHAT_SURVIVES)
            async def what_survives(request: ErasureRequest) -> WhatSurvives:
                if not failures:
                    failures.append(name)
                    raise RuntimeError("injected: Temporal did not answer the lead's query")
                survives: WhatSurvives = await fn(request)
                return survives

            return what_survives

        @activity.defn(name=DELETE_HISTORIES)
        async def delete_histories(request: DeleteHistories) -> int:
            if not failures:
                failures.append(name)
                await fn(DeleteHistories(executions=request.executions[:1]))
                raise RuntimeError("injected: the worker lost Temporal half-way")
            deleted: int = await fn(request)
            return deleted

        return delete_histories

    return wrap


def held_until(release: asyncio.Event) -> Callable[[Any], Any]:
    """A `build_worker(wrap=…)` whose delete step waits for `release` before it runs: an
    erasure that outlasts the API's deadline (a slow Temporal), without waiting 20 s."""

    def wrap(fn: Any) -> Any:
        defined = activity._Definition.from_callable(fn)
        if defined is None or defined.name != DELETE_HISTORIES:
            return fn

        @activity.defn(name=DELETE_HISTORIES)
        async def delete_histories(request: DeleteHistories) -> int:
            await release.wait()
            deleted: int = await fn(request)
            return deleted

        return delete_histories

    return wrap


async def test_an_erasure_past_the_deadline_answers_202_and_goes_on(
    dev_env: WorkflowEnvironment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(api_erasure, "ERASURE_DEADLINE", 0.5)
    release = asyncio.Event()
    async with served(dev_env.client, tmp_path, wrap=held_until(release)) as api:
        lead_id, person = await opted_out_of_sms(api)
        url, manager = f"/v1/leads/{lead_id}", api.bearer("marieke")

        continuing = await api.http.delete(url, headers=manager)
        assert continuing.status_code == 202, continuing.text
        assert continuing.json() == {"erasure_id": erasure_id(lead_id), "status": "continuing"}
        # Ended at once all the same: reads answer 404 while the erasure goes on.
        gone = await api.http.get(url, headers=manager)
        assert gone.status_code == 404, gone.text

        release.set()
        handle = api.client.get_workflow_handle(erasure_id(lead_id))

        async def status() -> WorkflowExecutionStatus | None:
            return (await handle.describe()).status

        completed = WorkflowExecutionStatus.COMPLETED
        await eventually(status, lambda found: found == completed, deadline=15)
        await eventually(lambda: histories(api, lead_id), lambda found: found == [], deadline=15)
        kept = await api.client.get_workflow_handle(kept_opt_out(person["phone"])).describe()
        assert await kept.memo_value(OPT_OUT_CHANNELS) == ["sms"]


@pytest.mark.parametrize("step", [WHAT_SURVIVES, DELETE_HISTORIES])
async def test_a_failure_half_way_is_retried_and_the_opt_outs_are_kept(
    dev_env: WorkflowEnvironment, tmp_path: Path, step: str
) -> None:
    failures: list[str] = []
    async with served(dev_env.client, tmp_path, wrap=failing_once(step, failures)) as api:
        lead_id, person = await opted_out_of_sms(api)
        # A task too, so the deletion has more than one history to get half-way through.
        assert (await api.sms(person["phone"], "Toch een vraag")).status_code == 200
        await api.state_when(lead_id, lambda s: s.open_task_id is not None)
        await eventually(lambda: histories(api, lead_id), lambda found: len(found) >= 2)

        erased = await api.http.delete(f"/v1/leads/{lead_id}", headers=api.bearer("marieke"))
        assert erased.status_code in (204, 202), erased.text
        assert failures == [step]

        handle = api.client.get_workflow_handle(erasure_id(lead_id))

        async def status() -> WorkflowExecutionStatus | None:
            return (await handle.describe()).status

        completed = WorkflowExecutionStatus.COMPLETED
        await eventually(status, lambda found: found == completed, deadline=30)
        await eventually(lambda: histories(api, lead_id), lambda found: found == [], deadline=15)
        kept = await api.client.get_workflow_handle(kept_opt_out(person["phone"])).describe()
        assert await kept.memo_value(OPT_OUT_CHANNELS) == ["sms"]


async def test_a_repeated_delete_joins_the_running_erasure_and_erases_once(api: Api) -> None:
    lead_id, person = await opted_out_of_sms(api)
    url, manager = f"/v1/leads/{lead_id}", api.bearer("marieke")

    first, second = await asyncio.gather(
        api.http.delete(url, headers=manager), api.http.delete(url, headers=manager)
    )
    assert (first.status_code, second.status_code) == (204, 204), (first.text, second.text)
    [run] = await eventually(lambda: erasure_runs(api, lead_id), lambda found: len(found) >= 1)

    # Once it completed, a DELETE runs the erasure again: nothing left, 204 all the same.
    again = await api.http.delete(url, headers=manager)
    assert again.status_code == 204, again.text
    completed = WorkflowExecutionStatus.COMPLETED
    runs = await eventually(
        lambda: erasure_runs(api, lead_id),
        lambda found: len(found) >= 2 and all(w.status == completed for w in found),
    )
    assert len(runs) == 2 and run.run_id in {w.run_id for w in runs}
    await eventually(lambda: histories(api, lead_id), lambda found: found == [], deadline=15)
    kept = await api.client.get_workflow_handle(kept_opt_out(person["phone"])).describe()
    assert await kept.memo_value(OPT_OUT_CHANNELS) == ["sms"]
