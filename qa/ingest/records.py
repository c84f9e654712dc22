"""Plain records that parsers produce and the loader stores.

Every import format is parsed into these before anything touches the database, so that format code can be
tested on files alone and one loader owns deduplication and transactions.
Times are naive ``datetime`` in Asia/Shanghai wall-clock time (what the workbenches show and what daily
statistics are bucketed by); parsers convert aware times to that.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from qa.ingest.normalize import time_stamp

__all__ = [
    "ROLES",
    "Role",
    "MessageRecord",
    "ConversationRecord",
    "ConversationColumns",
    "as_record",
    "TicketRecord",
    "Rejection",
    "SessionSheet",
    "ReviewRecord",
    "Parsed",
]

Role = Literal["customer", "agent", "bot", "system"]
ROLES: tuple[str, ...] = ("customer", "agent", "bot", "system")


class MessageRecord:
    """One message as read from a file; ``text`` may be empty for pure placeholders like ``[图片]``.

    Its time is held as a stamp, the text SQLite stores and keys and content hashes use ("" for no time),
    because that is the form an import of a million messages needs, and formatting a datetime costs more than
    parsing one: parsers that read a time as text pass ``stamp``, others pass ``ts``. ``ts`` reads it back.
    """

    __slots__ = ("role", "text", "stamp", "agent", "sender")

    def __init__(self, role: str, text: str, ts: datetime | None = None, agent: str | None = None,
                 sender: str | None = None, stamp: str | None = None) -> None:
        self.role, self.text, self.agent, self.sender = role, text, agent, sender
        self.stamp = time_stamp(ts) if stamp is None else stamp

    @property
    def ts(self) -> datetime | None:
        return datetime.fromisoformat(self.stamp) if self.stamp else None


@dataclass(slots=True)
class ConversationRecord:
    """One conversation; ``external_id`` is the id in the source system or a stable hash when it has none."""

    external_id: str
    messages: list[MessageRecord] = field(default_factory=list)
    platform: str | None = None
    shop: str | None = None
    customer: str | None = None
    category: str | None = None
    csat: int | None = None
    ticket_id: str | None = None
    order_id: str | None = None
    team: str | None = None
    source_row: int | None = None


@dataclass(slots=True)
class ConversationColumns:
    """A conversation whose messages were read straight into columns, the fast path of JSONL and CSV.

    Making a million ``MessageRecord`` objects and taking them apart again into the loader's columns cost as
    much as the rest of staging; this keeps the columns as read. ``record`` holds the conversation's fields
    (and no messages) until ``materialize`` builds them for code that wants records.
    """

    record: ConversationRecord
    stamps: list[str]
    roles: list[str]
    texts: list[str]
    agents: list[str]  # the agent a message names, "" where none
    senders: list[str]  # the sender as the file names it, "" where it does not

    def materialize(self) -> ConversationRecord:
        self.record.messages = [MessageRecord(r, t, None, a or None, n or None, s) for s, r, t, a, n in
                                zip(self.stamps, self.roles, self.texts, self.agents, self.senders)]
        return self.record


def as_record(rec: ConversationRecord | ConversationColumns) -> ConversationRecord:
    """A parsed conversation as a record with its messages, whichever way it was read."""
    return rec.materialize() if isinstance(rec, ConversationColumns) else rec


@dataclass(slots=True)
class TicketRecord:
    """One after-sales ticket (工单), linked to a conversation by conversation id or order id."""

    external_id: str
    category: str | None = None
    status: str | None = None
    created_at: datetime | None = None
    closed_at: datetime | None = None
    order_id: str | None = None
    conversation_id: str | None = None
    outcome: str | None = None
    csat: int | None = None
    platform: str | None = None
    shop: str | None = None
    source_row: int | None = None


@dataclass(slots=True, frozen=True)
class Rejection:
    """A row or line that was not imported, and why; ``row`` is 1-based as a spreadsheet or editor shows it.

    ``conversation`` is the id of the conversation the row belonged to, when the row names it or lies between rows
    of one conversation: that conversation is stored with a gap that is not the agent's (issue #13.4)."""

    file: str
    row: int | None
    field: str | None
    reason: str
    conversation: str | None = dataclasses.field(default=None, compare=False)  # ``field`` is a column here

    def __str__(self) -> str:
        where = self.file if self.row is None else f"{self.file} 第 {self.row} 行"
        what = f"[{self.field}] " if self.field else ""
        return f"{where}: {what}{self.reason}"


@dataclass
class SessionSheet:
    """The rows of a JD session sheet, attached to stored conversations in one go (``qa.ingest.session_match``)."""

    sessions: list[dict]


@dataclass(slots=True)
class ReviewRecord:
    """One product review (评价) from a marketplace's review export; linked to conversations by order id."""

    text: str
    reviewed_at: datetime
    rating: int | None = None
    order_id: str | None = None
    product: str | None = None
    sku: str | None = None
    follow_up: str = ""
    shop_reply: str = ""
    platform: str | None = None
    shop: str | None = None
    source_row: int | None = None


Parsed = ConversationRecord | ConversationColumns | TicketRecord | Rejection | SessionSheet | ReviewRecord
"""Anything a format's parse yields."""
