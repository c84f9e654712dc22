"""Parsed records made ready to store: keys, message identities and content hashes, in column batches.

Everything here is a pure function of the file (and of the masking setting, ``qa.ingest.privacy``: texts are
masked here, before they are hashed), so it runs wherever the parsing runs — in a parse worker for a
large file — and the process holding the database transaction only looks up ids and inserts. A batch keeps its
messages as columns (one list per field) because that is what the loader hands to ``executemany`` without a
Python step per message, and what crosses a process boundary as a few joined strings instead of a million
pickled objects.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from qa.ingest.identity import Claims, contradiction_rejection, platform_family
from qa.ingest.privacy import import_kinds, mask_texts
from qa.ingest.records import (
    ConversationColumns,
    ConversationRecord,
    MessageRecord,
    Parsed,
    Rejection,
    ReviewRecord,
    SessionSheet,
    TicketRecord,
    as_record,
)
from qa.ingest.rejections import unexpected

__all__ = ["CHUNK", "Batch", "MessageColumns", "StagedConversation", "StagedMessage", "MsgKey", "conversation_key",
           "message_keys", "content_hash", "stage_batches",
           "key_family", "stamp_precision", "SECOND", "MINUTE", "NO_TIME"]

CHUNK = 2000
FIRST_CHUNK = 200  # small, so that a worker's first batch reaches the database side without delay

StagedMessage = tuple[str, str, str, str, str]
"""(time stamp, role, text, agent name, sender) of one message; "" where a message has no time, agent or sender."""

MsgKey = tuple[str, str, str, int]

_SEP = "\x00"  # never in cleaned text; a column that holds it anyway is pickled as a list


@dataclass
class MessageColumns:
    """The messages of a batch, one list per field, in conversation order."""

    stamps: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    agents: list[str] = field(default_factory=list)
    senders: list[str] = field(default_factory=list)

    def rows(self, start: int, stop: int) -> list[StagedMessage]:
        """The messages in ``[start, stop)`` as tuples."""
        return list(zip(self.stamps[start:stop], self.roles[start:stop], self.texts[start:stop],
                        self.agents[start:stop], self.senders[start:stop]))

    def __getstate__(self) -> tuple[int, list[str | list[str]]]:
        n = len(self.texts)
        return n, [joined if (joined := _SEP.join(col)).count(_SEP) == max(n - 1, 0) else col
                   for col in (self.stamps, self.roles, self.texts, self.agents, self.senders)]

    def __setstate__(self, state: tuple[int, list[str | list[str]]]) -> None:
        n, cols = state
        self.stamps, self.roles, self.texts, self.agents, self.senders = (
            (col.split(_SEP) if n else []) if isinstance(col, str) else col for col in cols)


class StagedConversation(NamedTuple):
    """One conversation as the loader stores it; its messages are ``[start, stop)`` of the batch's columns."""

    key: str
    external_id: str
    platform: str | None
    shop: str | None
    customer: str | None
    category: str | None
    csat: int | None
    order_id: str | None
    team: str | None
    start: int
    stop: int
    agents: tuple[str, ...]
    main_agent: str | None
    started: str
    ended: str
    content_hash: str
    row: int | None  # where the file gives it (its first row or line), for reports


@dataclass
class Batch:
    """What the loader applies in one step: a chunk of conversations or tickets, and rejections met on the way."""

    conversations: list[StagedConversation] = field(default_factory=list)
    messages: MessageColumns = field(default_factory=MessageColumns)
    tickets: list[TicketRecord] = field(default_factory=list)
    reviews: list[ReviewRecord] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    sessions: list[dict] | None = None


def conversation_key(platform: str | None, external_id: str, shop: str | None = None) -> str:
    """The unique key of a conversation (or ticket) across all imports: platform family and source id."""
    return f"{platform_family(platform, shop) or ''}|{external_id}"


def key_family(key: str, external_id: str) -> str:
    """The platform family part of a ``conversation_key`` ("" for none)."""
    return key[:len(key) - len(external_id) - 1]


SECOND, MINUTE, NO_TIME = 19, 16, 0
"""Precisions of an export's times, as the length of a stamp's prefix that carries them."""


def stamp_precision(stamps: Iterable[str]) -> int:
    """How precise the times of an export's conversation are: SECOND, MINUTE (every second is :00), or NO_TIME.

    Exports of the same chat differ: a JSONL or the JD log gives seconds, a Qianniu copy minutes, some tables no
    time at all. A conversation whose messages all fell on :00 reads as minutes, which only makes its messages
    compare by minute against a stored copy.
    """
    timed = [s for s in stamps if s]
    if not timed:
        return NO_TIME
    return MINUTE if all(s[17:19] == "00" for s in timed) else SECOND


def message_keys(messages: Iterable[Sequence], precision: int = len("YYYY-MM-DD HH:MM:SS.ffffff")) -> list[MsgKey]:
    """Identity of each message: time stamp (cut to ``precision``), role, text and how often that triple occurred
    before it.

    Takes anything whose first three items are (stamp, role, text). The occurrence count keeps two identical
    "好的" at the same second apart, while the same message exported twice maps to the same key: keys of two
    exports compare as multisets.
    """
    seen: Counter[tuple[str, str, str]] = Counter()
    keys: list[MsgKey] = []
    for m in messages:
        base = (m[0][:precision], m[1], m[2])
        keys.append((*base, seen[base]))
        seen[base] += 1
    return keys


def content_hash(stamps: Sequence[str], roles: Sequence[str], texts: Sequence[str]) -> str:
    """Fingerprint of a conversation's message times, roles and texts: its scores are stale when it changes.

    An import also takes an equal fingerprint to mean "no new messages". Stamps and roles hold no separator and
    parsers clean \\x1e and \\x1f out of texts (``clean_text``), so no two different conversations join alike.
    """
    return hashlib.sha1("\x1e".join(("\x1f".join(stamps), "\x1f".join(roles), "\x1f".join(texts))).encode()).hexdigest()


_NO_CLAIMS = Claims()
_FIELDS = ("platform", "shop", "customer", "category", "csat", "order_id", "team")


def _keys(messages: list[MessageRecord]) -> list[MsgKey]:
    return message_keys([(m.stamp, m.role, m.text) for m in messages])


def _absorb(into: ConversationRecord, other: ConversationRecord) -> None:
    """Append the messages of ``other`` not already in ``into`` and fill empty fields from it."""
    known = set(_keys(into.messages))
    into.messages += [m for k, m in zip(_keys(other.messages), other.messages) if k not in known]
    for f in _FIELDS:
        if getattr(into, f) is None:
            setattr(into, f, getattr(other, f))


def _columns(rec: ConversationRecord | ConversationColumns) -> tuple[ConversationRecord, list[str], list[str],
                                                                        list[str], list[str], list[str]]:
    """A conversation's fields and its stamps, roles, texts, agents ("" unless an agent's) and senders."""
    if isinstance(rec, ConversationColumns):
        return (rec.record, rec.stamps, rec.roles, rec.texts,
                [a if r == "agent" else "" for r, a in zip(rec.roles, rec.agents)], [s[:200] for s in rec.senders])
    msgs = rec.messages
    return (rec, [m.stamp for m in msgs], [m.role for m in msgs], [m.text for m in msgs],
            [(m.agent or "") if m.role == "agent" else "" for m in msgs], [(m.sender or "")[:200] for m in msgs])


def _close(pending: dict[str, ConversationRecord | ConversationColumns], batch: Batch,
           mask: frozenset[str], file: str) -> Batch:
    """Lay the pending conversations out as the batch's columns, their texts masked (before hashing: a file
    imported again hashes, and so deduplicates, the same)."""
    cols = batch.messages
    for rec in pending.values():
        r, stamps, roles, texts, agents, senders = _columns(rec)
        key = conversation_key(r.platform, r.external_id, r.shop)
        try:
            texts = mask_texts(texts, mask)
            digest = content_hash(stamps, roles, texts)
            _storable(r, agents, senders)
        except Exception as e:  # e.g. a lone surrogate from a JSON escape: the conversation, not the file (#12)
            batch.rejections.append(unexpected(file, r.source_row, e, f"会话 {r.external_id[:40]} "))
            continue
        start = len(cols.texts)
        cols.stamps += stamps
        cols.roles += roles
        cols.texts += texts
        cols.agents += agents
        cols.senders += senders
        named = Counter(filter(None, agents))
        timed = list(filter(None, stamps))
        batch.conversations.append(StagedConversation(
            key, r.external_id, r.platform, r.shop, r.customer, r.category, r.csat, r.order_id, r.team,
            start, len(cols.texts), tuple(named), named.most_common(1)[0][0] if named else None,
            min(timed, default=""), max(timed, default=""), digest, r.source_row))
    return batch


def _storable(r: ConversationRecord, agents: list[str], senders: list[str]) -> None:
    """Raise UnicodeEncodeError for text no database can store (a lone surrogate), before the loader meets it
    inside the file's transaction. Message texts, stamps and roles are checked by ``content_hash``."""
    fields = (r.external_id, r.platform, r.shop, r.customer, r.category, r.order_id, r.team, r.ticket_id)
    "\x1f".join((*filter(None, fields), *agents, *senders)).encode()


def stage_batches(records: Iterable[Parsed], file: str, mask: frozenset[str] | None = None) -> Iterator[Batch]:
    """Group a file's records into batches of up to CHUNK conversations or tickets, staged and deduplicated.

    Message texts have the personal data of the ``mask`` kinds masked (``qa.ingest.privacy``); by default what
    ``HUIFANG_MASK`` chooses, every kind when it is unset.
    """
    mask = import_kinds() if mask is None else mask
    batch = Batch()
    pending: dict[str, ConversationRecord | ConversationColumns] = {}  # by source id: one conversation per id
    claims: dict[str, Claims] = {}  # by source id, for the whole file
    limit = FIRST_CHUNK
    for rec in records:
        if isinstance(rec, (ConversationRecord, ConversationColumns)):
            fields = rec.record if isinstance(rec, ConversationColumns) else rec
            if isinstance(rec, ConversationRecord) and not rec.messages:  # columns always hold messages
                batch.rejections.append(Rejection(file, rec.source_row, None, "会话没有任何消息"))
                continue
            cid = fields.external_id
            before = claims.get(cid, _NO_CLAIMS)
            now, contradicted = before.said(fields.source_row, fields.platform, fields.shop, fields.csat)
            if contradicted:  # the same id twice with other platforms, shops or CSATs: neither split nor merged
                batch.rejections.append(contradiction_rejection(file, fields.source_row, cid, contradicted))
                continue
            if now != _NO_CLAIMS:  # held for every id of a file: none for records that claim nothing
                claims[cid] = now
            if cid in pending:
                pending[cid] = into = as_record(pending[cid])
                _absorb(into, as_record(rec))
                continue
            if before is not _NO_CLAIMS:  # its earlier part is in an earlier batch: the same platform and shop
                fields.platform = fields.platform or before.platform
                fields.shop = fields.shop or before.shop
            pending[cid] = rec
            if len(pending) >= limit:
                yield _close(pending, batch, mask, file)
                batch, pending, limit = Batch(), {}, CHUNK
        elif isinstance(rec, Rejection):
            batch.rejections.append(rec)
            if len(batch.rejections) >= CHUNK:  # a file of bad lines is passed on as it goes, not held whole
                yield Batch(rejections=batch.rejections)
                batch.rejections = []
        elif isinstance(rec, SessionSheet):
            batch.sessions = rec.sessions
        elif isinstance(rec, ReviewRecord):
            rec.text, rec.follow_up, rec.shop_reply = mask_texts([rec.text, rec.follow_up, rec.shop_reply], mask)
            batch.reviews.append(rec)
            if len(batch.reviews) >= CHUNK:
                yield batch
                batch = Batch()
        else:
            batch.tickets.append(rec)
            if len(batch.tickets) >= CHUNK:
                yield batch
                batch = Batch()
    _close(pending, batch, mask, file)
    if batch.conversations or batch.tickets or batch.reviews or batch.rejections or batch.sessions is not None:
        yield batch
