"""The results page's pure decisions: the period of its form (defaults, the dealer's local
days across daylight saving time), the charts' geometry, and the audit's sentences in every
locale the inbox has."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from api.inbox.charts import WIDTH, ChartRow, bar_chart, interval
from api.inbox.forms import Invalid
from api.inbox.period import parse
from api.inbox.report_view import audit_view
from api.inbox.texts import TEXTS, Texts
from results.audit import audit
from results.reports import Rate, wilson
from tests.unit.test_audit import group

TODAY = date(2026, 3, 31)


def test_the_default_period_is_the_last_30_days_by_source() -> None:
    query = parse({}, TODAY)
    assert (query.first, query.last, query.by) == (date(2026, 3, 2), TODAY, ["source"])
    assert parse({"from": "", "to": " ", "by": ""}, TODAY) == query
    assert query.query_string() == "from=2026-03-02&to=2026-03-31&by=source"


def test_the_period_is_the_dealers_local_days_across_daylight_saving_time() -> None:
    start, end = parse({"from": "2026-03-29", "to": "2026-03-29"}, TODAY).bounds("Europe/Amsterdam")
    assert start == datetime(2026, 3, 28, 23, tzinfo=UTC)  # midnight CET
    assert end == datetime(2026, 3, 29, 22, tzinfo=UTC)  # the next midnight, CEST: 23 hours


@pytest.mark.parametrize(
    ("params", "what"),
    [
        ({"from": "31-03-2026"}, "invalid.period"),
        ({"from": "2026-04-01"}, "invalid.period_order"),  # after today, the default end
        ({"by": "score"}, "invalid.grouping"),
    ],
)
def test_bad_values_name_their_correction(params: dict[str, str], what: str) -> None:
    with pytest.raises(Invalid) as raised:
        parse(params, TODAY)
    assert raised.value.what == what and what in TEXTS


def test_a_bar_runs_to_the_rate_and_its_whisker_across_the_interval() -> None:
    rate = wilson(8, 40)
    chart = bar_chart("Won", [ChartRow("a" * 40, rate, small=False)])
    (bar,) = chart.bars
    assert bar.width == round(0.2 * WIDTH, 1)
    assert rate.low is not None and rate.high is not None
    assert (bar.low, bar.high) == (round(rate.low * WIDTH, 1), round(rate.high * WIDTH, 1))
    assert bar.low < bar.width < bar.high
    assert len(bar.label) == 30 and bar.label.endswith("…")  # SVG text does not wrap
    assert bar.value == "20% (10–35%)"
    assert interval(Rate(rate=None, low=None, high=None)) == "–"
    assert chart.height > chart.plot_bottom >= chart.bars[-1].y


@pytest.mark.parametrize(
    ("locale", "sentence"),
    [
        ("en", "No evidence that this kind converts worse."),
        ("nl", "Geen bewijs dat deze soort lead slechter converteert."),
    ],
)
def test_the_audits_sentences_exist_in_every_locale(locale: str, sentence: str) -> None:
    t = Texts("en" if locale == "en" else "nl")
    quality = [
        group("contact_quality", "complete", 60, won=12, contacted=30),
        group("contact_quality", "placeholder_phone", 40, won=8, contacted=20),
    ]
    sources = [group("source", "a", 40, 0, 0), group("source", "b", 60, 30, 30)]
    views = audit_view(audit(quality, [], sources), t)
    assert views[0].stages[0].sentence == sentence
    assert views[1].stages[0].verdict == "too_few"  # no kinds in this period
    assert [v.stages[0].verdict for v in views[2:]] == ["better", "worse"]
    for view in views:
        for stage in view.stages:
            assert "{" not in stage.sentence and stage.sentence
