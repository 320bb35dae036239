"""What the results page shows, decided from the funnel and the perception audit: the label
of each group, the table's cells, the charts' rows and the audit's sentences, in the
dealer's locale. Pure: no database, no request."""

from __future__ import annotations

from dataclasses import dataclass

from api.inbox.charts import Chart, ChartRow, bar_chart, percent
from api.inbox.texts import Texts
from api.inbox.views import person_name
from leads.config import Dealer
from results.audit import AUDITED_STAGES, Audit, Comparison, Verdict
from results.reports import SMALL_GROUP, STAGES, Funnel, FunnelGroup

CHARTED_STAGES = ("contacted", "appointment", "won")  # the funnel's steps a manager steers by
# The grouping whose values are the engine's own, and the texts that name them.
LABEL_GROUPS = {"kind": "kind", "first_channel": "channel", "contact_quality": "quality"}


def value_label(grouping: str, value: str | None, dealer: Dealer, t: Texts) -> str:
    if value is None:
        return t("results.none")
    if grouping == "salesperson":
        return person_name(dealer, value)
    if grouping in LABEL_GROUPS:
        return t.label(LABEL_GROUPS[grouping], value)
    return value  # a source: the platform's own name


def group_label(group: FunnelGroup, dealer: Dealer, t: Texts) -> str:
    return " · ".join(value_label(name, value, dealer, t) for name, value in group.key.items())


@dataclass(frozen=True)
class Cell:
    count: int
    rate: str  # the share of the group's leads, `–` for none


@dataclass(frozen=True)
class TableRow:
    label: str
    leads: int
    cells: list[Cell]  # per stage, in STAGES order
    small: bool


def table_row(label: str, group: FunnelGroup) -> TableRow:
    cells = [Cell(getattr(group, stage), percent(group.rates[stage].rate)) for stage in STAGES]
    return TableRow(label=label, leads=group.leads, cells=cells, small=group.small)


@dataclass(frozen=True)
class FunnelView:
    rows: list[TableRow]
    total: TableRow
    charts: list[Chart]


def funnel_view(found: Funnel, dealer: Dealer, t: Texts) -> FunnelView:
    labelled = [(group_label(group, dealer, t), group) for group in found.groups]
    charts = [
        bar_chart(
            t("results.chart", stage=t(f"stage.{stage}")),
            [ChartRow(label, group.rates[stage], group.small) for label, group in labelled],
        )
        for stage in CHARTED_STAGES
    ]
    return FunnelView(
        rows=[table_row(label, group) for label, group in labelled],
        total=table_row(t("results.total"), found.total),
        charts=charts,
    )


@dataclass(frozen=True)
class StageView:
    chart: Chart
    verdict: str  # Verdict's value: the CSS class
    sentence: str


@dataclass(frozen=True)
class ComparisonView:
    title: str
    doubted: str
    trusted: str
    leads: str  # "80 against 60 leads"
    too_few: bool
    stages: list[StageView]


def sentence(comparison: Comparison, stage: str, t: Texts) -> str:
    found = comparison.verdicts[stage]
    if found is Verdict.TOO_FEW:
        doubted, trusted = comparison.doubted.leads, comparison.trusted.leads
        return t("audit.too_few", n=doubted, m=trusted, least=SMALL_GROUP)
    this = t("audit.this_source" if comparison.question.grouping == "source" else "audit.this")
    return t(f"audit.{stage}.{found.value}", this=this)


def comparison_view(
    comparison: Comparison, title: str, doubted: str, trusted: str, t: Texts
) -> ComparisonView:
    stages = []
    for stage in AUDITED_STAGES:
        rows = [
            ChartRow(doubted, comparison.doubted.rates[stage], comparison.doubted.small),
            ChartRow(trusted, comparison.trusted.rates[stage], comparison.trusted.small),
        ]
        chart = bar_chart(t("results.chart", stage=t(f"stage.{stage}")), rows)
        found = comparison.verdicts[stage]
        stages.append(StageView(chart, found.value, sentence(comparison, stage, t)))
    return ComparisonView(
        title=title,
        doubted=doubted,
        trusted=trusted,
        leads=t("audit.leads", n=comparison.doubted.leads, m=comparison.trusted.leads),
        too_few=Verdict.TOO_FEW in comparison.verdicts.values(),
        stages=stages,
    )


def audit_view(found: Audit, t: Texts) -> list[ComparisonView]:
    views = [
        comparison_view(
            found.contact_quality,
            t("audit.contact_quality.title"),
            t("audit.contact_quality.doubted"),
            t("audit.contact_quality.trusted"),
            t,
        ),
        comparison_view(
            found.kind, t("audit.kind.title"), t("audit.kind.doubted"), t("audit.kind.trusted"), t
        ),
    ]
    for comparison in found.sources:
        source = next(iter(comparison.question.doubted))
        title = t("audit.source.title", source=source)
        views.append(comparison_view(comparison, title, source, t("audit.source.trusted"), t))
    return views
