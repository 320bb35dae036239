"""leads.send_failure: what a failed send means for the lead (rule 2: a channel that can
never receive is dropped, and the same touch goes out at once on the next one; any other
failure is recorded on the touch, and the cadence goes on)."""

from __future__ import annotations

import pytest

from leads.send_failure import NOT_IN_TIME, PERMANENT, REJECTED, TIMEOUT, SendFailure, classify


@pytest.mark.parametrize(
    ("cause", "expected"),
    [
        pytest.param(
            (PERMANENT, "twilio 21211"),
            SendFailure(PERMANENT, "twilio 21211", permanent=True),
            id="permanent-drops-the-channel",
        ),
        pytest.param(
            (REJECTED, "sendgrid 401"),
            SendFailure(REJECTED, "sendgrid 401", permanent=False),
            id="rejected-keeps-the-channel",
        ),
        pytest.param(
            ("SomethingElse", "boom"),
            SendFailure("SomethingElse", "boom", permanent=False),
            id="an-unknown-type-keeps-the-channel",
        ),
        pytest.param(
            (None, "no type"),
            SendFailure(None, "no type", permanent=False),
            id="no-type-keeps-the-channel",
        ),
        pytest.param(None, SendFailure(TIMEOUT, NOT_IN_TIME, permanent=False), id="out-of-time"),
    ],
)
def test_rule2_a_failed_send_drops_the_channel_only_when_permanent(
    cause: tuple[str | None, str] | None, expected: SendFailure
) -> None:
    assert classify(cause) == expected
