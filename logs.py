"""Structured JSON logs for the worker and the API: one JSON object per line, one format.

`configure_logging` is the one entry point. structlog's own lines and every stdlib record —
Temporal's workflow and activity loggers, the SDK core's (forwarded, see `core_logging`),
uvicorn, the provider libraries — go through the same processors onto stderr. Context is
bound once, not repeated at every call:

- activities: `ActivityLogContext`, a worker interceptor, binds `activity`, `attempt`,
  `workflow_id`, `run_id`, `lead_id`, `dealer` (and `task_id`) around each execution;
- workflows log through `workflow.logger` (silent while replaying); its `temporal_workflow`
  extra becomes top-level `workflow_id`, `run_id`, `workflow_type`;
- the API: `api/access_log.py` binds `route` (the template), `method`, `lead_id`, `dealer`;
- wherever a line names a lead's or task's workflow but not the lead, `lead_id` and `dealer`
  are derived from the id (`lead-<dealer>-<key>`, checked against the configured dealers).

Lines carry ids and statuses, never personal data: names, addresses, numbers and message
text stay in the (encrypted) workflow payloads. Exceptions are logged as their types and
frames, never their messages, which can quote what failed. Libraries that log request URLs,
headers or bodies (`QUIET`) are held at WARNING whatever the level.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from collections.abc import Iterable, Mapping, Sequence
from types import TracebackType
from typing import IO, Any

import structlog
from structlog.stdlib import ProcessorFormatter
from structlog.typing import EventDict, Processor, WrappedLogger
from temporalio import activity, workflow
from temporalio.runtime import LogForwardingConfig, LoggingConfig, TelemetryFilter
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

from leads.identity import lead_dealer, task_lead

LEVEL_VARIABLE = "BLANCO_LOG_LEVEL"

# Loggers that print what a request carried: python_http_client (SendGrid) logs the whole
# mail body at DEBUG, twilio's http client the request URL, query and headers at INFO, httpx
# and httpcore URLs and headers, urllib3 (under twilio's requests) URLs. Only their warnings
# and errors are logged, at any level.
QUIET = (
    "python_http_client",
    "twilio.http_client",
    "twilio.async_http_client",
    "httpx",
    "httpcore",
    "urllib3",
)
FIRST_KEYS = ("timestamp", "level", "event", "logger")
FRAMES_KEPT = 30


def level_from_env(env: Mapping[str, str] = os.environ) -> int | None:
    """`BLANCO_LOG_LEVEL` (DEBUG, INFO, WARNING, ERROR; unset: INFO); None for anything else."""
    level = logging.getLevelNamesMapping().get(env.get(LEVEL_VARIABLE, "INFO").strip().upper())
    return level if isinstance(level, int) else None


def configure_logging(
    level: int | None = None,
    dealer_ids: Iterable[str] = (),
    stream: IO[str] | None = None,
) -> None:
    """Everything the process logs, as JSON lines on `stream` (stderr). `level`: default
    from BLANCO_LOG_LEVEL. `dealer_ids`: the configured dealers, to tell lead ids apart."""
    wanted = level_from_env() if level is None else level
    level = logging.INFO if wanted is None else wanted
    handler = json_handler(stream or sys.stderr, tuple(dealer_ids))
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "blanco", False)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in QUIET:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
    logging.captureWarnings(True)
    # The workflow and activity loggers append their context to the message as a dict's
    # repr; it is in the record's extra already, and becomes top-level keys here.
    workflow.logger.workflow_info_on_message = False
    activity.logger.activity_info_on_message = False
    structlog.configure(
        processors=[*_shared(), ProcessorFormatter.wrap_for_formatter],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
    if wanted is None:
        structlog.get_logger("logs").warning(
            "log_level_unknown", value=os.environ.get(LEVEL_VARIABLE), using="INFO"
        )


def json_handler(stream: IO[str], dealer_ids: Sequence[str] = ()) -> logging.Handler:
    """A handler rendering structlog's and stdlib's records alike as JSON lines."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        ProcessorFormatter(
            foreign_pre_chain=[*_shared(), structlog.stdlib.ExtraAdder()],
            processors=[
                ProcessorFormatter.remove_processors_meta,
                Ids(dealer_ids),
                errors_without_messages,
                first_keys,
                structlog.processors.JSONRenderer(),
            ],
        )
    )
    handler.addFilter(hold_quiet)
    handler.blanco = True  # type: ignore[attr-defined]
    return handler


def _shared() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def hold_quiet(record: logging.LogRecord) -> bool:
    """Below WARNING, nothing from the QUIET loggers, even if a logger's level was lowered."""
    if record.levelno >= logging.WARNING:
        return True
    return not any(record.name == name or record.name.startswith(name + ".") for name in QUIET)


def core_logging() -> LoggingConfig:
    """The Temporal SDK core's own lines (warnings and errors: connection trouble, failing
    tasks) forwarded into Python logging, so they come out as the same JSON lines."""
    return LoggingConfig(
        filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
        forwarding=LogForwardingConfig(
            logger=logging.getLogger("temporalio.core"),
            append_target_to_name=False,
            prepend_target_on_message=False,
            append_log_fields_to_message=False,
        ),
    )


# --- context -------------------------------------------------------------------------------


def lead_context(workflow_id: str | None, dealer_ids: Iterable[str]) -> dict[str, str]:
    """`lead_id` and `dealer` (and `task_id`) of a lead's or a task's workflow id; nothing for
    an id that is neither, or names no configured dealer."""
    if not workflow_id:
        return {}
    lead = task_lead(workflow_id) or workflow_id
    dealer = lead_dealer(lead, dealer_ids)
    if dealer is None:
        return {}
    found = {"lead_id": lead, "dealer": dealer}
    if lead != workflow_id:
        found["task_id"] = workflow_id
    return found


class Ids:
    """Temporal's context dicts (`temporal_workflow`, `temporal_activity`, `temporal_log`)
    as top-level keys, named like the bound ones; `lead_id` and `dealer` where a lead's or
    task's workflow is named but they are not."""

    def __init__(self, dealer_ids: Sequence[str]) -> None:
        self._dealer_ids = dealer_ids

    def __call__(self, _: WrappedLogger, __: str, event: EventDict) -> EventDict:
        event.pop("color_message", None)  # uvicorn: the message again, with ANSI colours
        event.pop("__temporal_error_identifier", None)  # the SDK's marker for its own handlers
        found = event.pop("temporal_workflow", None)
        if isinstance(found, Mapping):
            _set(event, workflow_id=found.get("workflow_id"), run_id=found.get("run_id"))
            _set(event, workflow_type=found.get("workflow_type"), update=found.get("update_name"))
        found = event.pop("temporal_activity", None)
        if isinstance(found, Mapping):
            _set(event, activity=found.get("activity_type"), attempt=found.get("attempt"))
            _set(event, workflow_id=found.get("workflow_id"), run_id=found.get("workflow_run_id"))
        core = event.pop("temporal_log", None)
        if core is not None:
            _set(event, core_target=getattr(core, "target", None))
            _set(event, core_fields=getattr(core, "fields", None))
        if "lead_id" not in event or "dealer" not in event:
            _set(event, **lead_context(event.get("workflow_id"), self._dealer_ids))
        if "dealer" not in event and isinstance(event.get("lead_id"), str):
            _set(event, dealer=lead_dealer(event["lead_id"], self._dealer_ids))
        return event


def _set(event: EventDict, **values: Any) -> None:
    for key, value in values.items():
        if value is not None and event.get(key) is None:
            event[key] = value


def errors_without_messages(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    """An exception as its type, the types of its causes and its frames — never its text:
    an exception's message can quote an address, a number or a request body."""
    exc_info = event.pop("exc_info", None)
    error = _exception(exc_info)
    if error is not None:
        chain: list[str] = []
        seen: set[int] = set()
        cause: BaseException | None = error
        while cause is not None and id(cause) not in seen and len(chain) < 5:
            seen.add(id(cause))
            chain.append(_type_name(cause))
            cause = cause.__cause__ or cause.__context__
        event["error"] = {"type": chain[0], "causes": chain[1:], "frames": _frames(error)}
    return event


def _exception(exc_info: Any) -> BaseException | None:
    if isinstance(exc_info, BaseException):
        return exc_info
    if isinstance(exc_info, tuple) and len(exc_info) == 3:
        return exc_info[1] if isinstance(exc_info[1], BaseException) else None
    if exc_info is True:
        return sys.exc_info()[1]
    return None


def _type_name(error: BaseException) -> str:
    kind = type(error)
    name = (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )
    detail = getattr(error, "type", None)  # ApplicationError: our classification, no data
    return f"{name}[{detail}]" if isinstance(detail, str) and detail else name


def _frames(error: BaseException) -> list[str]:
    tb: TracebackType | None = error.__traceback__
    frames = traceback.extract_tb(tb)[-FRAMES_KEPT:]
    return [f"{frame.filename}:{frame.lineno} in {frame.name}" for frame in frames]


def first_keys(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    """timestamp, level, event and logger first, for the people reading the lines."""
    return {
        **{key: event.pop(key) for key in FIRST_KEYS if key in event},
        **event,
    }


# --- activities ----------------------------------------------------------------------------


class ActivityLogContext(Interceptor):
    """Binds each activity's context for every line logged while it runs (structlog's and
    stdlib's, also from the threads the provider clients run in), and clears it after."""

    def __init__(self, dealer_ids: Iterable[str]) -> None:
        self._dealer_ids = tuple(dealer_ids)

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _BindActivity(next, self._dealer_ids)


class _BindActivity(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, dealer_ids: tuple[str, ...]) -> None:
        super().__init__(next)
        self._dealer_ids = dealer_ids

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        context = activity_context(activity.info(), input.args, self._dealer_ids)
        with structlog.contextvars.bound_contextvars(**context):
            return await self.next.execute_activity(input)


def activity_context(
    info: activity.Info, args: Sequence[Any], dealer_ids: Sequence[str]
) -> dict[str, Any]:
    """activity, attempt, workflow_id, run_id; lead_id and dealer from the workflow's id (a
    lead or its task), else from the activity's argument (`lead_id`, `dealer_id`)."""
    context: dict[str, Any] = {
        "activity": info.activity_type,
        "attempt": info.attempt,
        "workflow_id": info.workflow_id,
        "run_id": info.workflow_run_id,
        **lead_context(info.workflow_id, dealer_ids),
    }
    argument = args[0] if len(args) == 1 else None
    lead = getattr(argument, "lead_id", None)
    if "lead_id" not in context and isinstance(lead, str):
        context["lead_id"] = lead
    dealer = getattr(argument, "dealer_id", argument)
    if "dealer" not in context and isinstance(dealer, str) and dealer in dealer_ids:
        context["dealer"] = dealer
    return {key: value for key, value in context.items() if value is not None}
