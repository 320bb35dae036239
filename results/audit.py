"""The perception audit (rule 8, docs/architecture.md: judge by the result).

The trade pre-qualifies: a form with a phone number of zeros, a brochure request or a low
bid gets less energy than a test drive. Blanco gives every lead the same cadence (rule 1),
so the dealer's own figures can test the prejudice. Each comparison here puts the leads the
trade doubts beside the ones it trusts and compares how often they were won and contacted,
each rate with its 95% Wilson interval.

The verdict is deliberately conservative: "worse" or "better" only when the two intervals do
not overlap. Overlapping intervals are *no evidence* of a difference, which is the sentence a
dealer needs before treating a lead as second-class. A side with fewer than `SMALL_GROUP`
leads is "too few to compare": its interval is too wide to say anything either way.

Pure: funnel groups in, comparisons out. No database, no request.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from leads.contact import ContactQuality
from leads.models import LeadKind
from results.reports import SMALL_GROUP, FunnelGroup, Rate, wilson

# The stages the audit compares: the sale, and two-way contact (the customer answered).
AUDITED_STAGES = ("won", "contacted")


class Verdict(StrEnum):
    WORSE = "worse"
    BETTER = "better"
    NO_EVIDENCE = "no_evidence"  # the intervals overlap
    TOO_FEW = "too_few"  # a side has fewer than SMALL_GROUP leads


@dataclass(frozen=True)
class Question:
    """One prejudice to test: the doubted values of a grouping against the trusted ones
    (`trusted=None`: every other value of the grouping)."""

    name: str  # "contact_quality", "kind", or "source:<value>"
    grouping: str  # a funnel grouping (results.reports.GROUPINGS)
    doubted: frozenset[str]
    trusted: frozenset[str] | None


# (a) and (b) of the audit: the trade's two doubts about a lead's form.
CONTACT_QUALITY = Question(
    name="contact_quality",
    grouping="contact_quality",
    doubted=frozenset(
        {
            ContactQuality.PLACEHOLDER_PHONE.value,
            ContactQuality.EMAIL_ONLY.value,  # no phone number, or one that is not a number
            ContactQuality.NO_CHANNEL.value,
        }
    ),
    trusted=frozenset({ContactQuality.COMPLETE.value}),
)
KIND = Question(
    name="kind",
    grouping="kind",
    doubted=frozenset({LeadKind.BROCHURE_REQUEST.value, LeadKind.OFFER.value}),
    trusted=frozenset({LeadKind.TEST_DRIVE.value, LeadKind.PRICE_REQUEST.value}),
)


def source_question(source: str) -> Question:
    """(c) of the audit: one source against all the others."""
    return Question(
        name=f"source:{source}", grouping="source", doubted=frozenset({source}), trusted=None
    )


@dataclass(frozen=True)
class Side:
    leads: int
    counts: dict[str, int]  # per audited stage
    rates: dict[str, Rate]

    @property
    def small(self) -> bool:
        return self.leads < SMALL_GROUP


@dataclass(frozen=True)
class Comparison:
    question: Question
    doubted: Side
    trusted: Side
    verdicts: dict[str, Verdict]  # per audited stage


def side(groups: Iterable[FunnelGroup]) -> Side:
    """Groups pooled into one side: counts add up, the interval is the pool's own (not an
    average of the groups' rates, which would weigh a tiny group like a big one)."""
    pooled = list(groups)
    leads = sum(group.leads for group in pooled)
    counts = {stage: sum(getattr(group, stage) for group in pooled) for stage in AUDITED_STAGES}
    rates = {stage: wilson(counts[stage], leads) for stage in AUDITED_STAGES}
    return Side(leads=leads, counts=counts, rates=rates)


def verdict(doubted: Rate, trusted: Rate, small: bool) -> Verdict:
    """Worse or better only when the 95% intervals are apart; otherwise no evidence."""
    if small or None in (doubted.low, doubted.high, trusted.low, trusted.high):
        return Verdict.TOO_FEW
    assert doubted.low is not None and doubted.high is not None
    assert trusted.low is not None and trusted.high is not None
    if doubted.high < trusted.low:
        return Verdict.WORSE
    if doubted.low > trusted.high:
        return Verdict.BETTER
    return Verdict.NO_EVIDENCE


def compare(question: Question, groups: Sequence[FunnelGroup]) -> Comparison:
    """`groups`: a funnel grouped by `question.grouping` alone."""

    def value(group: FunnelGroup) -> str | None:
        return group.key.get(question.grouping)

    doubted = side(g for g in groups if value(g) in question.doubted)
    trusted = side(
        g
        for g in groups
        if value(g) not in question.doubted
        and (question.trusted is None or value(g) in question.trusted)
    )
    small = doubted.small or trusted.small
    verdicts = {
        stage: verdict(doubted.rates[stage], trusted.rates[stage], small)
        for stage in AUDITED_STAGES
    }
    return Comparison(question, doubted, trusted, verdicts)


@dataclass(frozen=True)
class Audit:
    contact_quality: Comparison
    kind: Comparison
    sources: list[Comparison]  # the biggest source first


def audit(
    by_quality: Sequence[FunnelGroup],
    by_kind: Sequence[FunnelGroup],
    by_source: Sequence[FunnelGroup],
) -> Audit:
    """The whole audit from three funnels of the same period: by contact quality, by kind
    and by source."""
    ordered = sorted(by_source, key=lambda g: (-g.leads, g.key.get("source") or ""))
    names = [name for group in ordered if (name := group.key.get("source")) is not None]
    sources = [compare(source_question(name), by_source) for name in names]
    return Audit(
        contact_quality=compare(CONTACT_QUALITY, by_quality),
        kind=compare(KIND, by_kind),
        sources=sources,
    )
