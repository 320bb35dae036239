"""A reply's attachments in its text (rule 6 in docs/architecture.md: a photo sent without
words is still a reply for a human). Pure functions."""

from __future__ import annotations

__all__ = ["attachment_note", "with_attachments"]


def attachment_note(content_types: list[str]) -> str:
    """What a reply's attachments add to its text, so a photo sent without words is still a
    reply that says what came ('[attachment: image/jpeg]'); media types only, no file names
    (which a customer may have named after themselves). Empty without attachments."""
    if not content_types:
        return ""
    kinds = ", ".join(dict.fromkeys(t.strip().lower() or "unknown type" for t in content_types))
    count = len(content_types)
    return f"[{count} attachments: {kinds}]" if count > 1 else f"[attachment: {kinds}]"


def with_attachments(text: str, content_types: list[str]) -> str:
    """The reply's text followed by its attachment note, on a line of its own."""
    note = attachment_note(content_types)
    return "\n".join(part for part in (text.strip(), note) if part)
