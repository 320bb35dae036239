"""The manager's results page and its CSV export over real HTTP (uvicorn on 127.0.0.1), with a
real SQLite results store holding a generated month (tests/results_month.py) written through
`ResultsStore.record_conversation`, and the dev server and a worker for the sessions:

the funnel's numbers and the perception audit's sentences (rule 8), managers only (a
salesperson gets the readable 403 page), another dealer's rows never counted, the period
and grouping chosen with the GET form, the CSV export, and bad values answered on the page
with what to correct, never a 500."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from api.inbox.rendering import CSP
from results.reports import wilson
from tests.api.conftest import TOKENS
from tests.ports import free_port
from tests.results_month import (
    BY_QUALITY,
    BY_SOURCE,
    CONTACTED,
    LEADS,
    OLD_WEBSITE_LEADS,
    OTHER_SOURCE,
    WON,
    served_month,
)

PUBLIC_BASE = "http://blanco.test"  # plain HTTP like the server: the cookies are not Secure
HIDDEN_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
NO_EVIDENCE_WON = "Geen bewijs dat deze soort lead slechter converteert."
NO_EVIDENCE_CONTACTED = "Geen bewijs dat deze soort lead minder vaak antwoordt."


@dataclass
class Served:
    url: str

    @asynccontextmanager
    async def signed_in(self, who: str) -> AsyncIterator[httpx.AsyncClient]:
        """A browser of its own, signed in with the Bearer token fallback."""
        async with httpx.AsyncClient(base_url=self.url, timeout=15.0) as http:
            form = await http.get("/inbox/sign-in")
            found = HIDDEN_CSRF.search(form.text)
            assert found, form.text
            data = {"token": TOKENS[who], "csrf": found.group(1)}
            signed = await http.post("/inbox/sign-in/token", data=data)
            assert signed.status_code == 303, signed.text
            yield http


@pytest.fixture(scope="module")
async def served(
    dev_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Served]:
    folder = tmp_path_factory.mktemp("inbox-results")
    async with served_month(dev_env, folder, PUBLIC_BASE) as url:
        yield Served(url)


def assert_page(response: httpx.Response, status: int, *words: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-security-policy"] == CSP
    for word in words:
        assert word in response.text, f"{word!r} not on the page"
    assert "Traceback" not in response.text
    return response.text


def row_of(html: str, label: str) -> list[tuple[str, str]]:
    """The funnel table's row of one group: its cells' numbers (count, then share)."""
    found = re.search(rf"<tr[^>]*>\s*<th scope=\"row\">{re.escape(label)}.*?</tr>", html, re.S)
    assert found, f"no row {label!r}"
    cells: list[tuple[str, str]] = re.findall(
        r"<td>(\d+)(?: <span class=\"share\">([^<]*)</span>)?</td>", found.group(0)
    )
    return cells


def section(html: str, name: str) -> str:
    found = re.search(rf'<section id="{name}".*?</section>', html, re.S)
    assert found, name
    return found.group(0)


def comparison(html: str, title_start: str) -> str:
    found = re.search(rf"<article[^>]*>\s*<h3>{re.escape(title_start)}.*?</article>", html, re.S)
    assert found, title_start
    return found.group(0)


def days_ago(days: int) -> str:
    return (datetime.now(AMSTERDAM) - timedelta(days=days)).date().isoformat()


# --- the page ------------------------------------------------------------------------------


async def test_the_manager_sees_the_funnel_by_source_over_the_last_30_days(
    served: Served,
) -> None:
    async with served.signed_in("marieke") as marieke:
        html = assert_page(await marieke.get("/inbox/results"), 200, "Resultaten")
    today = datetime.now(AMSTERDAM).date()
    assert f'name="from" id="from" value="{today - timedelta(days=29)}"' in html
    assert f'name="to" id="to" value="{today}"' in html
    assert f"{LEADS} leads binnengekomen" in html
    funnel = section(html, "funnel")
    for source, (leads, contacted, won) in BY_SOURCE.items():
        cells = row_of(funnel, source)
        assert cells[0] == (str(leads), "")
        assert cells[1][0] == str(contacted) and cells[4][0] == str(won)
        assert cells[4][1] == f"{round(won / leads * 100)}%"
    total = re.search(r"<tfoot>.*?</tfoot>", funnel, re.S)
    assert total is not None
    assert re.findall(r"<td>(\d+)", total.group(0))[:5] == [
        str(n) for n in (LEADS, CONTACTED, WON, WON, WON)
    ]
    # the small group is marked, and the charts are SVG with whiskers, no script
    assert re.search(r"autotrader<span class=\"small-mark\">te weinig om te vergelijken", funnel)
    assert funnel.count("<svg") == 3 and 'class="whisker"' in funnel
    assert "<script" not in funnel


async def test_the_audit_says_no_evidence_where_intervals_overlap(served: Served) -> None:
    async with served.signed_in("marieke") as marieke:
        html = assert_page(await marieke.get("/inbox/results"), 200)
    audit = section(html, "audit")
    quality = comparison(audit, "Nummer als 0000000000 of geen telefoon")
    assert "80 tegenover 60 leads" in quality
    assert NO_EVIDENCE_WON in quality and NO_EVIDENCE_CONTACTED in quality
    # pooled: 15 of 80 won against 12 of 60, each with its Wilson interval
    low, high = wilson(15, 80).low, wilson(15, 80).high
    assert low is not None and high is not None
    assert f"19% ({round(low * 100)}–{round(high * 100)}%)" in quality
    kind = comparison(audit, "Brochureaanvragen en lage biedingen")
    assert "62 tegenover 72 leads" in kind and NO_EVIDENCE_WON in kind
    # each source against all others: worse only where the intervals are apart
    autoscout = comparison(audit, "autoscout24 tegenover alle andere bronnen")
    assert "Minder vaak verkocht, buiten het toeval" in autoscout
    assert "Kijk naar hoe deze leads opgevolgd worden" in autoscout
    marktplaats = comparison(audit, "marktplaats tegenover alle andere bronnen")
    assert "Geen bewijs dat deze bron slechter converteert." in marktplaats
    autotrader = comparison(audit, "autotrader tegenover alle andere bronnen")
    assert "Te weinig leads om te vergelijken (10 tegenover 130" in autotrader
    assert audit.index("marktplaats tegenover") < audit.index("autotrader tegenover")


async def test_the_grouping_and_period_come_from_the_form(served: Served) -> None:
    async with served.signed_in("marieke") as marieke:
        by_quality = await marieke.get("/inbox/results", params={"by": "contact_quality"})
        html = assert_page(by_quality, 200, "Funnel per contactgegevens")
        labels = {
            "complete": "compleet",
            "placeholder_phone": "nummer als 0000000000",
            "email_only": "alleen e-mail",
            "no_channel": "geen kanaal",
        }
        for quality, (leads, contacted, won) in BY_QUALITY.items():
            cells = row_of(section(html, "funnel"), labels[quality])
            assert (cells[0][0], cells[1][0], cells[4][0]) == (str(leads), str(contacted), str(won))
        assert '<option value="contact_quality" selected>' in html
        # 50 days back takes in the older website leads
        longer = await marieke.get("/inbox/results", params={"from": days_ago(50), "to": ""})
        html = assert_page(longer, 200, f"{LEADS + OLD_WEBSITE_LEADS} leads binnengekomen")
        assert row_of(section(html, "funnel"), "website")[0][0] == str(36 + OLD_WEBSITE_LEADS)
        # two groupings at once
        both = await marieke.get("/inbox/results", params={"by": "source,kind"})
        assert row_of(section(assert_page(both, 200), "funnel"), "autoscout24 · bod")[0][0] == "15"
        # an empty period
        empty = await marieke.get(
            "/inbox/results", params={"from": "2020-01-01", "to": "2020-01-31"}
        )
        assert_page(empty, 200, "Geen leads in deze periode.", "0 leads binnengekomen")


async def test_another_dealers_rows_are_never_counted(served: Served) -> None:
    async with served.signed_in("marieke") as marieke:
        for by in ("source", "kind", "contact_quality"):
            html = assert_page(await marieke.get("/inbox/results", params={"by": by}), 200)
            assert OTHER_SOURCE not in html and f"{LEADS} leads binnengekomen" in html
        exported = await marieke.get("/inbox/results.csv")
    assert OTHER_SOURCE not in exported.text


async def test_only_managers_see_results(served: Served) -> None:
    async with served.signed_in("jan") as jan:
        for path in ("/inbox/results", "/inbox/results.csv"):
            refused = await jan.get(path)
            text = assert_page(refused, 403, "Alleen een manager kan dit.")
            assert "marktplaats" not in text
        tasks = assert_page(await jan.get("/inbox/tasks"), 200)
        assert 'href="/inbox/results"' not in tasks
    async with served.signed_in("marieke") as marieke:
        tasks = assert_page(await marieke.get("/inbox/tasks"), 200)
        assert 'href="/inbox/results"' in tasks
    async with httpx.AsyncClient(base_url=served.url) as stranger:
        response = await stranger.get("/inbox/results")
        assert response.status_code == 303 and response.headers["location"] == "/inbox/sign-in"


# --- the CSV export ------------------------------------------------------------------------


async def test_the_csv_export_has_the_funnel_one_row_per_group(served: Served) -> None:
    async with served.signed_in("marieke") as marieke:
        page = await marieke.get("/inbox/results", params={"by": "source"})
        link = re.search(r'id="csv" href="([^"]+)"', page.text)
        assert link is not None
        response = await marieke.get(link.group(1).replace("&amp;", "&"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    assert "funnel-autohuis-test-" in response.headers["content-disposition"]
    # The same CSV as GET /v1/reports/funnel's: one row per group, then the total.
    *rows, total = list(csv.DictReader(io.StringIO(response.text)))
    assert {row["source"] for row in rows} == set(BY_SOURCE)
    assert total["source"] == "all"
    assert int(total["leads"]) == sum(leads for leads, _, _ in BY_SOURCE.values())
    for row in rows:
        leads, contacted, won = BY_SOURCE[row["source"]]
        assert (int(row["leads"]), int(row["contacted"]), int(row["won"])) == (
            leads,
            contacted,
            won,
        )
        expected = wilson(won, leads)
        assert float(row["won_rate"]) == pytest.approx(expected.rate, abs=1e-4)
        assert float(row["won_low"]) == pytest.approx(expected.low, abs=1e-4)
        assert float(row["won_high"]) == pytest.approx(expected.high, abs=1e-4)
        assert row["small"] == ("true" if leads < 30 else "false")
    assert list(rows[0])[:3] == ["source", "leads", "contacted"]


# --- bad input -----------------------------------------------------------------------------

BAD = [
    ({"from": "2026-13-01"}, "vul de datums in als JJJJ-MM-DD"),
    ({"from": "gisteren"}, "vul de datums in als JJJJ-MM-DD"),
    ({"from": "2026-03-10", "to": "2026-03-01"}, "de begindatum ligt na de einddatum"),
    ({"from": "2020-01-01", "to": "2026-01-01"}, "kies een periode van hoogstens twee jaar"),
    ({"by": "lead_score"}, "kies een indeling uit de lijst"),
    ({"by": "source,source"}, "kies een indeling uit de lijst"),
    ({"by": "source,kind,first_channel"}, "kies een indeling uit de lijst"),
    ({"by": "x" * 500}, "kies een indeling uit de lijst"),
    ({"to": "9" * 500}, "vul de datums in als JJJJ-MM-DD"),
]


@pytest.mark.parametrize(("params", "correction"), BAD)
async def test_bad_values_are_a_readable_correction_never_a_500(
    served: Served, params: dict[str, str], correction: str
) -> None:
    async with served.signed_in("marieke") as marieke:
        page = await marieke.get("/inbox/results", params=params)
        html = assert_page(page, 422, "Dit klopt nog niet", correction, 'action="/inbox/results"')
        assert 'id="funnel"' not in html  # no figures for a question that was not asked
        exported = await marieke.get("/inbox/results.csv", params=params)
        assert_page(exported, 422, correction)


async def test_an_unreachable_store_is_a_readable_503_page(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    # A PostgreSQL URL where nothing listens: connecting is refused at once.
    down = f"postgresql://blanco@127.0.0.1:{free_port()}/blanco"
    async with (
        served_month(dev_env, tmp_path, PUBLIC_BASE, store_url=down) as url,
        Served(url).signed_in("marieke") as marieke,
    ):
        for path in ("/inbox/results", "/inbox/results.csv"):
            page = await marieke.get(path)
            assert_page(page, 503, "Blanco is even niet bereikbaar")
