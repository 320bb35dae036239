"""The reports API over HTTP through the app (httpx into the ASGI app, no Temporal: the
reports read only the results store), on a real SQLite file holding the generated data set
of tests/results/dataset.py: the JSON of docs/reports.md, the CSV, managers only (a
salesperson 403, no credentials 401), the caller's dealer only, every bad query a 422
`invalid_query` naming the parameter, and an unreachable store a 503."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from api.app import create_app
from results.reports import STAGES, parse_funnel_csv
from results.store import ResultsStore
from tests.api.conftest import TOKENS, SendGridKeys, api_config, assert_error, inbound_secrets
from tests.ports import free_port
from tests.results import dataset

AMSTERDAM = ZoneInfo("Europe/Amsterdam")  # the test dealer's zone
# The data set five days ago (on the hour): inside the default period of the last 30 days,
# with its old rows 40 days before that, outside it.
BASE = (datetime.now(UTC) - timedelta(days=5)).replace(minute=0, second=0, microsecond=0)
FIRST_DAY = (BASE.astimezone(AMSTERDAM) - timedelta(days=1)).date().isoformat()
LAST_DAY = (BASE.astimezone(AMSTERDAM) + timedelta(days=4)).date().isoformat()
PERIOD = {"from": FIRST_DAY, "to": LAST_DAY}


def bearer(who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[who]}"}


MANAGER = bearer("marieke")


@dataclass
class Reports:
    http: httpx.AsyncClient

    async def get(
        self, path: str, params: httpx.QueryParams | dict[str, str] | None = None, **kw: str
    ) -> httpx.Response:
        headers = {**MANAGER, **{k.replace("_", "-"): v for k, v in kw.items()}}
        return await self.http.get(f"/v1/reports/{path}", params=params, headers=headers)


def app_over(store: ResultsStore, folder: Path) -> httpx.AsyncClient:
    app = create_app(
        api_config("reports-unused"),
        client=None,
        secrets=inbound_secrets(SendGridKeys()),
        results=store,
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api.test")


@pytest.fixture(scope="module")
async def reports(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Reports]:
    folder = tmp_path_factory.mktemp("reports")
    store = ResultsStore(f"sqlite:///{folder / 'results.db'}")
    dataset.record(store, BASE)
    async with app_over(store, folder) as http:
        yield Reports(http)
    store.close()


def counts(group: dict[str, object]) -> tuple[object, ...]:
    return (group["leads"], *(group[stage] for stage in STAGES))


GROUP_FIELDS = {"key", "leads", *STAGES, "rates", "small"}


async def test_the_funnel_answers_the_json_of_the_design(reports: Reports) -> None:
    response = await reports.get("funnel", {**PERIOD, "by": "source"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"from", "to", "by", "groups", "total"}
    assert body["by"] == ["source"]
    # The dealer's local days: from the first's midnight to the one after the last.
    assert body["from"] == f"{FIRST_DAY}T00:00:00{_offset(FIRST_DAY)}"
    next_day = (datetime.fromisoformat(LAST_DAY) + timedelta(days=1)).date().isoformat()
    assert body["to"] == f"{next_day}T00:00:00{_offset(next_day)}"
    for group in [*body["groups"], body["total"]]:
        assert set(group) == GROUP_FIELDS
        assert set(group["rates"]) == set(STAGES)
        for rate in group["rates"].values():
            assert set(rate) == {"rate", "low", "high"}
            assert rate["low"] <= rate["rate"] <= rate["high"]
    found = {group["key"]["source"]: counts(group) for group in body["groups"]}
    assert found == dataset.BY_SOURCE  # another dealer's rows and older ones: not counted
    assert counts(body["total"]) == dataset.TOTAL
    assert body["total"]["key"] == {"source": None}
    small = {group["key"]["source"]: group["small"] for group in body["groups"]}
    assert small == {"website": True, "marktplaats": False, "autoscout24": True}


def _offset(day: str) -> str:
    at = datetime.fromisoformat(day).replace(tzinfo=AMSTERDAM)
    return at.isoformat()[-6:]


@pytest.mark.parametrize(
    "params",
    [
        [("by", "source,kind")],
        [("by", "source"), ("by", "kind")],
        [("by", " source , kind ")],
    ],
    ids=["comma-separated", "repeated", "spaced"],
)
async def test_two_groupings_comma_separated_or_repeated(
    reports: Reports, params: list[tuple[str, str]]
) -> None:
    response = await reports.get("funnel", httpx.QueryParams([*PERIOD.items(), *params]))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["by"] == ["source", "kind"]
    found = {(g["key"]["source"], g["key"]["kind"]): counts(g) for g in body["groups"]}
    assert found == dataset.BY_SOURCE_AND_KIND


async def test_the_defaults_are_the_last_30_days_by_source(reports: Reports) -> None:
    response = await reports.get("funnel")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["by"] == ["source"]
    start, end = datetime.fromisoformat(body["from"]), datetime.fromisoformat(body["to"])
    today = datetime.now(AMSTERDAM).date()
    assert end.date() == today + timedelta(days=1) and (end.hour, end.minute) == (0, 0)
    assert start.date() == today - timedelta(days=29)
    assert counts(body["total"]) == dataset.TOTAL  # the old rows are 40 days before BASE


async def test_the_funnel_as_csv_is_the_same_funnel(reports: Reports) -> None:
    by = {"by": "salesperson"}
    as_json = (await reports.get("funnel", {**PERIOD, **by})).json()
    response = await reports.get("funnel", {**PERIOD, **by}, accept="text/csv")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].startswith("attachment; filename=")
    names, groups, total = parse_funnel_csv(response.text)
    assert names == ["salesperson"]
    assert [g.model_dump() for g in groups] == as_json["groups"]
    assert total.model_dump() == as_json["total"]
    assert response.text.splitlines()[-1].startswith("all,65,34,")


@pytest.mark.parametrize(
    ("accept", "csv"),
    [
        ("text/csv", True),
        ("text/csv, application/json;q=0.5", True),
        ("application/json, text/csv;q=0.9", False),
        ("text/csv;q=0", False),
        ("*/*", False),
        ("application/json", False),
    ],
)
async def test_accept_chooses_csv_only_when_preferred(
    reports: Reports, accept: str, csv: bool
) -> None:
    response = await reports.get("funnel", PERIOD, accept=accept)
    assert response.status_code == 200, response.text
    kind = "text/csv" if csv else "application/json"
    assert response.headers["content-type"].startswith(kind)


async def test_speed_answers_percentiles_per_salesperson_and_chased_tasks(
    reports: Reports,
) -> None:
    response = await reports.get("speed", PERIOD)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"from", "to", "first_answer", "salespeople", "tasks"}
    first = body["first_answer"]
    assert (first["count"], first["p50"], first["p90"]) == dataset.FIRST_ANSWER
    people = {p["salesperson"]: p for p in body["salespeople"]}
    for who, (n, p50, p90) in dataset.REPLY_TO_CLAIM.items():
        assert people[who]["reply_to_claim"] == {"count": n, "p50": p50, "p90": p90}
    for who, (n, p50, p90) in dataset.REPLY_TO_MESSAGE.items():
        assert people[who]["reply_to_first_message"] == {"count": n, "p50": p50, "p90": p90}
    assert body["tasks"] == {
        "tasks": dataset.TASKS,
        "reminded": dataset.REMINDED,
        "reminded_share": dataset.REMINDED / dataset.TASKS,
        "escalated": dataset.ESCALATED,
        "escalated_share": dataset.ESCALATED / dataset.TASKS,
    }
    assert "piet" not in people  # the other dealer's salesperson


@pytest.mark.parametrize("path", ["funnel", "speed"])
async def test_a_salesperson_is_refused(reports: Reports, path: str) -> None:
    for who in ("jan", "piet"):  # this dealer's and another's
        response = await reports.http.get(f"/v1/reports/{path}", headers=bearer(who))
        assert_error(response, 403, "forbidden")


@pytest.mark.parametrize("path", ["funnel", "speed"])
@pytest.mark.parametrize("authorization", [None, "Bearer not-a-token", "Basic bWFyaWVrZQ=="])
async def test_without_a_managers_token_it_is_401(
    reports: Reports, path: str, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = await reports.http.get(f"/v1/reports/{path}", headers=headers)
    assert_error(response, 401, "unauthorized")


async def test_a_dealer_in_the_query_changes_nothing(reports: Reports) -> None:
    """The dealer is the caller's: no parameter names another."""
    params = {**PERIOD, "dealer": dataset.OTHER_DEALER, "dealer_id": dataset.OTHER_DEALER}
    body = (await reports.get("funnel", params)).json()
    assert dataset.OTHER_SOURCE not in {g["key"]["source"] for g in body["groups"]}
    assert counts(body["total"]) == dataset.TOTAL


BAD_QUERIES = [
    ({"by": "name"}, "by: unknown grouping 'name'"),
    ({"by": "source,kind,salesperson"}, "by: group by one or two"),
    ({"by": "kind,kind"}, "by: group by one or two"),
    ({"by": ""}, "by: empty"),
    ({"by": "source,"}, "by: empty"),
    ({"by": "x" * 500}, "by: longer than"),
    ({"from": "yesterday"}, "from: not a date"),
    ({"to": "2026-13-01"}, "to: not a date"),
    ({"from": ""}, "from: empty"),
    ({"from": "2026-03-10", "to": "2026-03-01"}, "from: must come before to"),
    ({"from": "2026-03-10T10:00:00Z", "to": "2026-03-10T10:00:00Z"}, "from: must come"),
    ({"from": "2020-01-01", "to": "2026-01-01"}, "to: at most 731 days"),
    ({"from": "9999-12-31", "to": "9999-12-31"}, "from, to: a time out of range"),
    ({"from": "0001-01-01T00:00:00"}, "out of range"),
]


@pytest.mark.parametrize(("params", "named"), BAD_QUERIES)
async def test_a_bad_query_is_a_422_naming_the_problem(
    reports: Reports, params: dict[str, str], named: str
) -> None:
    paths = ["funnel"] if "by" in params else ["funnel", "speed"]
    for path in paths:
        body = assert_error(await reports.get(path, params), 422, "invalid_query")
        assert named in body["error"]["message"], body


@pytest.mark.parametrize(
    ("params", "total"),
    [
        # an unencoded `+` of an offset arrives as a space, and is read as the `+` it was
        ({"from": f"{FIRST_DAY}T00:00:00 01:00", "to": f"{LAST_DAY}T23:00:00Z"}, 65),
        # `from` included, `to` not: one arrival an hour from BASE on
        ({"from": BASE.isoformat(), "to": (BASE + timedelta(hours=1)).isoformat()}, 1),
        # a time without an offset is the dealer's local time: BASE on, to the end of today
        ({"from": BASE.astimezone(AMSTERDAM).replace(tzinfo=None).isoformat()}, 65),
    ],
    ids=["spaced-offset", "one-hour", "local-time"],
)
async def test_times_bound_the_period_to_the_instant(
    reports: Reports, params: dict[str, str], total: int
) -> None:
    response = await reports.get("funnel", params)
    assert response.status_code == 200, response.text
    assert response.json()["total"]["leads"] == total


async def test_an_unreachable_store_is_503(tmp_path: Path) -> None:
    # A PostgreSQL URL where nothing listens: connecting is refused at once.
    store = ResultsStore(f"postgresql://blanco@127.0.0.1:{free_port()}/blanco")
    async with app_over(store, tmp_path) as http:
        for path in ("funnel", "speed"):
            response = await http.get(f"/v1/reports/{path}", headers=MANAGER)
            assert_error(response, 503, "results_unavailable")
    store.close()
