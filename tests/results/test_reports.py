"""The funnel and speed reports on a generated data set with known answers
(tests/results/dataset.py), on SQLite and on PostgreSQL (skipped, with the reason, where
Debian's `postgresql` is not installed): exact counts and rates per grouping and for two,
the Wilson intervals against published reference values, the `small` flag, the CSV round
trip, and speed's percentiles and chased-task shares."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from results.reports import (
    SMALL_GROUP,
    STAGES,
    Funnel,
    FunnelGroup,
    funnel,
    funnel_csv,
    parse_funnel_csv,
    wilson,
)
from results.speed import Percentiles, nearest_rank, speed
from results.store import ResultsStore
from tests import postgres
from tests.results import dataset
from tests.results.conftest import NO_POSTGRES
from tests.results.dataset import DEALER, END, START, Block


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def filled(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ResultsStore]:
    """The data set, recorded once per module and database (the tests only read)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('reports') / 'results.db'}"
    else:
        if not postgres.available():
            pytest.skip(NO_POSTGRES)
        server: postgres.PostgresServer = request.getfixturevalue("postgres_server")
        url = server.create_database()
    store = ResultsStore(url)
    dataset.record(store)
    yield store
    store.close()


def counts(group: FunnelGroup) -> tuple[int, ...]:
    return (group.leads, *(getattr(group, stage) for stage in STAGES))


def by_key(found: Funnel) -> dict[object, tuple[int, ...]]:
    """Groups by their key's values (one grouping: the value; two: a tuple). The order of a
    None key differs between the databases, so groups are compared by key, not position."""

    def key(group: FunnelGroup) -> object:
        values = tuple(group.key[name] for name in found.by)
        return values[0] if len(values) == 1 else values

    return {key(group): counts(group) for group in found.groups}


GROUPINGS: list[tuple[list[str], Callable[[Block], object], dict[object, tuple[int, ...]]]] = [
    (["source"], lambda b: b.source, dataset.BY_SOURCE),
    (["salesperson"], lambda b: b.salesperson, dataset.BY_SALESPERSON),
    (["source", "kind"], lambda b: (b.source, b.kind), dataset.BY_SOURCE_AND_KIND),
    (["kind"], lambda b: b.kind, {}),
    (["first_channel"], lambda b: b.first_channel, {}),
    (["contact_quality"], lambda b: b.quality, {}),
    (["kind", "salesperson"], lambda b: (b.kind, b.salesperson), {}),
]


@pytest.mark.parametrize(
    ("by", "block_key", "by_hand"), GROUPINGS, ids=[",".join(g[0]) for g in GROUPINGS]
)
def test_the_funnel_counts_every_stage_of_each_group_exactly(
    filled: ResultsStore,
    by: list[str],
    block_key: Callable[[Block], object],
    by_hand: dict[object, tuple[int, ...]],
) -> None:
    found = funnel(filled, DEALER, START, END, by)
    assert found.by == by
    # The table's answers, derived in Python from the blocks, and where written out by hand
    # those too: another dealer's rows and the dealer's older ones are in neither.
    assert by_key(found) == dataset.expected(block_key)
    if by_hand:
        assert by_key(found) == by_hand
    assert counts(found.total) == dataset.TOTAL
    assert found.total.key == {name: None for name in by}


def test_rates_are_of_the_groups_leads_with_their_wilson_interval(filled: ResultsStore) -> None:
    found = funnel(filled, DEALER, START, END, ["source"])
    for group in [*found.groups, found.total]:
        for stage in STAGES:
            rate = group.rates[stage]
            assert rate == wilson(getattr(group, stage), group.leads)
            assert rate.rate == getattr(group, stage) / group.leads
    website = next(g for g in found.groups if g.key == {"source": "website"})
    assert website.rates["contacted"].rate == 1.0 and website.rates["contacted"].high == 1.0
    assert website.rates["won"].rate == pytest.approx(10 / 22)


def test_small_marks_groups_under_the_threshold(filled: ResultsStore) -> None:
    found = funnel(filled, DEALER, START, END, ["source"])
    small = {group.key["source"]: group.small for group in found.groups}
    assert SMALL_GROUP == 30
    assert small == {"website": True, "marktplaats": False, "autoscout24": True}
    assert found.total.small is False


def test_a_period_without_leads_has_no_groups_and_no_rates(filled: ResultsStore) -> None:
    found = funnel(filled, DEALER, END, END + (END - START), ["kind"])
    assert found.groups == []
    assert found.total.leads == 0 and found.total.small
    assert all(rate.rate is None and rate.low is None for rate in found.total.rates.values())


def test_another_dealers_rows_are_only_theirs(filled: ResultsStore) -> None:
    found = funnel(filled, dataset.OTHER_DEALER, START, END, ["source"])
    assert by_key(found) == {dataset.OTHER_SOURCE: (dataset.OTHER_DEALER_ROWS,) * 5 + (0, 0, 0)}


@pytest.mark.parametrize("by", [["kind", "kind"], ["source", "kind", "salesperson"], ["name"]])
def test_a_grouping_outside_the_contract_is_refused(filled: ResultsStore, by: list[str]) -> None:
    with pytest.raises(ValueError):
        funnel(filled, DEALER, START, END, by)


# Reference values: statsmodels 0.15 `proportion_confint(k, n, alpha=0.05, method="wilson")`;
# 81/263, 15/148, 0/20 and 1/29 are also Newcombe (1998), "Two-sided confidence intervals
# for the single proportion", Statistics in Medicine 17:857-872, Table I, method 3
# (0.2553-0.3662, 0.0624-0.1605, 0-0.1611, 0.0061-0.1718).
WILSON_REFERENCE = [
    (0, 10, 0.0, 0.27753279986288926),
    (5, 10, 0.23659309051256394, 0.7634069094874361),
    (10, 10, 0.7224672001371106, 1.0),
    (81, 263, 0.2552885198782742, 0.36620957698280004),
    (15, 148, 0.06238639953073628, 0.16048724172330803),
    (0, 20, 0.0, 0.1611251580528194),
    (1, 29, 0.006113214292762667, 0.17175521879320294),
]


@pytest.mark.parametrize(("k", "n", "low", "high"), WILSON_REFERENCE)
def test_wilson_matches_the_reference_values(k: int, n: int, low: float, high: float) -> None:
    found = wilson(k, n)
    assert found.rate == k / n
    assert found.low == pytest.approx(low, abs=1e-12)
    assert found.high == pytest.approx(high, abs=1e-12)


def test_wilson_of_no_leads_is_no_rate() -> None:
    found = wilson(0, 0)
    assert (found.rate, found.low, found.high) == (None, None, None)


@pytest.mark.parametrize("by", [["source"], ["salesperson"], ["source", "kind"]])
def test_the_csv_reads_back_as_the_same_funnel(filled: ResultsStore, by: list[str]) -> None:
    found = funnel(filled, DEALER, START, END, by)
    text = funnel_csv(found)
    lines = text.split("\r\n")
    assert lines[0].split(",")[: len(by) + 2] == [*by, "leads", "contacted"]
    assert lines[-2].startswith(",".join(["all"] * len(by)) + ",")  # the total, last
    assert len(lines) == 1 + len(found.groups) + 1 + 1  # header, groups, total, final CRLF
    assert parse_funnel_csv(text) == (found.by, found.groups, found.total)


def test_the_csv_defuses_spreadsheet_formulas_and_reads_them_back(tmp_path: Path) -> None:
    store = ResultsStore(f"sqlite:///{tmp_path / 'results.db'}")
    names = ["=HYPERLINK(1)", "+31", "-x", "@sum", "'quoted", "all"]
    rows = [row for row in dataset.conversations() if row.dealer_id == DEALER]
    for name, row in zip(names, rows, strict=False):
        store.record_conversation(row.model_copy(update={"source": name}))
    found = funnel(store, DEALER, START, END, ["source"])
    text = funnel_csv(found)
    cells = [line.split(",")[0] for line in text.split("\r\n")[1:-1]]
    assert not [cell for cell in cells if cell.startswith(("=", "+", "-", "@"))]
    assert parse_funnel_csv(text) == (found.by, found.groups, found.total)
    store.close()


def test_a_csv_of_something_else_is_refused() -> None:
    with pytest.raises(ValueError, match="columns"):
        parse_funnel_csv("a,b\r\n1,2\r\n")


NEAREST_RANK = [
    ([], 50, None),
    ([7.0], 50, 7.0),
    ([7.0], 90, 7.0),
    ([1.0, 2.0], 50, 1.0),  # rank ceil(1.0) = 1
    ([1.0, 2.0, 3.0, 4.0], 50, 2.0),
    ([1.0, 2.0, 3.0, 4.0], 90, 4.0),  # rank ceil(3.6) = 4
    ([float(v) for v in range(1, 11)], 90, 9.0),  # rank 9 of 10
    ([float(v) for v in range(1, 12)], 90, 10.0),  # rank ceil(9.9) = 10 of 11
]


@pytest.mark.parametrize(("ordered", "percent", "value"), NEAREST_RANK)
def test_nearest_rank(ordered: list[float], percent: float, value: float | None) -> None:
    assert nearest_rank(ordered, percent) == value


def test_speed_gives_each_percentile_and_share_exactly(filled: ResultsStore) -> None:
    found = speed(filled, DEALER, START, END)

    def triple(p: Percentiles) -> tuple[int, float | None, float | None]:
        return (p.count, p.p50, p.p90)

    assert triple(found.first_answer) == dataset.FIRST_ANSWER
    people = {p.salesperson: p for p in found.salespeople}
    assert list(people) == ["els", "jan"]
    assert {who: triple(p.reply_to_claim) for who, p in people.items()} == dataset.REPLY_TO_CLAIM
    assert {
        who: triple(p.reply_to_first_message) for who, p in people.items()
    } == dataset.REPLY_TO_MESSAGE
    tasks = found.tasks
    assert (tasks.tasks, tasks.reminded, tasks.escalated) == (
        dataset.TASKS,
        dataset.REMINDED,
        dataset.ESCALATED,
    )
    assert tasks.reminded_share == dataset.REMINDED / dataset.TASKS
    assert tasks.escalated_share == dataset.ESCALATED / dataset.TASKS


def test_speed_of_an_empty_period_measures_nothing(filled: ResultsStore) -> None:
    found = speed(filled, DEALER, END, END + (END - START))
    assert (found.first_answer.count, found.first_answer.p50) == (0, None)
    assert found.salespeople == []
    assert found.tasks.tasks == 0 and found.tasks.reminded_share is None
