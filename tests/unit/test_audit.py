"""Rule 8 (judge by the result): the perception audit says a kind of lead converts "worse"
or "better" only when the 95% Wilson intervals do not overlap, "no evidence" when they do,
and "too few leads to compare" under SMALL_GROUP. Table-driven over results.audit."""

from __future__ import annotations

import pytest

from results.audit import (
    CONTACT_QUALITY,
    KIND,
    Verdict,
    audit,
    compare,
    side,
    source_question,
    verdict,
)
from results.reports import SMALL_GROUP, STAGES, FunnelGroup, Rate, wilson


def group(grouping: str, value: str, leads: int, won: int, contacted: int) -> FunnelGroup:
    counts = dict.fromkeys(STAGES, 0) | {"won": won, "contacted": contacted}
    return FunnelGroup(
        key={grouping: value},
        leads=leads,
        **counts,
        rates={stage: wilson(counts[stage], leads) for stage in STAGES},
        small=leads < SMALL_GROUP,
    )


# rule 8: (doubted won/leads, trusted won/leads) → the verdict on the won rate
WON_VERDICTS = [
    pytest.param((15, 80), (12, 60), Verdict.NO_EVIDENCE, id="same-rate-overlap"),
    pytest.param((5, 80), (12, 60), Verdict.NO_EVIDENCE, id="lower-but-overlapping"),
    pytest.param((0, 60), (20, 60), Verdict.WORSE, id="apart-below"),
    pytest.param((40, 60), (10, 60), Verdict.BETTER, id="apart-above"),
    pytest.param((0, SMALL_GROUP - 1), (30, 60), Verdict.TOO_FEW, id="doubted-too-small"),
    pytest.param((10, 60), (29, SMALL_GROUP - 1), Verdict.TOO_FEW, id="trusted-too-small"),
    pytest.param((0, 0), (10, 60), Verdict.TOO_FEW, id="no-doubted-leads"),
]


@pytest.mark.parametrize(("doubted", "trusted", "expected"), WON_VERDICTS)
def test_rule_8_verdict_only_when_intervals_do_not_overlap(
    doubted: tuple[int, int], trusted: tuple[int, int], expected: Verdict
) -> None:
    groups = [
        group("kind", "offer", doubted[1], won=doubted[0], contacted=0),
        group("kind", "test_drive", trusted[1], won=trusted[0], contacted=0),
    ]
    assert compare(KIND, groups).verdicts["won"] is expected


TRUSTED = Rate(rate=0.3, low=0.2, high=0.4)
# rule 8: the interval test itself, on bounds given directly
BOUNDS = [
    pytest.param(Rate(rate=0.1, low=0.05, high=0.19), TRUSTED, "worse"),
    pytest.param(
        Rate(rate=0.1, low=0.05, high=0.2), TRUSTED, "no_evidence"
    ),  # touching intervals overlap: still no evidence
    pytest.param(Rate(rate=0.5, low=0.41, high=0.6), TRUSTED, "better"),
    pytest.param(Rate(rate=None, low=None, high=None), TRUSTED, "too_few"),
]


@pytest.mark.parametrize(("doubted", "trusted", "expected"), BOUNDS)
def test_rule_8_touching_intervals_are_no_evidence(
    doubted: Rate, trusted: Rate, expected: str
) -> None:
    assert verdict(doubted, trusted, small=False) == expected


def test_rule_8_contact_quality_pools_placeholder_email_only_and_no_channel() -> None:
    groups = [
        group("contact_quality", "complete", 60, won=12, contacted=30),
        group("contact_quality", "placeholder_phone", 40, won=8, contacted=20),
        group("contact_quality", "email_only", 30, won=6, contacted=15),
        group("contact_quality", "no_channel", 10, won=1, contacted=4),
        group("contact_quality", "phone_only", 25, won=0, contacted=0),  # in neither side
    ]
    found = compare(CONTACT_QUALITY, groups)
    assert (found.doubted.leads, found.doubted.counts) == (80, {"won": 15, "contacted": 39})
    assert (found.trusted.leads, found.trusted.counts) == (60, {"won": 12, "contacted": 30})
    assert found.doubted.rates["won"] == wilson(15, 80)  # the pool's interval, not an average
    assert found.verdicts == {"won": Verdict.NO_EVIDENCE, "contacted": Verdict.NO_EVIDENCE}


def test_rule_8_kind_compares_brochures_and_offers_with_test_drives_and_price_questions() -> None:
    groups = [
        group("kind", "brochure_request", 27, won=7, contacted=10),
        group("kind", "offer", 35, won=8, contacted=17),
        group("kind", "test_drive", 45, won=12, contacted=15),
        group("kind", "price_request", 27, won=0, contacted=27),
        group("kind", "trade_in", 40, won=40, contacted=40),  # in neither side
    ]
    found = compare(KIND, groups)
    assert (found.doubted.leads, found.trusted.leads) == (62, 72)
    assert found.doubted.counts == {"won": 15, "contacted": 27}
    assert found.trusted.counts == {"won": 12, "contacted": 42}


def test_rule_8_each_source_against_all_others_biggest_first() -> None:
    groups = [
        group("source", "autotrader", 10, won=1, contacted=4),
        group("source", "website", 36, won=18, contacted=24),
        group("source", "autoscout24", 35, won=0, contacted=0),
        group("source", "marktplaats", 59, won=8, contacted=29),
    ]
    sources = audit([], [], groups).sources
    assert [c.question.name for c in sources] == [
        "source:marktplaats",
        "source:website",
        "source:autoscout24",
        "source:autotrader",
    ]
    verdicts = {c.question.name: c.verdicts["won"] for c in sources}
    assert verdicts == {
        "source:marktplaats": Verdict.NO_EVIDENCE,
        "source:website": Verdict.BETTER,
        "source:autoscout24": Verdict.WORSE,
        "source:autotrader": Verdict.TOO_FEW,
    }
    autoscout = sources[2]
    assert (autoscout.doubted.leads, autoscout.trusted.leads) == (35, 105)
    assert source_question("autoscout24").trusted is None


def test_an_empty_period_is_too_few_everywhere() -> None:
    empty = audit([], [], [])
    assert empty.sources == []
    assert set(empty.contact_quality.verdicts.values()) == {Verdict.TOO_FEW}
    assert side([]).rates["won"] == Rate(rate=None, low=None, high=None)
