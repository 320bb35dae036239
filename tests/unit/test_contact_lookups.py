"""leads.contact_lookups: when a lead looks its contact keys and opt-outs up again (rule 7:
an erased earlier lead's opt-out is read before the first touch and whenever a merged
inquiry adds an address; one customer, one conversation: the keys follow the addresses)."""

from __future__ import annotations

import pytest

from leads.contact_lookups import Lookups, identifiers_fingerprint, lookups_due

FIRST = ["email:pieter@example.nl", "ext:marktplaats:mp-1"]
MERGED = [*FIRST, "phone:+31611223344"]


@pytest.mark.parametrize(
    ("identifiers", "looked_up", "set_at_start", "inquiries", "expected"),
    [
        pytest.param(
            FIRST,
            None,
            True,
            1,
            Lookups(identifiers_fingerprint(FIRST), hash_keys=False),
            id="first-step-keys-set-by-the-starter",
        ),
        pytest.param(
            FIRST,
            None,
            False,
            1,
            Lookups(identifiers_fingerprint(FIRST), hash_keys=True),
            id="first-step-started-otherwise-hashes-them",
        ),
        pytest.param(
            FIRST,
            identifiers_fingerprint(FIRST),
            True,
            1,
            None,
            id="nothing-changed",
        ),
        pytest.param(
            MERGED,
            identifiers_fingerprint(FIRST),
            True,
            2,
            Lookups(identifiers_fingerprint(MERGED), hash_keys=True),
            id="a-merged-inquiry-adds-an-address",
        ),
        pytest.param(
            MERGED,
            None,
            True,
            2,
            Lookups(identifiers_fingerprint(MERGED), hash_keys=True),
            id="carried-merged-inquiries-hash-them",
        ),
    ],
)
def test_rule7_lookups_are_due_when_the_identifiers_change(
    identifiers: list[str],
    looked_up: str | None,
    set_at_start: bool,
    inquiries: int,
    expected: Lookups | None,
) -> None:
    assert lookups_due(identifiers, looked_up, set_at_start, inquiries) == expected


def test_the_fingerprint_is_short_and_depends_on_order_and_content() -> None:
    assert len(identifiers_fingerprint(FIRST)) == 16
    assert identifiers_fingerprint(FIRST) != identifiers_fingerprint(MERGED)
