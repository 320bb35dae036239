"""blanco.toml's contents → typed, validated settings (docs/operating.md, "The configuration
file"); reading the file and BLANCO_CONFIG is `config_file.load_config`'s.

A bad file stops start-up with one message per problem, each naming the key, e.g.
``blanco.toml: dealers[0].cadence[2]: '4x' is not a duration (use 30s, 10m, 4h, 2d or ISO 8601)``.
"""

from __future__ import annotations

import base64
import itertools
import re
from datetime import date, time, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from leads.holidays import holiday_dates
from leads.models import EDGE, DealerId, Locale

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SHORT_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_ISO_DURATION = TypeAdapter(timedelta)


class ConfigError(Exception):
    """The configuration cannot be used; the message names every bad key."""


def webhook_key(secret: str) -> bytes:
    """The HMAC key of a Standard Webhooks secret (`whsec_` + base64), as the platforms'
    libraries read it: padding may be missing. ValueError when it is not base64."""
    return base64.b64decode(secret.removeprefix("whsec_") + "==")


def parse_duration(value: Any) -> timedelta:
    """`30s`, `10m`, `4h`, `2d`, `1w`, or ISO 8601 (`PT4H`, `P2D`)."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, str):
        short = _SHORT_DURATION.match(value)
        if short:
            return timedelta(**{_UNITS[short.group(2)]: int(short.group(1))})
        if value.strip().upper().startswith("P"):
            try:
                return _ISO_DURATION.validate_python(value.strip())
            except ValidationError:
                pass
    raise ValueError(f"{value!r} is not a duration (use 30s, 10m, 4h, 2d or ISO 8601)")


def parse_days(value: Any) -> frozenset[int]:
    """`mon-sat`, `mon,wed,fri`, `mon-fri,sun` → weekday numbers (Monday = 0)."""
    if isinstance(value, (set, frozenset, list)) and all(isinstance(d, int) for d in value):
        return frozenset(value)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{value!r} is not a list of days (e.g. mon-sat or mon,wed,fri)")
    days: set[int] = set()
    for part in value.lower().replace(" ", "").split(","):
        first, _, last = part.partition("-")
        if first not in DAY_NAMES or (last and last not in DAY_NAMES):
            raise ValueError(f"{part!r} is not a day or range of days (mon … sun)")
        start, end = DAY_NAMES.index(first), DAY_NAMES.index(last or first)
        days.update(range(start, end + 1) if start <= end else [*range(start, 7), *range(end + 1)])
    return frozenset(days)


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
Days = Annotated[frozenset[int], BeforeValidator(parse_days)]


class Settings(BaseModel):
    # Tolerant like every payload (leads.models.Payload): the dealer plan (with its windows)
    # is an activity result that workflows carry. The file itself is read strictly
    # (`parse_config`), so a misspelt key is still an error that names it.
    model_config = ConfigDict(extra="allow", frozen=True, hide_input_in_errors=True)


class Window(Settings):
    """Local times on given days; `holidays` names a country whose public holidays are closed."""

    start: time
    end: time
    days: Days = frozenset(range(6))
    holidays: str | None = None
    # The public holidays of `holidays` for the years a lead can live, set by `Dealer.plan`:
    # a lead's plan is an activity's result, so its closed days are in the history and no
    # upgrade of the holidays library moves the timers of a running lead. None: the plan of a
    # lead that started before they were recorded (its cadence asks the library).
    holiday_dates: tuple[date, ...] | None = None

    @model_validator(mode="after")
    def _start_before_end(self) -> Window:
        if self.start >= self.end:
            raise ValueError(f"start {self.start:%H:%M} must be before end {self.end:%H:%M}")
        if not self.days:
            raise ValueError("days must name at least one day")
        return self

    @field_validator("holidays")
    @classmethod
    def _known_country(cls, value: str | None) -> str | None:
        if value is None:
            return None
        import holidays as holidays_lib

        if value.upper() not in holidays_lib.list_supported_countries():
            raise ValueError(f"{value!r} is not a country the holidays library knows")
        return value.upper()


def _window(value: Any) -> Any:
    # "always" switches a window off (tests, 24/7 dealers): represented as None.
    if value == "always":
        return None
    return value


OptionalWindow = Annotated[Window | None, BeforeValidator(_window)]


class Salesperson(Settings):
    id: Annotated[str, Field(pattern=r"^[a-z0-9-]+$")]
    name: str
    email: str | None = None
    phone: str | None = None
    role: Literal["sales", "manager"] = "sales"
    token_sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")] | None = None


DEFAULT_CADENCE = ("0s", "4h", "1d", "2d", "4d", "7d", "10d", "14d")


class Dealer(Settings):
    id: DealerId
    name: str
    timezone: str = "Europe/Amsterdam"
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] = "NL"
    locale: Locale = "nl"
    webhook_secret: Annotated[str, Field(min_length=8)]
    email_from: str
    reply_domain: str | None = None
    sms_from: str | None = None
    whatsapp_from: str | None = None
    whatsapp_templates: dict[str, str] = Field(default_factory=dict)
    contact_window: OptionalWindow = Window(
        start=time(8), end=time(21), days=frozenset(range(6)), holidays="NL"
    )
    business_hours: OptionalWindow = Window(
        start=time(8, 30), end=time(18), days=frozenset(range(6))
    )
    cadence: tuple[Duration, ...] = tuple(parse_duration(d) for d in DEFAULT_CADENCE)
    grace: Duration = timedelta(days=2)
    calls: Literal["when_preferred", "alternate", "never"] = "when_preferred"
    remind_after: Duration = timedelta(minutes=10)
    escalate_after: Duration = timedelta(minutes=30)
    blind_tasks: bool = True
    salespeople: tuple[Salesperson, ...] = ()

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"{value!r} is not an IANA time zone (e.g. Europe/Amsterdam)"
            ) from None
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _standard_webhooks_secret(cls, value: str) -> str:
        try:
            key = webhook_key(value)
        except ValueError:
            raise ValueError("is not a Standard Webhooks secret (whsec_ and base64)") from None
        if not key:
            raise ValueError("is empty once decoded (whsec_ and base64)")
        return value

    @field_validator("cadence")
    @classmethod
    def _cadence_ascending(cls, value: tuple[timedelta, ...]) -> tuple[timedelta, ...]:
        if not value:
            raise ValueError("cadence needs at least one touch")
        if value[0] != timedelta(0):
            raise ValueError("the first touch must be 0s: the first answer goes out at once")
        if any(b <= a for a, b in itertools.pairwise(value)):
            raise ValueError("offsets must be strictly ascending")
        return value

    @field_validator("whatsapp_templates")
    @classmethod
    def _template_stages(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = set(value) - {"first", "follow_up", "last"}
        if unknown:
            raise ValueError(f"unknown stages {sorted(unknown)} (use first, follow_up, last)")
        return value

    @model_validator(mode="after")
    def _escalate_after_remind(self) -> Dealer:
        if self.escalate_after <= self.remind_after:
            raise ValueError("escalate_after must be longer than remind_after")
        return self

    @model_validator(mode="after")
    def _holiday_dates_not_in_file(self) -> Dealer:
        for name in ("contact_window", "business_hours"):
            window = getattr(self, name)
            if window is not None and window.holiday_dates is not None:
                raise ValueError(f"{name}.holiday_dates comes from `holidays`, not the file")
        return self

    def plan(self, today: date | None = None) -> DealerPlan:
        """What a lead of this dealer needs; `today`: the public holidays of its windows for
        the years a lead can live from then on are written into the plan (else left to the
        holidays library, as plans were before)."""
        return DealerPlan(
            dealer_id=self.id,
            name=self.name,
            timezone=self.timezone,
            country=self.country,
            locale=self.locale,
            has_email=bool(self.email_from),
            has_sms=bool(self.sms_from),
            has_whatsapp=bool(self.whatsapp_from),
            contact_window=with_holiday_dates(self.contact_window, today),
            business_hours=with_holiday_dates(self.business_hours, today),
            cadence=self.cadence,
            grace=self.grace,
            calls=self.calls,
            remind_after=self.remind_after,
            escalate_after=self.escalate_after,
            blind_tasks=self.blind_tasks,
            whatsapp_templates=tuple(sorted(self.whatsapp_templates)),
        )


def with_holiday_dates(window: Window | None, today: date | None) -> Window | None:
    if window is None or window.holidays is None or today is None:
        return window
    dates = holiday_dates(window.holidays, today.year)
    return window.model_copy(update={"holiday_dates": dates})


class DealerPlan(Settings):
    """What the workflow needs of a dealer: no secrets, no staff contacts (they stay in the
    config file and are read by activities), so nothing sensitive lands in workflow history."""

    dealer_id: str
    name: str
    timezone: str
    country: str
    locale: Locale
    has_email: bool
    has_sms: bool
    has_whatsapp: bool
    contact_window: Window | None
    business_hours: Window | None
    cadence: tuple[timedelta, ...]
    grace: timedelta
    calls: Literal["when_preferred", "alternate", "never"]
    remind_after: timedelta
    escalate_after: timedelta
    blind_tasks: bool
    whatsapp_templates: tuple[str, ...] = ()  # the stages with an approved template
    history_limit: int = 2000  # continue-as-new past this many events (TemporalSettings)

    def holidays_recorded(self) -> bool:
        """Whether the cadence reads its public holidays from the plan alone (leads.holidays)."""
        windows = (self.contact_window, self.business_hours)
        return all(w is None or w.holidays is None or w.holiday_dates is not None for w in windows)


class TemporalSettings(Settings):
    task_queue: str = "leads"
    # Continue-as-new also past this many history events (the server's own suggestion comes
    # at a few thousand); a long, chatty conversation then starts a fresh run with its state.
    history_limit: Annotated[int, Field(ge=50)] = 2000


class ApiSettings(Settings):
    public_base_url: str = "http://localhost:8000"
    ui_origin: str = "http://localhost:8233"  # the Temporal UI, allowed to call the codec endpoint


class Config(Settings):
    temporal: TemporalSettings = TemporalSettings()
    api: ApiSettings = ApiSettings()
    dealers: tuple[Dealer, ...]

    @field_validator("dealers")
    @classmethod
    def _unique_ids(cls, value: tuple[Dealer, ...]) -> tuple[Dealer, ...]:
        seen: set[str] = set()
        for dealer in value:
            if dealer.id in seen:
                raise ValueError(f"dealer id {dealer.id!r} appears twice")
            seen.add(dealer.id)
        if not value:
            raise ValueError("at least one [[dealers]] entry is needed")
        return value

    @property
    def dealer_ids(self) -> tuple[str, ...]:
        return tuple(dealer.id for dealer in self.dealers)

    def dealer(self, dealer_id: str) -> Dealer:
        for dealer in self.dealers:
            if dealer.id == dealer_id:
                return dealer
        raise KeyError(dealer_id)


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif not part.startswith(("function-", "lax-", "union[")) and part not in {"Window"}:
            text += f".{part}" if text else part
    return text or "(top level)"


def parse_config(data: dict[str, Any], origin: str = "blanco.toml") -> Config:
    try:
        return Config.model_validate(data, extra=EDGE)
    except ValidationError as error:
        lines = []
        for problem in error.errors():
            message = problem["msg"].removeprefix("Value error, ")
            lines.append(f"{origin}: {_location(problem['loc'])}: {message}")
        raise ConfigError("\n".join(dict.fromkeys(lines))) from None
