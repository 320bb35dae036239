"""The embedded default provider: one JSON line per outbound message (docs/operating.md).

Idempotent per message key (`leads.identity.message_key`: lead, conversation, touch, channel;
`person_message_key` for a salesperson's message, which is no touch): the send activity is
retried by Temporal, and a retry must never write a second line, while a customer who comes
back starts a new conversation whose touch 1 must be written. Each line carries its key (older
lines are read by the key their fields make). Several worker processes may share one file, so
the check and the append happen together under an exclusive `flock` on a sidecar lock file (a
lock on the data file itself would not survive the file being rotated while a process waits
for it).

The check stays cheap: each provider remembers the keys it has seen and how far into the file
it has read, and under the lock reads only what other processes appended since. A file that was
replaced or truncated is noticed by its inode and size and read again from the start.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from leads.identity import message_key
from leads.models import Channel
from providers.base import OutboundMessage


class OutboxProvider:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock_path = self.path.with_name(self.path.name + ".lock")
        # Activities run in a thread pool: the cache is shared by those threads.
        self._thread_lock = threading.Lock()
        self._seen: set[str] = set()  # message keys already in the file
        self._inode: int | None = None
        self._offset = 0  # bytes of the file already read, always at the end of a whole line

    def send(self, message: OutboundMessage) -> str:
        key = message.key
        message_id = f"outbox:{key}"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with (
            self._thread_lock,
            open(self._lock_path, "a") as lock_file,
            open(self.path, "a+b") as data,
        ):
            fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX)  # released when lock_file closes
            self._catch_up(data)
            if key in self._seen:
                return message_id
            line = json.dumps(_record(message), ensure_ascii=False) + "\n"
            # A line cut short by a crash must not swallow the next one.
            prefix = b"\n" if self._ends_without_newline(data) else b""
            data.write(prefix + line.encode("utf-8"))
            data.flush()
            self._offset = data.tell()
            self._seen.add(key)
        return message_id

    def erase(self, lead_id: str) -> int:
        """Remove every line of one lead (erasure); returns how many. The file is rewritten
        beside itself and swapped in under the lock, so a crash leaves the old or the new file,
        never half of one; other processes notice the new inode and read it afresh."""
        if not self.path.exists():
            return 0
        with self._thread_lock, open(self._lock_path, "a") as lock_file:
            fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX)
            kept = self.path.with_name(self.path.name + ".erasing")
            removed = 0
            with open(self.path, "rb") as data, open(kept, "wb") as out:
                for raw in data:
                    if _lead_of(raw) == lead_id:
                        removed += 1
                    else:
                        out.write(raw)
                out.flush()
                os.fsync(out.fileno())
            if removed:
                os.replace(kept, self.path)
            else:
                kept.unlink()
        return removed

    def _catch_up(self, data: BinaryIO) -> None:
        """Read the lines appended since the last look (all of them if the file is new)."""
        stat = os.fstat(data.fileno())
        if stat.st_ino != self._inode or stat.st_size < self._offset:
            self._inode = stat.st_ino
            self._offset = 0
            self._seen.clear()
        data.seek(self._offset)
        for raw in data:  # line by line: the file is never held in memory at once
            if not raw.endswith(b"\n"):
                break  # a torn last line: not a send; read again once it is completed
            self._offset += len(raw)
            key = _key_of(raw)
            if key is not None:
                self._seen.add(key)

    @staticmethod
    def _ends_without_newline(data: BinaryIO) -> bool:
        size = data.seek(0, os.SEEK_END)
        if size == 0:
            return False
        data.seek(size - 1)
        return data.read(1) != b"\n"


def _record(message: OutboundMessage) -> dict[str, object]:
    return {
        "lead_id": message.lead_id,
        "conversation": message.conversation,
        "touch": message.touch,
        "channel": message.channel.value,
        "to": message.to,
        "subject": message.subject if message.channel is Channel.EMAIL else None,
        "body": message.text,
        "sent_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "by": message.by,
        "key": message.key,
    }


def _lead_of(raw: bytes) -> str | None:
    try:
        return str(json.loads(raw)["lead_id"])
    except (ValueError, KeyError, TypeError):
        return None


def _key_of(raw: bytes) -> str | None:
    """The message key of one line. Older lines have no `key`: a touch's key is made from its
    fields, and lines written before keys named the conversation give the three-part key their
    sends were made with."""
    try:
        record = json.loads(raw)
        if isinstance(record.get("key"), str):
            return str(record["key"])
        conversation = record.get("conversation")
        return message_key(
            str(record["lead_id"]),
            None if conversation is None else str(conversation),
            int(record["touch"]),
            str(record["channel"]),
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return None  # not ours or damaged: it cannot mark a send as done
