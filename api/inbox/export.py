"""The results page's CSV export: the funnel as DESIGN §4 "Reports" lays out its CSV, one row
per group, the JSON's names as columns (`<stage>_rate`, `_low`, `_high` for the intervals).

Spreadsheets run a cell that starts with `=`, `+`, `-` or `@` as a formula, and a source's
name comes from a dealer platform: such a key is written with a leading apostrophe."""

from __future__ import annotations

import csv
import io

from results.reports import STAGES, Funnel

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def columns(by: list[str]) -> list[str]:
    rates = [f"{stage}_{bound}" for stage in STAGES for bound in ("rate", "low", "high")]
    return [*by, "leads", *STAGES, *rates, "small"]


def _text(value: str | None) -> str:
    if value is None:
        return ""
    return "'" + value if value.startswith(FORMULA_START) else value


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def funnel_csv(found: Funnel) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180
    writer.writerow(columns(found.by))
    for group in found.groups:
        keys = [_text(group.key.get(name)) for name in found.by]
        counts = [group.leads, *(getattr(group, stage) for stage in STAGES)]
        rates = [
            _number(getattr(group.rates[stage], bound))
            for stage in STAGES
            for bound in ("rate", "low", "high")
        ]
        writer.writerow([*keys, *counts, *rates, "true" if group.small else "false"])
    return out.getvalue()
