"""leads.attachments: a reply that says what came (rule 6; issue 9, finding 6)."""

from __future__ import annotations

import pytest

from leads.attachments import with_attachments


@pytest.mark.parametrize(
    ("text", "types", "expected"),
    [
        pytest.param("", ["image/jpeg"], "[attachment: image/jpeg]", id="photo-only"),
        pytest.param(
            "Kijk", ["image/jpeg", "application/pdf"],
            "Kijk\n[2 attachments: image/jpeg, application/pdf]", id="text-and-two",
        ),
        pytest.param("", ["image/png", "IMAGE/PNG"], "[2 attachments: image/png]", id="same-type"),
        pytest.param("  Hoi  ", [], "Hoi", id="no-attachments"),
        pytest.param("", [""], "[attachment: unknown type]", id="no-type"),
    ],
)  # fmt: skip
def test_rule6_attachments_make_a_reply_that_says_so(
    text: str, types: list[str], expected: str
) -> None:
    assert with_attachments(text, types) == expected
