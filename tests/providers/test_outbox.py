"""providers.outbox: docs/operating.md's line format, one line per message key (lead,
conversation, touch, channel; a salesperson's message number) however often a send is retried,
a returning customer's new conversation written afresh, and correct appends from several
processes at once."""

from __future__ import annotations

import json
import multiprocessing
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from leads.identity import message_key, person_message_key
from leads.models import Channel
from providers.base import OutboundMessage
from providers.outbox import OutboxProvider

LEAD = "lead-autohuis-test-0123456789abcdef01234567"
RUN = "019a0000-0000-7000-8000-000000000001"  # the conversation: its first run id
FIELDS = [
    "lead_id", "conversation", "touch", "channel", "to", "subject", "body", "sent_at", "by",
    "key",
]  # fmt: skip


def message(
    channel: Channel = Channel.EMAIL,
    touch: int = 1,
    lead: str = LEAD,
    conversation: str | None = RUN,
) -> OutboundMessage:
    email = channel is Channel.EMAIL
    return OutboundMessage(
        key=message_key(lead, conversation, touch, channel.value),
        lead_id=lead,
        dealer_id="autohuis-test",
        conversation=conversation,
        touch=touch,
        channel=channel,
        to="p@example.nl" if email else "+31612345678",
        from_address="verkoop@autohuis-test.nl" if email else "+3197010000099",
        from_name="Autohuis Test",
        subject="Uw Golf" if email else None,
        text=f"Beste Pieter, touch {touch} — groet",
        html="<p>Beste Pieter</p>" if email else None,
    )


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_line_format(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "outbox.jsonl"  # parents are created
    before = datetime.now(UTC).replace(microsecond=0)

    message_id = OutboxProvider(path).send(message())

    [line] = lines(path)
    assert list(line) == FIELDS
    assert line["lead_id"] == LEAD
    assert line["conversation"] == RUN
    assert line["touch"] == 1
    assert line["channel"] == "email"
    assert line["to"] == "p@example.nl"
    assert line["subject"] == "Uw Golf"
    assert line["body"] == "Beste Pieter, touch 1 — groet"
    sent_at = datetime.fromisoformat(line["sent_at"])
    assert sent_at.utcoffset() == timedelta(0)
    assert before <= sent_at <= datetime.now(UTC)
    assert line["by"] == "blanco"
    assert line["key"] == f"{LEAD}:{RUN}:1:email"
    assert message_id == f"outbox:{LEAD}:{RUN}:1:email"


def from_jan(
    number: int, channel: Channel = Channel.SMS, text: str = "Prima, tot zaterdag!"
) -> OutboundMessage:
    """Jan's message `number` of the conversation: no touch, his id as `by`."""
    return message(channel).model_copy(
        update={
            "key": person_message_key(LEAD, RUN, number, channel.value),
            "touch": None,
            "by": "jan",
            "text": text,
        }
    )


def test_a_salesperson_s_message_is_a_line_without_a_touch_by_its_writer(tmp_path: Path) -> None:
    """docs/operating.md (outbox): `touch` is null for a salesperson's message, `by` their id."""
    path = tmp_path / "outbox.jsonl"
    message_id = OutboxProvider(path).send(from_jan(1, Channel.EMAIL))
    [line] = lines(path)
    assert list(line) == FIELDS
    assert (line["touch"], line["by"], line["channel"]) == (None, "jan", "email")
    assert (line["to"], line["subject"], line["body"]) == (
        "p@example.nl", "Uw Golf", "Prima, tot zaterdag!"
    )  # fmt: skip
    assert line["key"] == f"{LEAD}:{RUN}:m1:email"
    assert message_id == f"outbox:{LEAD}:{RUN}:m1:email"


def test_a_retried_salesperson_s_message_writes_no_second_line(tmp_path: Path) -> None:
    """Exactly once for a salesperson's message too: its key, not a touch number that it does
    not have, is what a retry (in this process or a fresh one) finds."""
    path = tmp_path / "outbox.jsonl"
    OutboxProvider(path).send(from_jan(1))
    OutboxProvider(path).send(from_jan(1))  # a retry in a new worker process
    OutboxProvider(path).send(from_jan(2, text="En de inruil?"))
    OutboxProvider(path).send(message(Channel.SMS))  # touch 1 on the same channel: another
    assert [(line["touch"], line["key"].split(":")[2]) for line in lines(path)] == [
        (None, "m1"), (None, "m2"), (1, "1")
    ]  # fmt: skip


def test_subject_is_null_outside_email(tmp_path: Path) -> None:
    path = tmp_path / "outbox.jsonl"
    OutboxProvider(path).send(message(Channel.SMS))
    [line] = lines(path)
    assert line["subject"] is None
    assert line["channel"] == "sms"


def test_a_retry_writes_no_second_line(tmp_path: Path) -> None:
    path = tmp_path / "outbox.jsonl"
    outbox = OutboxProvider(path)

    first = outbox.send(message())
    again = outbox.send(message())
    # A new worker process (fresh provider, empty cache) retrying the same activity.
    third = OutboxProvider(path).send(message())

    assert len(lines(path)) == 1
    assert first == again == third


def test_same_touch_other_channel_and_next_touch_are_new_lines(tmp_path: Path) -> None:
    path = tmp_path / "outbox.jsonl"
    outbox = OutboxProvider(path)
    outbox.send(message(Channel.EMAIL))
    outbox.send(message(Channel.WHATSAPP))
    outbox.send(message(Channel.EMAIL, touch=2))
    keys = [(line["touch"], line["channel"]) for line in lines(path)]
    assert keys == [(1, "email"), (1, "whatsapp"), (2, "email")]


def test_a_returning_customer_s_new_conversation_is_written(tmp_path: Path) -> None:
    """Issue 9, finding 3: the customer's conversation ended and they wrote again; the new
    conversation (same lead id, a new first run) has a touch 1 of its own, which a key of
    lead, touch and channel alone dropped as a repeat."""
    path = tmp_path / "outbox.jsonl"
    OutboxProvider(path).send(message())
    back = "019a0000-0000-7000-8000-000000000002"
    OutboxProvider(path).send(message(conversation=back))  # another worker process, too
    OutboxProvider(path).send(message(conversation=back))  # and its retry
    assert [line["conversation"] for line in lines(path)] == [RUN, back]


def test_lines_written_before_conversations_still_count(tmp_path: Path) -> None:
    """A send scheduled by an older worker (no conversation in its key) retried after the
    upgrade finds its old line; a new send of the same touch number is another message."""
    path = tmp_path / "outbox.jsonl"
    before = {"lead_id": LEAD, "touch": 1, "channel": "email", "to": "p@example.nl"}
    path.write_text(json.dumps(before) + "\n", encoding="utf-8")  # the line format until now
    OutboxProvider(path).send(message(conversation=None))
    assert len(lines(path)) == 1
    OutboxProvider(path).send(message())
    assert len(lines(path)) == 2


def test_lines_written_before_lines_had_keys_still_count(tmp_path: Path) -> None:
    """A touch whose line an older worker wrote (no `key` in it) is not written again."""
    path = tmp_path / "outbox.jsonl"
    OutboxProvider(path).send(message())
    [line] = lines(path)
    del line["key"]  # the line format until now
    path.write_text(json.dumps(line) + "\n", encoding="utf-8")
    OutboxProvider(path).send(message())
    assert len(lines(path)) == 1


def test_cache_sees_lines_other_processes_appended(tmp_path: Path) -> None:
    path = tmp_path / "outbox.jsonl"
    a, b = OutboxProvider(path), OutboxProvider(path)
    a.send(message(touch=1))  # a has read the file up to here
    b.send(message(touch=2))
    a.send(message(touch=2))  # a must read b's line before deciding
    b.send(message(touch=1))
    assert [line["touch"] for line in lines(path)] == [1, 2]


def test_a_replaced_file_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "outbox.jsonl"
    outbox = OutboxProvider(path)
    outbox.send(message(touch=1))
    path.rename(tmp_path / "outbox.jsonl.1")  # rotated by an operator
    outbox.send(message(touch=2))
    outbox.send(message(touch=1))  # no longer in this file: written again
    assert [line["touch"] for line in lines(path)] == [2, 1]


def test_a_torn_last_line_does_not_swallow_the_next(tmp_path: Path) -> None:
    path = tmp_path / "outbox.jsonl"
    path.write_bytes(b'{"lead_id": "x", "touch": 1, "chan')  # a crash mid-write
    OutboxProvider(path).send(message())
    raw = path.read_bytes().splitlines()
    assert len(raw) == 2
    assert json.loads(raw[1])["lead_id"] == LEAD


def test_threads_sharing_one_provider(tmp_path: Path) -> None:
    path = tmp_path / "outbox.jsonl"
    outbox = OutboxProvider(path)
    start = threading.Barrier(8)

    def run(offset: int) -> None:
        start.wait()
        for touch in range(offset, offset + 10):
            outbox.send(message(touch=touch))

    threads = [threading.Thread(target=run, args=(i * 5,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(line["touch"] for line in lines(path)) == list(range(45))


def _send_from_process(path: str, touches: list[int], start: Any) -> None:
    outbox = OutboxProvider(Path(path))
    start.wait()  # all processes append at the same moment
    for touch in touches:
        for channel in (Channel.EMAIL, Channel.SMS):
            outbox.send(message(channel, touch=touch))


def test_several_processes_append_each_key_once(tmp_path: Path) -> None:
    path = tmp_path / "outbox.jsonl"
    context = multiprocessing.get_context("spawn")  # no inherited threads or locks
    start = context.Barrier(4)
    # 4 processes x 25 touches, each overlapping its neighbour by 10.
    plans = [list(range(i * 15, i * 15 + 25)) for i in range(4)]
    processes = [
        context.Process(target=_send_from_process, args=(str(path), plan, start)) for plan in plans
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0

    records = lines(path)  # fails on any line that is not whole JSON
    keys = [(r["lead_id"], r["touch"], r["channel"]) for r in records]
    expected = {(LEAD, t, c) for plan in plans for t in plan for c in ("email", "sms")}
    assert len(keys) == len(set(keys)) == len(expected)
    assert set(keys) == expected
    assert all(list(r) == FIELDS for r in records)


OTHER = "lead-autohuis-test-fedcba9876543210fedcba98"


def test_erase_removes_every_line_of_one_lead_and_only_those(tmp_path: Path) -> None:
    path = tmp_path / "outbox.jsonl"
    worker = OutboxProvider(path)
    for touch in (1, 2):
        worker.send(message(touch=touch))
        worker.send(message(Channel.SMS, touch=touch, lead=OTHER))
    path.write_bytes(path.read_bytes() + b"not json\n")  # a line that is not ours stays

    api = OutboxProvider(path)  # the API's own instance, as in another process
    assert api.erase(LEAD) == 2
    assert api.erase(LEAD) == 0  # again: nothing left, nothing else touched

    raw = path.read_text(encoding="utf-8").splitlines()
    assert raw[-1] == "not json"
    assert [line["lead_id"] for line in map(json.loads, raw[:-1])] == [OTHER, OTHER]
    assert "p@example.nl" not in path.read_text(encoding="utf-8")
    assert not (tmp_path / "outbox.jsonl.erasing").exists()
    # The worker notices the rewritten file: the erased lead's keys are forgotten, the others'
    # kept, so a send of the other lead is still written once.
    worker.send(message(Channel.SMS, touch=1, lead=OTHER))
    assert len(path.read_text(encoding="utf-8").splitlines()) == 3


def test_erase_without_an_outbox_is_nothing_to_do(tmp_path: Path) -> None:
    assert OutboxProvider(tmp_path / "none.jsonl").erase(LEAD) == 0
    assert not (tmp_path / "none.jsonl").exists()
