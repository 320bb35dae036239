"""Reading a Prometheus endpoint in tests: its samples by name and labels, and the check that
no label carries anything personal."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families


@dataclass(frozen=True)
class Sample:
    name: str
    labels: dict[str, str]
    value: float


def samples(text: str) -> list[Sample]:
    """Every sample of a scrape in the Prometheus text format."""
    return [
        Sample(sample.name, dict(sample.labels), sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    ]


def value(found: Iterable[Sample], name: str, **labels: str) -> float:
    """The sum of the samples named `name` whose labels include `labels` (0 when none)."""
    return sum(s.value for s in found if s.name == name and labels.items() <= s.labels.items())


def label_values(found: Iterable[Sample], name: str, label: str) -> set[str]:
    return {s.labels[label] for s in found if s.name == name and label in s.labels}


def assert_nothing_personal(found: Iterable[Sample], *personal: str) -> None:
    """No label value contains any of `personal` (names, addresses, numbers, message text,
    lead ids, tokens), compared case-insensitively."""
    wanted = [p.lower() for p in personal if p]
    assert wanted
    for sample in found:
        for label, text in sample.labels.items():
            for secret in wanted:
                assert secret not in text.lower(), f"{sample.name}{{{label}=...}} holds {secret!r}"
