"""The salesperson API: a Bearer token per salesperson (its SHA-256 in the dealer's config),
and only that dealer's leads and tasks. The task list is a visibility query over `SalesTask`
workflows; everything a salesperson records is an update the workflow validates, and a rule
the workflow refuses comes back as 409 with the workflow's reason."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Literal

import structlog
from fastapi import APIRouter, Depends, Header, Path, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, model_validator

from api.bodies import json_body
from api.deps import ConfigDep, EngineDep
from api.erasure import ERASURE_DEADLINE, erase
from api.errors import ApiError
from api.openapi import ERRORS, body_schema
from api.signatures import salesperson_for
from api.temporal_calls import Engine
from leads.config import Dealer, Salesperson
from leads.identity import erasure_id, lead_dealer
from leads.models import (
    Channel,
    Empty,
    LeadState,
    LogCall,
    Payload,
    RecordOutcome,
    SalespersonText,
    SendMessage,
    TaskState,
    ThreadMessage,
)
from leads.timeline import EventName
from workflows.lead_follow_up import LeadFollowUp

router = APIRouter(prefix="/v1", tags=["salespeople"], responses=ERRORS)
log = structlog.get_logger("api")


@dataclass(frozen=True)
class Caller:
    dealer: Dealer
    person: Salesperson

    @property
    def is_manager(self) -> bool:
        return self.person.role == "manager"


def caller(
    config: ConfigDep,
    authorization: Annotated[
        str | None, Header(description="Bearer <token>", max_length=1000)
    ] = None,
) -> Caller:
    dealer, person = salesperson_for(config, authorization)
    return Caller(dealer, person)


CallerDep = Annotated[Caller, Depends(caller)]
LeadId = Annotated[str, Path(max_length=120, description="lead-<dealer>-<key>")]
TaskId = Annotated[str, Path(max_length=140, description="task-<lead id>-<n>")]


def own_lead(config: ConfigDep, who: CallerDep, lead_id: LeadId) -> str:
    dealer = lead_dealer(lead_id, config.dealer_ids)
    if dealer is None:
        raise ApiError(404, "unknown_lead", "no such lead")
    if dealer != who.dealer.id:
        raise ApiError(403, "forbidden", "this lead belongs to another dealer")
    return lead_id


def own_task(config: ConfigDep, who: CallerDep, task_id: TaskId) -> str:
    lead_id, _, number = task_id.removeprefix("task-").rpartition("-")
    dealer = lead_dealer(lead_id, config.dealer_ids)
    if not task_id.startswith("task-") or dealer is None or not number.isdecimal():
        raise ApiError(404, "unknown_task", "no such task")
    if dealer != who.dealer.id:
        raise ApiError(403, "forbidden", "this task belongs to another dealer")
    return task_id


def manager(who: CallerDep) -> Caller:
    if not who.is_manager:
        raise ApiError(403, "forbidden", "only a manager may do this")
    return who


OwnLead = Annotated[str, Depends(own_lead)]
ManagerDep = Annotated[Caller, Depends(manager)]
OwnTask = Annotated[str, Depends(own_task)]


class TaskList(Payload):
    tasks: list[TaskState]


IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9._:-]{1,200}")


class NewMessage(Payload):
    """`POST /v1/leads/{lead}/messages`: what the salesperson writes, and on which channel."""

    text: SalespersonText = ""
    channel: Channel | None = None
    template: bool = False  # WhatsApp outside the window: the dealer's approved template

    @model_validator(mode="after")
    def _something_to_send(self) -> NewMessage:
        if not self.text.strip() and not self.template:
            raise ValueError("text: empty; write the message to send")
        return self


@router.get("/tasks", response_model=TaskList, summary="Open and claimed tasks of my dealer")
async def list_tasks(who: CallerDep, engine: EngineDep) -> TaskList:
    tasks = await engine.tasks(who.dealer)
    return TaskList(tasks=sorted(tasks, key=lambda t: t.opened_at))


@router.post("/tasks/{task_id}/claim", response_model=TaskState, summary="Claim a task")
async def claim_task(task_id: OwnTask, who: CallerDep, engine: EngineDep) -> TaskState:
    return await engine.claim(task_id, who.person.id)


async def seen_by(state: LeadState, who: Caller, engine: Engine) -> LeadState:
    """Blind tasks (rule 1): while the lead's task is open, or claimed by someone else, a
    salesperson does not see where the lead came from or what was offered — otherwise the
    task list's blindness would be one request away. Managers see everything."""
    if not who.dealer.blind_tasks or who.is_manager or not state.open_task_id:
        return state
    task = await engine.task_state(state.open_task_id)
    if task is not None and task.assigned_to == who.person.id:
        return state
    return state.model_copy(
        update={
            "source": "",
            "message": None,
            "thread": [],  # what the customer wrote may name the portal or the offer
            "inquiries": [i.model_copy(update={"source": ""}) for i in state.inquiries],
            "events": [
                e.model_copy(update={"detail": None}) if e.what == EventName.NEW_INQUIRY else e
                for e in state.events
            ],
        }
    )


@router.get("/leads/{lead_id}", response_model=LeadState, summary="A lead: status and timeline")
async def get_lead(lead_id: OwnLead, who: CallerDep, engine: EngineDep) -> LeadState:
    return await seen_by(await engine.state(lead_id), who, engine)


OutcomeBody = Annotated[RecordOutcome, Depends(json_body(RecordOutcome, "outcome"))]
CallBody = Annotated[LogCall, Depends(json_body(LogCall, "call"))]
MessageBody = Annotated[NewMessage, Depends(json_body(NewMessage, "message"))]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description="the client's key for this message: a retry with the same key sends once",
    ),
]


@router.post(
    "/leads/{lead_id}/outcome",
    response_model=LeadState,
    summary="Record an outcome",
    openapi_extra=body_schema("application/json", "RecordOutcome"),
)
async def record_outcome(
    lead_id: OwnLead, outcome: OutcomeBody, who: CallerDep, engine: EngineDep
) -> LeadState:
    recorded = outcome.model_copy(update={"salesperson_id": who.person.id})
    state = await engine.update(lead_id, LeadFollowUp.record_outcome, recorded)
    return await seen_by(state, who, engine)


@router.post(
    "/leads/{lead_id}/messages",
    status_code=201,
    response_model=ThreadMessage,
    summary="Write to the customer on their channel",
    description=(
        "Sends the salesperson's text through the dealer's providers on `channel` (default: "
        "the channel the customer last wrote on) and returns the message as it stands in the "
        "thread. Requires an `Idempotency-Key` header: a retry with the same key sends once. "
        "409 with the reason when refused: an opted-out or unusable channel, a closed lead, "
        "WhatsApp free text outside the 24-hour window (send `template: true` for the "
        "dealer's approved template), or a task the caller has not claimed (managers may "
        "always write)."
    ),
    openapi_extra=body_schema("application/json", "NewMessage"),
)
async def send_message(
    lead_id: OwnLead,
    body: MessageBody,
    who: CallerDep,
    engine: EngineDep,
    idempotency_key: IdempotencyKey = None,
) -> ThreadMessage:
    key = (idempotency_key or "").strip()
    if not key or not IDEMPOTENCY_KEY.fullmatch(key):
        raise ApiError(
            400,
            "idempotency_key",
            "an Idempotency-Key header is required (1-200 of A-Z a-z 0-9 . _ : -), "
            "so that a retried request sends once",
        )
    request = SendMessage(
        salesperson_id=who.person.id,
        text=body.text,
        channel=body.channel,
        manager=who.is_manager,
        template=body.template,
    )
    return await engine.send_message(lead_id, request, key)


@router.post(
    "/leads/{lead_id}/calls",
    response_model=LeadState,
    summary="Log a call",
    openapi_extra=body_schema("application/json", "LogCall"),
)
async def log_call(
    lead_id: OwnLead, call: CallBody, who: CallerDep, engine: EngineDep
) -> LeadState:
    called = call.model_copy(update={"salesperson_id": who.person.id})
    return await seen_by(await engine.update(lead_id, LeadFollowUp.log_call, called), who, engine)


@router.post("/leads/{lead_id}/pause", response_model=LeadState, summary="Pause the cadence")
async def pause(lead_id: OwnLead, who: CallerDep, engine: EngineDep) -> LeadState:
    return await seen_by(await engine.update(lead_id, LeadFollowUp.pause, Empty()), who, engine)


@router.post("/leads/{lead_id}/resume", response_model=LeadState, summary="Resume the cadence")
async def resume(lead_id: OwnLead, who: CallerDep, engine: EngineDep) -> LeadState:
    return await seen_by(await engine.update(lead_id, LeadFollowUp.resume, Empty()), who, engine)


class ErasureContinues(BaseModel):
    """202 from `DELETE /v1/leads/{lead}`: the erasure did not finish within the API's deadline
    and goes on as the Temporal workflow `erasure_id`; a repeated DELETE joins it."""

    erasure_id: str
    status: Literal["continuing"] = "continuing"


@router.delete(
    "/leads/{lead_id}",
    status_code=204,
    response_class=Response,
    responses={
        202: {"model": ErasureContinues, "description": "the erasure continues in Temporal"}
    },
    summary="Erase a lead (managers)",
    description=(
        "Right to erasure, as the Temporal workflow `erasure-<lead id>`: ends the lead's "
        "workflow and its tasks, deletes their histories from Temporal (all runs; Temporal "
        "removes closed ones asynchronously) and removes the lead's outbox lines. Its rows in "
        "the results store stay under a random id instead of the lead's: the figures remain, "
        "the link to the person goes. Channels the customer opted out of are kept as keyed "
        "hashes, so a later lead of the same customer is not contacted on them. 204 when the "
        f"erasure completed within {ERASURE_DEADLINE:.0f} s, again when repeated; 202 naming "
        "the erasure workflow when it has not finished yet: it goes on, each step retried "
        "until it succeeds, and a repeated DELETE joins it."
    ),
)
async def erase_lead(lead_id: OwnLead, who: ManagerDep, engine: EngineDep) -> Response:
    result = await erase(engine.client, engine.config, who.dealer, lead_id)
    if result is None:
        log.info("lead_erasure_continues", lead_id=lead_id, erasure_id=erasure_id(lead_id))
        body = ErasureContinues(erasure_id=erasure_id(lead_id))
        return JSONResponse(body.model_dump(), status_code=202)
    log.info(
        "lead_erased",
        lead_id=lead_id,
        executions=result.executions,
        opt_outs=result.opt_outs,
        outbox_lines=result.outbox_lines,
        results=result.results_rows,
    )
    return Response(status_code=204)
