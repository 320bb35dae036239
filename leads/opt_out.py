"""What the `OptOut` workflow is called and where it keeps the channels: shared by the
workflow, the activities that start it (erasure) or read it (a lead's opening), and the tests,
so none of them imports another's module."""

from __future__ import annotations

OPT_OUT_WORKFLOW = "OptOut"
MEMO_KEY = "channels"
