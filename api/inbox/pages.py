"""The inbox's routes: sign-in, the task list, the lead page and the forms posted from them.

Every route checks the session (`SessionDep`), every POST its CSRF token, and every route
that names a lead or a task the caller's dealer (403 otherwise, `api.salespeople.own_lead`
and `own_task`). A POST that works answers 303 back to its page; one the engine refuses
re-renders the page with the engine's reason and the refusal's status.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response

from api.deps import ConfigDep, EngineDep
from api.errors import ApiError
from api.inbox import csrf, forms, sign_in, views
from api.inbox.rendering import (
    RETURN_COOKIE,
    RETURN_PAGE,
    InboxRoute,
    describe,
    page,
    see_other,
    texts,
)
from api.inbox.sessions import (
    COOKIE,
    NotSignedIn,
    Session,
    SessionDep,
    SignInsDep,
    clear_session_cookie,
    parse_cookie,
    set_session_cookie,
    signed_in,
)
from api.inbox.sign_ins import LinkRefused, TooManyLinks
from api.salespeople import manager, own_lead, own_task, seen_by
from api.temporal_calls import Engine
from leads.config import Config
from leads.identity import task_lead
from leads.models import (
    AppointmentKind,
    CallResult,
    Channel,
    Empty,
    LogCall,
    Outcome,
    RecordOutcome,
    SendMessage,
    TaskStatus,
)
from workflows.lead_follow_up import LeadFollowUp

router = APIRouter(prefix="/inbox", route_class=InboxRoute, include_in_schema=False)

LeadId = Annotated[str, Path(max_length=120)]
TaskId = Annotated[str, Path(max_length=140)]
Token = Annotated[str, Path(max_length=200)]
# Outcomes with a button of their own (appointment is booked with its form).
BUTTON_OUTCOMES = {
    Outcome.SHOWN,
    Outcome.NO_SHOW,
    Outcome.WON,
    Outcome.LOST,
    Outcome.NOT_INTERESTED,
    Outcome.UNREACHABLE,
}
# A refusal that leaves it unknown whether the message went out: the form keeps its key, so
# sending again cannot send twice. Any other refusal is final and the next try is new.
UNCERTAIN = {429, 503}


def now() -> datetime:
    return datetime.now(UTC)


def lead_url(lead_id: str) -> str:
    return f"/inbox/leads/{lead_id}"


async def posted(request: Request, session: Session) -> dict[str, str]:
    values = await forms.fields(request)
    csrf.check_session_token(session, values)
    return values


# --- sign-in ------------------------------------------------------------------------------


@router.get("")
async def home(request: Request, config: ConfigDep, signins: SignInsDep) -> Response:
    try:
        await signed_in(request, config, signins)
    except NotSignedIn:
        return see_other("/inbox/sign-in")
    return see_other("/inbox/tasks")


def sign_in_form(
    request: Request,
    config: Config,
    template: str = "sign_in.html",
    status: int = 200,
    refusal: str | None = None,
    **context: Any,
) -> Response:
    token = csrf.sign_in_token(request)
    response = page(request, template, status=status, csrf=token, refusal=refusal, **context)
    csrf.set_sign_in_cookie(response, request, config, token)
    return response


def signed_in_now(request: Request, config: Config, session: Session) -> Response:
    """Signed in: to the page an alert's link pointed at, if that brought them here."""
    back = request.cookies.get(RETURN_COOKIE, "")
    response = see_other(back if RETURN_PAGE.fullmatch(back) else "/inbox/tasks")
    response.delete_cookie(RETURN_COOKIE, path="/inbox")
    set_session_cookie(response, request, config, session)
    return response


@router.get("/sign-in")
async def sign_in_page(request: Request, config: ConfigDep) -> Response:
    return sign_in_form(request, config)


@router.post("/sign-in")
async def ask_for_link(request: Request, config: ConfigDep, signins: SignInsDep) -> Response:
    values = await forms.fields(request)
    csrf.check_sign_in_token(request, values)
    t = texts(request)
    try:
        address = forms.text(values, "address", 200, "invalid.address")
        await sign_in.send_links(config, signins, sign_in.delivery(request), address)
    except forms.Invalid as invalid:
        return sign_in_form(request, config, status=422, refusal=describe(invalid, t))
    except TooManyLinks as too_many:
        minutes = math.ceil(too_many.retry_after / 60)
        refusal = t("sign_in.too_many", minutes=minutes)
        return sign_in_form(request, config, status=429, refusal=refusal)
    return sign_in_form(request, config, template="sign_in_sent.html", minutes=sign_in.LINK_MINUTES)


@router.post("/sign-in/token")
async def sign_in_with_token(request: Request, config: ConfigDep, signins: SignInsDep) -> Response:
    values = await forms.fields(request)
    csrf.check_sign_in_token(request, values)
    t = texts(request)
    try:
        token = forms.text(values, "token", 500, "sign_in.bad_token")
        session = await sign_in.token_session(config, signins, token)
    except ApiError as error:
        if error.status not in (401, 422):
            raise
        return sign_in_form(request, config, status=401, refusal=t("sign_in.bad_token"))
    return signed_in_now(request, config, session)


@router.get("/sign-in/{token}")
async def confirm_link(request: Request, config: ConfigDep, token: Token) -> Response:
    # Only a button: mail scanners fetch links, and must not spend a one-time link.
    return sign_in_form(request, config, template="sign_in_confirm.html", token=token)


@router.post("/sign-in/{token}")
async def redeem_link(
    request: Request, config: ConfigDep, signins: SignInsDep, token: Token
) -> Response:
    values = await forms.fields(request)
    csrf.check_sign_in_token(request, values)
    t = texts(request)
    try:
        session = await sign_in.redeem(config, signins, token)
    except LinkRefused as refused:
        text = t("sign_in.used" if refused.used else "sign_in.expired")
        return sign_in_form(request, config, status=410, refusal=text)
    if session is None:
        return sign_in_form(request, config, status=410, refusal=t("sign_in.expired"))
    return signed_in_now(request, config, session)


@router.post("/sign-out")
async def sign_out(request: Request, config: ConfigDep, signins: SignInsDep) -> Response:
    session = parse_cookie(config, request.cookies.get(COOKIE))
    if session is not None:
        csrf.check_session_token(session, await forms.fields(request))
        await signins.sign_out(session.dealer.id, session.person.id, session.hash)
    response = see_other("/inbox/sign-in")
    clear_session_cookie(response, request, config)
    return response


# --- tasks --------------------------------------------------------------------------------


async def task_list(
    request: Request,
    session: Session,
    engine: Engine,
    template: str = "tasks.html",
    status: int = 200,
    refusal: str | None = None,
) -> Response:
    tasks = await engine.tasks(session.dealer)
    rows = views.task_rows(
        tasks, session.dealer, session.person.id, session.manager, now(), texts(request)
    )
    return page(
        request,
        template,
        status=status,
        session=session,
        csrf=csrf.session_token(session),
        refusal=refusal,
        rows=rows,
        open_status=TaskStatus.OPEN,
    )


@router.get("/tasks")
async def tasks_page(request: Request, session: SessionDep, engine: EngineDep) -> Response:
    return await task_list(request, session, engine)


@router.get("/tasks/list")
async def tasks_fragment(request: Request, session: SessionDep, engine: EngineDep) -> Response:
    """The list alone, which inbox.js fetches every few seconds: new tasks appear by
    themselves."""
    return await task_list(request, session, engine, template="_tasks.html")


@router.get("/tasks/{task_id}")
async def task_page(task_id: TaskId, session: SessionDep, config: ConfigDep) -> Response:
    """Where alerts link to: the task's lead."""
    own_task(config, session.caller, task_id)
    return see_other(lead_url(task_lead(task_id) or ""))


@router.post("/tasks/{task_id}/claim")
async def claim(
    request: Request, task_id: TaskId, session: SessionDep, config: ConfigDep, engine: EngineDep
) -> Response:
    own_task(config, session.caller, task_id)
    values = await posted(request, session)
    lead_id = task_lead(task_id) or ""
    try:
        await engine.claim(task_id, session.person.id)
    except ApiError as error:
        if values.get("back") == "lead":
            return await lead_page(request, session, engine, lead_id, refusal=error)
        refusal = describe(error, texts(request))
        return await task_list(request, session, engine, status=error.status, refusal=refusal)
    return see_other(lead_url(lead_id))


@router.post("/tasks/{task_id}/reassign")
async def reassign(
    request: Request, task_id: TaskId, session: SessionDep, config: ConfigDep, engine: EngineDep
) -> Response:
    own_task(config, session.caller, task_id)
    values = await posted(request, session)
    manager(session.caller)  # 403 otherwise, as in the JSON API
    try:
        target = values.get("salesperson_id", "")
        if target not in {p.id for p in session.dealer.salespeople}:
            raise forms.Invalid("invalid.person")
        await engine.claim(task_id, target, reassign=True)
    except ApiError as error:
        refusal = describe(error, texts(request))
        return await task_list(request, session, engine, status=error.status, refusal=refusal)
    return see_other("/inbox/tasks")


# --- the lead page ------------------------------------------------------------------------


async def lead_page(
    request: Request,
    session: Session,
    engine: Engine,
    lead_id: str,
    refusal: ApiError | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    state = await engine.state(lead_id)
    seen = await seen_by(state, session.caller, engine)
    # seen_by hands back the state itself unless it hid something: then the lead is blind.
    blind = seen is not state
    task = await engine.task_state(state.open_task_id) if state.open_task_id else None
    t = texts(request)
    at = now()
    values = values or {}
    keep_key = refusal is not None and refusal.status in UNCERTAIN and "key" in values
    channels = views.reply_channels(seen)
    chosen = values.get("channel") or (views.default_channel(seen) or "")
    window = views.whatsapp_left(seen, at)
    return page(
        request,
        "lead.html",
        status=refusal.status if refusal is not None else 200,
        session=session,
        csrf=csrf.session_token(session),
        refusal=describe(refusal, t) if refusal is not None else None,
        lead_id=lead_id,
        state=seen,
        blind=blind,
        task=task,
        claimed_by=views.person_name(session.dealer, task.assigned_to) if task else "",
        mine=task is not None and task.assigned_to == session.person.id,
        bubbles=[] if blind else views.bubbles(seen, session.dealer, at, t),
        channels=channels,
        chosen=str(chosen),
        whatsapp=Channel.WHATSAPP in channels,
        templates=bool(session.dealer.whatsapp_templates),
        window_left=views.duration(window, t) if window is not None else None,
        draft=values.get("text", "") if refusal is not None else "",
        key=values["key"] if keep_key else str(uuid.uuid4()),
        closed=views.is_closed(seen),
        outcomes=views.shows_outcomes(seen),
        call_results=list(CallResult),
        appointment_kinds=list(AppointmentKind),
        appointment_at=(
            views.clock(seen.appointment_at, session.dealer, at, t) if seen.appointment_at else None
        ),
        today=f"{views.local(at, session.dealer):%Y-%m-%d}",
        timezone=session.dealer.timezone,
        vehicle=seen.vehicle.label() if seen.vehicle else "",
        first_message=None if blind else views.first_message_apart(seen),
    )


@router.get("/leads/{lead_id}")
async def lead(
    request: Request, lead_id: LeadId, session: SessionDep, config: ConfigDep, engine: EngineDep
) -> Response:
    own_lead(config, session.caller, lead_id)
    return await lead_page(request, session, engine, lead_id)


Action = Callable[[dict[str, str]], Awaitable[Any]]


async def act(
    request: Request,
    session: Session,
    config: Config,
    engine: Engine,
    lead_id: str,
    action: Action,
    anchor: str = "",
) -> Response:
    """Check, do, and answer: 303 back to the lead page (at `anchor`), or the page with the
    refusal."""
    own_lead(config, session.caller, lead_id)
    values = await posted(request, session)
    try:
        await action(values)
    except ApiError as refusal:
        if refusal.status in (403, 404) and refusal.code != "refused":
            raise  # not the lead page's to show: a page of its own
        return await lead_page(request, session, engine, lead_id, refusal=refusal, values=values)
    return see_other(lead_url(lead_id) + anchor)


@router.post("/leads/{lead_id}/messages")
async def send_message(
    request: Request, lead_id: LeadId, session: SessionDep, config: ConfigDep, engine: EngineDep
) -> Response:
    async def send(values: dict[str, str]) -> None:
        key = forms.idempotency_key(values)
        template = values.get("template") == "on"  # the approved template needs no text
        text = forms.text(values, "text", 2000, "invalid.text", required=not template)
        channel = None  # the engine's default: the channel the customer last wrote on
        if values.get("channel"):
            channel = forms.choice(values, "channel", Channel, {c for c in Channel if c.written})
        message = SendMessage(
            salesperson_id=session.person.id,
            text=text,
            channel=channel,
            manager=session.manager,
            template=template,
        )
        await engine.send_message(lead_id, message, key)

    # Back at the reply box, under the message just sent.
    return await act(request, session, config, engine, lead_id, send, anchor="#reply")


@router.post("/leads/{lead_id}/calls")
async def log_call(
    request: Request, lead_id: LeadId, session: SessionDep, config: ConfigDep, engine: EngineDep
) -> Response:
    async def log(values: dict[str, str]) -> None:
        call = LogCall(
            result=forms.choice(values, "result", CallResult), salesperson_id=session.person.id
        )
        await engine.update(lead_id, LeadFollowUp.log_call, call)

    return await act(request, session, config, engine, lead_id, log)


@router.post("/leads/{lead_id}/appointment")
async def book_appointment(
    request: Request, lead_id: LeadId, session: SessionDep, config: ConfigDep, engine: EngineDep
) -> Response:
    async def book(values: dict[str, str]) -> None:
        outcome = RecordOutcome(
            outcome=Outcome.APPOINTMENT,
            appointment_at=forms.local_datetime(values),
            appointment_kind=forms.choice(values, "kind", AppointmentKind),
            salesperson_id=session.person.id,
        )
        await engine.update(lead_id, LeadFollowUp.record_outcome, outcome)

    return await act(request, session, config, engine, lead_id, book)


@router.post("/leads/{lead_id}/outcome")
async def record_outcome(
    request: Request, lead_id: LeadId, session: SessionDep, config: ConfigDep, engine: EngineDep
) -> Response:
    async def record(values: dict[str, str]) -> None:
        chosen = forms.choice(values, "outcome", Outcome, BUTTON_OUTCOMES)
        reason = forms.text(values, "reason", 200, "invalid.reason", required=False) or None
        outcome = RecordOutcome(outcome=chosen, reason=reason, salesperson_id=session.person.id)
        await engine.update(lead_id, LeadFollowUp.record_outcome, outcome)

    return await act(request, session, config, engine, lead_id, record)


@router.post("/leads/{lead_id}/pause")
async def pause(
    request: Request, lead_id: LeadId, session: SessionDep, config: ConfigDep, engine: EngineDep
) -> Response:
    return await act(request, session, config, engine, lead_id, plain(engine, lead_id, "pause"))


@router.post("/leads/{lead_id}/resume")
async def resume(
    request: Request, lead_id: LeadId, session: SessionDep, config: ConfigDep, engine: EngineDep
) -> Response:
    return await act(request, session, config, engine, lead_id, plain(engine, lead_id, "resume"))


def plain(engine: Engine, lead_id: str, which: str) -> Callable[[dict[str, str]], Awaitable[None]]:
    """An update without arguments (pause, resume), as a form's action."""
    update = LeadFollowUp.pause if which == "pause" else LeadFollowUp.resume

    async def do(_: dict[str, str]) -> None:
        await engine.update(lead_id, update, Empty())

    return do


# --- everything else ----------------------------------------------------------------------


@router.api_route("/{rest:path}", methods=["GET", "POST"])
async def not_found(rest: str) -> Response:
    if rest == "":
        return see_other("/inbox")  # /inbox/
    raise ApiError(404, "not_found", "no such page")
