"""leads.delivery_status: the order of delivery reports (a status never moves backwards).
Tables only."""

from __future__ import annotations

import itertools

import pytest

from leads.delivery_status import advance
from leads.models import DeliveryStatus

Q, S, D, R = (
    DeliveryStatus.QUEUED,
    DeliveryStatus.SENT,
    DeliveryStatus.DELIVERED,
    DeliveryStatus.READ,
)
U, F = DeliveryStatus.UNDELIVERED, DeliveryStatus.FAILED

NEW_ORDER = (Q, S, D, R, U, F)
# current → the status after a report of each of NEW_ORDER
ADVANCE_TABLE: dict[DeliveryStatus | None, tuple[DeliveryStatus, ...]] = {
    None: (Q, S, D, R, U, F),  # the first report is taken as it is
    Q: (Q, S, D, R, U, F),  # a read implies it was delivered
    S: (S, S, D, R, U, F),
    D: (D, D, D, R, D, D),  # a failure after delivery is a late report
    R: (R, R, R, R, R, R),
    U: (U, U, U, U, U, U),  # terminal
    F: (F, F, F, F, F, F),  # terminal
}
ADVANCE_ROWS = [
    pytest.param(current, new, row[k], id=f"{current}-then-{new}")
    for current, row in ADVANCE_TABLE.items()
    for k, new in enumerate(NEW_ORDER)
]
RANK = {Q: 0, S: 1, D: 2, R: 3}


def test_advance_table_covers_every_pair() -> None:
    assert len(ADVANCE_ROWS) == (len(DeliveryStatus) + 1) * len(DeliveryStatus)
    assert set(NEW_ORDER) == set(DeliveryStatus)
    assert set(ADVANCE_TABLE) == {None, *DeliveryStatus}


@pytest.mark.parametrize(("current", "new", "expected"), ADVANCE_ROWS)
def test_delivery_status_never_moves_backwards(
    current: DeliveryStatus | None, new: DeliveryStatus, expected: DeliveryStatus
) -> None:
    assert advance(current, new) is expected


@pytest.mark.parametrize(
    ("current", "new"), list(itertools.product(list(DeliveryStatus), list(DeliveryStatus)))
)
def test_delivery_status_invariants(current: DeliveryStatus, new: DeliveryStatus) -> None:
    result = advance(current, new)
    assert result in (current, new)
    if current in (U, F):
        assert result is current
    elif result in RANK:
        assert RANK[result] >= RANK[current]
    assert advance(result, new) is result  # a repeated report changes nothing


def test_delivery_status_out_of_order_reports_end_in_the_furthest_state() -> None:
    for reports in itertools.permutations((Q, S, D, R)):
        status: DeliveryStatus | None = None
        for report in reports:
            status = advance(status, report)
        assert status in (D, R)  # read can be lost only when it arrives before sent
