"""Memo keys: what the API and activities read from a workflow without asking a worker."""

from __future__ import annotations

from typing import Final

OPT_OUT_CHANNELS: Final = "channels"  # OptOut: the channels an erased customer refused
TASK: Final = "task"  # SalesTask: the TaskState the salesperson API lists
