"""leads.config: blanco.toml → validated settings. A bad file stops start-up with a
ConfigError whose message names the key and the problem (docs/operating.md)."""

from __future__ import annotations

from datetime import time, timedelta
from pathlib import Path
from typing import Any

import pytest

from config_file import load_config
from leads.config import Config, ConfigError, parse_config, parse_days, parse_duration

ROOT = Path(__file__).resolve().parents[2]
MON, TUE, WED, THU, FRI, SAT, SUN = range(7)
HOURS, DAYS = timedelta(hours=1), timedelta(days=1)
DEFAULT_CADENCE = (0 * DAYS, 4 * HOURS, DAYS, 2 * DAYS, 4 * DAYS, 7 * DAYS, 10 * DAYS, 14 * DAYS)


def dealer(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "autohuis-test",
        "name": "Autohuis Test",
        "webhook_secret": "whsec_dGVzdC1zZWNyZXQ=",
        "email_from": "verkoop@autohuis-test.nl",
    }
    data.update(overrides)
    return data


def config(**overrides: Any) -> Config:
    return parse_config({"dealers": [dealer(**overrides)]})


def error_of(data: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as raised:
        parse_config(data)
    return str(raised.value)


# --- the shipped file -----------------------------------------------------------------------


def test_blanco_toml_loads() -> None:
    loaded = load_config(ROOT / "blanco.toml")
    assert loaded.temporal.task_queue == "leads"
    west = loaded.dealer("autohuis-west")
    assert west.timezone == "Europe/Amsterdam"
    assert west.cadence == DEFAULT_CADENCE
    assert west.grace == timedelta(days=2)
    assert west.contact_window is not None
    assert west.contact_window.start == time(8)
    assert west.contact_window.end == time(21)
    assert west.contact_window.days == frozenset({MON, TUE, WED, THU, FRI, SAT})
    assert west.contact_window.holidays == "NL"
    assert [p.role for p in west.salespeople] == ["sales", "manager"]
    plan = west.plan()
    assert plan.has_email and plan.has_sms and plan.has_whatsapp
    assert len(plan.cadence) == 8


def test_blanco_toml_is_read_from_blanco_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BLANCO_CONFIG", str(ROOT / "blanco.toml"))
    assert load_config().dealers[0].id == "autohuis-west"


def test_defaults_match_the_design() -> None:
    loaded = config().dealers[0]
    assert loaded.cadence == DEFAULT_CADENCE
    assert loaded.calls == "when_preferred"
    assert loaded.remind_after == timedelta(minutes=10)
    assert loaded.escalate_after == timedelta(minutes=30)
    assert loaded.business_hours is not None
    assert (loaded.business_hours.start, loaded.business_hours.end) == (time(8, 30), time(18))


# --- durations ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("30s", timedelta(seconds=30), id="30s"),
        pytest.param("10m", timedelta(minutes=10), id="10m"),
        pytest.param("4h", timedelta(hours=4), id="4h"),
        pytest.param("2d", timedelta(days=2), id="2d"),
        pytest.param("1w", timedelta(weeks=1), id="1w"),
        pytest.param("0s", timedelta(0), id="0s"),
        pytest.param(" 4h ", timedelta(hours=4), id="padded"),
        pytest.param("PT4H", timedelta(hours=4), id="PT4H"),
        pytest.param("P2D", timedelta(days=2), id="P2D"),
        pytest.param("PT30M", timedelta(minutes=30), id="PT30M"),
        pytest.param("P1DT12H", timedelta(days=1, hours=12), id="P1DT12H"),
    ],
)
def test_duration_parses(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected
    assert config(grace=text).dealers[0].grace == expected


@pytest.mark.parametrize(
    ("override", "key", "value"),
    [
        pytest.param({"cadence": ["0s", "4h", "4x"]}, "dealers[0].cadence[2]", "'4x'", id="4x"),
        pytest.param({"cadence": ["0s", "1.5h"]}, "dealers[0].cadence[1]", "'1.5h'", id="fraction"),
        pytest.param({"grace": "soon"}, "dealers[0].grace", "'soon'", id="word"),
        pytest.param({"grace": ""}, "dealers[0].grace", "''", id="empty"),
        pytest.param({"grace": "P-1D"}, "dealers[0].grace", "'P-1D'", id="negative-iso"),
        pytest.param({"remind_after": 600}, "dealers[0].remind_after", "600", id="bare-number"),
        pytest.param(
            {"escalate_after": "30 min"}, "dealers[0].escalate_after", "'30 min'", id="min"
        ),
    ],
)
def test_bad_duration_names_the_key(override: dict[str, Any], key: str, value: str) -> None:
    message = error_of({"dealers": [dealer(**override)]})
    assert message.startswith(f"blanco.toml: {key}: {value} is not a duration")
    assert "not a duration" in message


# --- days and windows -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("mon-sat", {MON, TUE, WED, THU, FRI, SAT}, id="mon-sat"),
        pytest.param("mon-fri", {MON, TUE, WED, THU, FRI}, id="mon-fri"),
        pytest.param("mon,wed,fri", {MON, WED, FRI}, id="list"),
        pytest.param("fri-mon", {FRI, SAT, SUN, MON}, id="range-wraps"),
        pytest.param("mon-fri,sun", {MON, TUE, WED, THU, FRI, SUN}, id="range-and-day"),
        pytest.param("sun", {SUN}, id="one-day"),
        pytest.param("Mon - Sun", set(range(7)), id="case-and-spaces"),
    ],
)
def test_days_parse(text: str, expected: set[int]) -> None:
    assert parse_days(text) == frozenset(expected)
    window = {"start": "08:00", "end": "21:00", "days": text}
    parsed = config(contact_window=window).dealers[0].contact_window
    assert parsed is not None
    assert parsed.days == frozenset(expected)


@pytest.mark.parametrize("key", ["contact_window", "business_hours"])
def test_always_switches_a_window_off(key: str) -> None:
    loaded = config(**{key: "always"}).dealers[0]
    assert getattr(loaded, key) is None
    assert getattr(loaded.plan(), key) is None


@pytest.mark.parametrize(
    ("window", "key", "problem"),
    [
        pytest.param(
            {"start": "08:00", "end": "21:00", "days": "mon-xyz"},
            "dealers[0].contact_window.days",
            "'mon-xyz' is not a day",
            id="bad-day",
        ),
        pytest.param(
            {"start": "08:00", "end": "21:00", "days": ""},
            "dealers[0].contact_window.days",
            "is not a list of days",
            id="no-days",
        ),
        pytest.param(
            {"start": "21:00", "end": "08:00"},
            "dealers[0].contact_window",
            "start 21:00 must be before end 08:00",
            id="start-after-end",
        ),
        pytest.param(
            {"start": "08:00", "end": "21:00", "holidays": "XX"},
            "dealers[0].contact_window.holidays",
            "'XX' is not a country",
            id="unknown-holidays",
        ),
        pytest.param(
            {"start": "08:00", "end": "21:00", "holidays": "NL", "holiday_dates": ["2027-01-04"]},
            "dealers[0]",
            "contact_window.holiday_dates comes from `holidays`, not the file",
            id="holiday-dates-in-the-file",
        ),
        pytest.param(
            {"start": "08:00", "end": "21:00", "colour": "red"},
            "dealers[0].contact_window.colour",
            "Extra inputs are not permitted",
            id="unknown-key",
        ),
        pytest.param(
            "sometimes",
            "dealers[0].contact_window",
            "valid dictionary",
            id="not-always",
        ),
    ],
)
def test_bad_window_names_the_key(window: Any, key: str, problem: str) -> None:
    message = error_of({"dealers": [dealer(contact_window=window)]})
    assert f"blanco.toml: {key}: " in message
    assert problem in message


# --- the rest of the dealer -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "key", "problem"),
    [
        pytest.param(
            {"dealers": [dealer(timezone="Europe/Amsterdan")]},
            "dealers[0].timezone",
            "'Europe/Amsterdan' is not an IANA time zone",
            id="bad-timezone",
        ),
        pytest.param(
            {"dealers": [dealer(cadence=["1h", "4h"])]},
            "dealers[0].cadence",
            "the first touch must be 0s",
            id="cadence-not-starting-at-0s",
        ),
        pytest.param(
            {"dealers": [dealer(cadence=["0s", "1d", "4h"])]},
            "dealers[0].cadence",
            "strictly ascending",
            id="cadence-descending",
        ),
        pytest.param(
            {"dealers": [dealer(cadence=["0s", "1d", "24h"])]},
            "dealers[0].cadence",
            "strictly ascending",
            id="cadence-repeated",
        ),
        pytest.param(
            {"dealers": [dealer(cadence=[])]},
            "dealers[0].cadence",
            "at least one touch",
            id="cadence-empty",
        ),
        pytest.param(
            {"dealers": [dealer(remind_after="30m", escalate_after="30m")]},
            "dealers[0]",
            "escalate_after must be longer than remind_after",
            id="escalate-equals-remind",
        ),
        pytest.param(
            {"dealers": [dealer(remind_after="1h", escalate_after="30m")]},
            "dealers[0]",
            "escalate_after must be longer than remind_after",
            id="escalate-before-remind",
        ),
        pytest.param(
            {"dealers": [dealer(colour="red")]},
            "dealers[0].colour",
            "Extra inputs are not permitted",
            id="unknown-dealer-key",
        ),
        pytest.param(
            {"dealers": [dealer(salespeople=[{"id": "jan", "name": "Jan", "mobile": "06"}])]},
            "dealers[0].salespeople[0].mobile",
            "Extra inputs are not permitted",
            id="unknown-salesperson-key",
        ),
        pytest.param(
            {"temporal": {"task_queue": "leads", "queue": "x"}, "dealers": [dealer()]},
            "temporal.queue",
            "Extra inputs are not permitted",
            id="unknown-temporal-key",
        ),
        pytest.param(
            {"dealer": [dealer()], "dealers": [dealer()]},
            "dealer",
            "Extra inputs are not permitted",
            id="unknown-top-level-key",
        ),
        pytest.param(
            {"dealers": [dealer(), dealer(name="Other")]},
            "dealers",
            "dealer id 'autohuis-test' appears twice",
            id="duplicate-dealer-ids",
        ),
        pytest.param({"dealers": []}, "dealers", "at least one [[dealers]]", id="no-dealers"),
        pytest.param({}, "dealers", "Field required", id="dealers-missing"),
        pytest.param(
            {"dealers": [dealer(id="Autohuis West")]},
            "dealers[0].id",
            "pattern",
            id="bad-dealer-id",
        ),
        pytest.param(
            {"dealers": [dealer(calls="sometimes")]},
            "dealers[0].calls",
            "'when_preferred', 'alternate' or 'never'",
            id="bad-calls-policy",
        ),
        pytest.param(
            {"dealers": [dealer(whatsapp_templates={"second": "HX1"})]},
            "dealers[0].whatsapp_templates",
            "unknown stages ['second']",
            id="bad-whatsapp-stage",
        ),
        pytest.param(
            {"dealers": [dealer(webhook_secret="short")]},
            "dealers[0].webhook_secret",
            "at least 8 characters",
            id="short-webhook-secret",
        ),
    ],
)
def test_bad_config_is_a_config_error_naming_the_key(
    data: dict[str, Any], key: str, problem: str
) -> None:
    message = error_of(data)
    assert f"blanco.toml: {key}: " in message
    assert problem in message


def test_every_problem_is_reported_each_on_its_own_line() -> None:
    message = error_of(
        {"dealers": [dealer(timezone="Nowhere/City", grace="soon", cadence=["0s", "4x"])]}
    )
    lines = message.splitlines()
    assert len(lines) == 3
    assert {line.split(": ")[1] for line in lines} == {
        "dealers[0].timezone",
        "dealers[0].grace",
        "dealers[0].cadence[1]",
    }


# --- reading the file -----------------------------------------------------------------------


def test_missing_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as raised:
        load_config(missing)
    assert str(raised.value) == f"{missing}: no such file (set BLANCO_CONFIG)"


def test_invalid_toml_is_named(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text('[[dealers]]\nid = "autohuis-test\n', encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_config(broken)
    assert str(raised.value).startswith(f"{broken}: not valid TOML: ")
    assert "line 2" in str(raised.value)


def test_errors_in_a_file_name_the_file_and_the_key(tmp_path: Path) -> None:
    path = tmp_path / "blanco.toml"
    path.write_text(
        '[[dealers]]\nid = "autohuis-test"\nname = "T"\nwebhook_secret = "whsec_12345678"\n'
        'email_from = "a@b.nl"\ncadence = ["0s", "4h", "4x"]\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert str(raised.value) == (
        f"{path}: dealers[0].cadence[2]: '4x' is not a duration (use 30s, 10m, 4h, 2d or ISO 8601)"
    )
