"""Reading the inbox's forms: a small body cap, text fields only, and each value checked here
so that bad input is a readable 422 page, never an exception further in."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from enum import StrEnum
from typing import TypeVar

from fastapi import Request

from api.bodies import KIB, read_form, text_fields
from api.errors import ApiError

FORM_LIMIT = 32 * KIB  # the longest form is a 2000-character reply
E = TypeVar("E", bound=StrEnum)
KEY = re.compile(r"^[A-Za-z0-9-]{8,64}$")


class Invalid(ApiError):
    """A field the salesperson has to correct; `what` names the text that says how."""

    def __init__(self, what: str) -> None:
        super().__init__(422, "invalid_form", what)
        self.what = what


async def fields(request: Request) -> dict[str, str]:
    _, form = await read_form(request, FORM_LIMIT, part_limit=FORM_LIMIT, max_files=0)
    return text_fields(form)


def text(values: dict[str, str], name: str, limit: int, what: str, required: bool = True) -> str:
    value = values.get(name, "").strip()
    if (required and not value) or len(value) > limit:
        raise Invalid(what)
    return value


def choice(values: dict[str, str], name: str, kind: type[E], allowed: set[E] | None = None) -> E:
    try:
        chosen = kind(values.get(name, ""))
    except ValueError:
        raise Invalid("invalid.choice") from None
    if allowed is not None and chosen not in allowed:
        raise Invalid("invalid.choice")
    return chosen


def idempotency_key(values: dict[str, str]) -> str:
    key = values.get("key", "")
    if not KEY.match(key):
        raise Invalid("invalid.key")
    return key


def local_datetime(values: dict[str, str]) -> datetime:
    """The appointment's date and time as the salesperson typed them: naive, which the
    workflow reads as the dealer's local time."""
    try:
        day = date.fromisoformat(values.get("date", "").strip())
        at = time.fromisoformat(values.get("time", "").strip())
    except ValueError:
        raise Invalid("invalid.when") from None
    return datetime.combine(day, at.replace(second=0, microsecond=0, tzinfo=None))
