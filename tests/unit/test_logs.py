"""logs.py: the JSON handler on its own (the whole pipeline, at DEBUG, runs in
tests/e2e/test_logs.py): libraries that print requests stay quiet below WARNING whatever
their level, exceptions lose their text, and Temporal's context dicts become the same
top-level keys the interceptor binds."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from leads.identity import task_id
from logs import QUIET, json_handler, lead_context, level_from_env

DEALERS = ("autohuis-test", "autohuis")
LEAD = "lead-autohuis-test-0123456789abcdef01234567"
EMAIL = "zwaantje.bloemhof@example.nl"


class Captured:
    def __init__(self) -> None:
        self.stream = io.StringIO()
        self.handler = json_handler(self.stream, DEALERS)

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines()]


@pytest.fixture
def captured() -> Iterator[Captured]:
    """The handler on a few loggers of its own, so the suite's logging is left alone."""
    capture = Captured()
    names = ["blanco.test", "temporalio.workflow.test", *(f"{n}.test" for n in QUIET)]
    loggers = [logging.getLogger(name) for name in names]
    saved = [(log.level, log.propagate) for log in loggers]
    for log in loggers:
        log.addHandler(capture.handler)
        log.setLevel(logging.DEBUG)  # as if someone lowered them: the handler still holds
        log.propagate = False
    yield capture
    for log, (level, propagate) in zip(loggers, saved, strict=True):
        log.removeHandler(capture.handler)
        log.setLevel(level)
        log.propagate = propagate


@pytest.mark.parametrize("name", QUIET)
def test_libraries_that_print_requests_say_nothing_below_warning(
    captured: Captured, name: str
) -> None:
    logger = logging.getLogger(f"{name}.test")
    logger.debug("PAYLOAD: {'to': %r}", EMAIL)
    logger.info("POST Request: https://api.example/send?to=%s", EMAIL)
    logger.warning("connection pool is full")
    assert [line["event"] for line in captured.lines()] == ["connection pool is full"]


def test_an_exception_is_logged_as_its_types_and_frames_never_its_text(
    captured: Captured,
) -> None:
    try:
        try:
            raise KeyError(EMAIL)
        except KeyError as error:
            raise ValueError(f"no address {EMAIL}") from error
    except ValueError:
        logging.getLogger("blanco.test").exception("send_failed")
    (line,) = captured.lines()
    assert line["event"] == "send_failed" and line["level"] == "error"
    assert line["error"]["type"] == "ValueError" and line["error"]["causes"] == ["KeyError"]
    assert line["error"]["frames"][-1].endswith(
        "in test_an_exception_is_logged_as_its_types_and_frames_never_its_text"
    )
    assert EMAIL not in captured.stream.getvalue()


def test_a_workflow_records_context_becomes_top_level_ids(captured: Captured) -> None:
    task = task_id(LEAD, 2)
    details = {"workflow_id": task, "run_id": "run-1", "workflow_type": "SalesTask"}
    extra = {"temporal_workflow": {**details, "attempt": 1, "namespace": "default"}}
    logging.getLogger("temporalio.workflow.test").info("task_claimed", extra=extra)
    (line,) = captured.lines()
    assert list(line)[:4] == ["timestamp", "level", "event", "logger"]
    assert line | details == line and "temporal_workflow" not in line
    assert (line["lead_id"], line["dealer"], line["task_id"]) == (LEAD, "autohuis-test", task)


def test_an_activity_records_context_becomes_the_bound_keys(captured: Captured) -> None:
    activity = {
        "activity_type": "send_touch",
        "attempt": 3,
        "workflow_id": LEAD,
        "workflow_run_id": "run-1",
        "activity_id": "1",
    }
    logger = logging.getLogger("blanco.test")
    logger.warning("Completing activity as failed", extra={"temporal_activity": activity})
    (line,) = captured.lines()
    expected = {"activity": "send_touch", "attempt": 3, "workflow_id": LEAD, "run_id": "run-1"}
    assert line | expected == line
    assert (line["lead_id"], line["dealer"]) == (LEAD, "autohuis-test")


@pytest.mark.parametrize(
    ("workflow_id", "expected"),
    [
        (LEAD, {"lead_id": LEAD, "dealer": "autohuis-test"}),
        (
            task_id(LEAD, 1),
            {"lead_id": LEAD, "dealer": "autohuis-test", "task_id": task_id(LEAD, 1)},
        ),
        ("lead-autohuis-test-not-a-key", {}),
        ("lead-elsewhere-0123456789abcdef01234567", {}),  # no configured dealer
        ("bench-1", {}),
        (None, {}),
    ],
)
def test_lead_context_only_for_a_configured_dealers_lead_or_task(
    workflow_id: str | None, expected: dict[str, str]
) -> None:
    assert lead_context(workflow_id, DEALERS) == expected


@pytest.mark.parametrize(
    ("value", "level"),
    [("debug", logging.DEBUG), (" WARNING", logging.WARNING), ("loud", None), ("", None)],
)
def test_the_level_comes_from_the_environment(value: str, level: int | None) -> None:
    assert level_from_env({"BLANCO_LOG_LEVEL": value}) == level
    assert level_from_env({}) == logging.INFO
