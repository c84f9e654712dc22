"""Store parsed records: deduplicate, merge overlapping exports, and insert in bulk.

A conversation is identified by platform + its source id. Importing it again adds only the messages not yet
stored (matched on time, role, text and occurrence), so re-importing a file, or an export that overlaps an
earlier one, never duplicates anything and never drops what reviewers have already annotated.
Inserts go through SQLAlchemy Core executemany (not the ORM unit of work, ~10x slower for bulk rows).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, insert, select, update

from qa.models import Agent, Conversation, Message, Platform, Shop, Ticket
from qa.normalize import canonical_platform
from qa.formats.session_sheet import MATCH_WINDOW, match_sessions
from qa.records import ConversationRecord, MessageRecord, Rejection, TicketRecord

__all__ = ["LoadCounts", "Loader", "conversation_key", "message_keys", "link_tickets"]

_conv = Conversation.__table__
_msg = Message.__table__
_ticket = Ticket.__table__


@dataclass
class LoadCounts:
    """What one import did to the database."""

    conversations_added: int = 0
    conversations_merged: int = 0
    conversations_unchanged: int = 0
    messages_added: int = 0
    tickets_added: int = 0
    tickets_updated: int = 0


def conversation_key(platform: str | None, external_id: str, shop: str | None = None) -> str:
    """The unique key of a conversation (or ticket) across all imports: marketplace and source id."""
    return f"{canonical_platform(platform, shop) or ''}|{external_id}"


MsgKey = tuple[str, str, str, int]


def _stamp(ts: datetime | None) -> str:
    """A message time as text: the format SQLite stores, and the one keys and content hashes use everywhere."""
    return ts.isoformat(" ", "microseconds") if ts else ""


def message_keys(messages: Sequence[tuple[datetime | None, str, str]]) -> list[MsgKey]:
    """Identity of each message: time, role, text and how often that triple occurred before it.

    The occurrence count keeps two identical "好的" at the same second apart, while the same message exported
    twice maps to the same key.
    """
    seen: Counter[tuple[str, str, str]] = Counter()
    keys: list[MsgKey] = []
    for ts, role, text in messages:
        base = (_stamp(ts), role, text)
        keys.append((*base, seen[base]))
        seen[base] += 1
    return keys


def _content_hash(messages: Iterable[tuple[str, str, str]]) -> str:
    """Fingerprint of a conversation's (time, role, text) sequence: scores are stale when it changes."""
    return hashlib.sha1("\x1e".join(f"{ts}\x1f{role}\x1f{text}" for ts, role, text in messages)
                        .encode()).hexdigest()


def _merge_order(existing: list[MsgKey], incoming: list[MsgKey]) -> list[MsgKey]:
    """Existing order with new messages slotted after the last matched one, then sorted by time if all have one.

    Overlapping exports share a prefix or suffix; this keeps both sides' order without needing timestamps.
    """
    merged = list(existing)
    known = set(merged)
    pos = 0
    for k in incoming:
        if k in known:
            pos = merged.index(k) + 1
            continue
        merged.insert(pos, k)
        known.add(k)
        pos += 1
    if all(k[0] for k in merged):
        merged.sort(key=lambda k: k[0])
    return merged


class Loader:
    """Writes records on one open connection (inside the import's transaction), caching dimension ids."""

    def __init__(self, conn: Connection, batch_id: int | None) -> None:
        self.conn = conn
        self.batch_id = batch_id
        self.counts = LoadCounts()
        self._platforms: dict[str, int] = {}
        self._shops: dict[tuple[int | None, str], int] = {}
        self._agents: dict[str, int] = {}
        self._agent_team_known: set[int] = set()

    # -- dimensions -------------------------------------------------------------------------------------------
    def platform_id(self, name: str | None, shop: str | None = None) -> int | None:
        name = canonical_platform(name, shop)
        if not name:
            return None
        if name not in self._platforms:
            pid = self.conn.scalar(select(Platform.id).where(Platform.name == name))
            if pid is None:
                pid = self.conn.execute(insert(Platform).values(name=name).returning(Platform.id)).scalar_one()
            self._platforms[name] = pid
        return self._platforms[name]

    def shop_id(self, platform_id: int | None, name: str | None) -> int | None:
        if not name:
            return None
        key = (platform_id, name)
        if key not in self._shops:
            q = select(Shop.id).where(Shop.name == name)
            q = q.where(Shop.platform_id == platform_id) if platform_id else q.where(Shop.platform_id.is_(None))
            sid = self.conn.scalar(q)
            if sid is None:
                sid = self.conn.execute(
                    insert(Shop).values(name=name, platform_id=platform_id).returning(Shop.id)).scalar_one()
            self._shops[key] = sid
        return self._shops[key]

    def agent_id(self, name: str | None, team: str | None = None) -> int | None:
        if not name:
            return None
        aid = self._agents.get(name)
        if aid is None:
            row = self.conn.execute(select(Agent.id, Agent.team).where(Agent.name == name)).first()
            if row is None:
                aid = self.conn.execute(insert(Agent).values(name=name, team=team).returning(Agent.id)).scalar_one()
            else:
                aid = row.id
                if row.team:
                    self._agent_team_known.add(aid)
            self._agents[name] = aid
        if team and aid not in self._agent_team_known:
            self.conn.execute(update(Agent).where(Agent.id == aid, Agent.team.is_(None)).values(team=team))
            self._agent_team_known.add(aid)
        return aid

    # -- conversations ----------------------------------------------------------------------------------------
    def add_conversations(self, records: Sequence[ConversationRecord]) -> None:
        """Insert new conversations and merge known ones; call with chunks of a few thousand."""
        by_key: dict[str, ConversationRecord] = {}
        for rec in records:
            key = conversation_key(rec.platform, rec.external_id, rec.shop)
            if key in by_key:
                _absorb(by_key[key], rec)
            else:
                by_key[key] = rec
        existing = dict(self.conn.execute(
            select(_conv.c.source_key, _conv.c.id).where(_conv.c.source_key.in_(list(by_key)))).all())
        new = [(k, r) for k, r in by_key.items() if k not in existing]
        if new:
            self._insert_new(new)
        for key, rec in by_key.items():
            if key in existing:
                self._merge_existing(existing[key], rec)

    def _conv_row(self, key: str, rec: ConversationRecord, stamps: list[str]) -> dict:
        pid = self.platform_id(rec.platform, rec.shop)
        agents = Counter(m.agent for m in rec.messages if m.role == "agent" and m.agent)
        main_agent = agents.most_common(1)[0][0] if agents else None
        times = [m.ts for m in rec.messages if m.ts]
        return {
            "source_key": key, "external_id": rec.external_id, "platform_id": pid,
            "shop_id": self.shop_id(pid, rec.shop), "agent_id": self.agent_id(main_agent, rec.team),
            "team": rec.team, "customer": rec.customer,
            "started_at": min(times) if times else None, "ended_at": max(times) if times else None,
            "order_id": rec.order_id, "category": rec.category, "csat": rec.csat,
            "message_count": len(rec.messages),
            "content_hash": _content_hash(zip(stamps, (m.role for m in rec.messages), (m.text for m in rec.messages))),
            "import_batch_id": self.batch_id, "ticket_id": None,
        }

    def _insert_new(self, new: list[tuple[str, ConversationRecord]]) -> None:
        stamps = [[_stamp(m.ts) for m in rec.messages] for _k, rec in new]
        rows = [self._conv_row(key, rec, ts) for (key, rec), ts in zip(new, stamps)]
        # A plain executemany and one SELECT back: SQLite's ordered RETURNING falls back to one row per call.
        self.conn.execute(insert(_conv), rows)
        id_of = dict(self.conn.execute(
            select(_conv.c.source_key, _conv.c.id).where(_conv.c.source_key.in_([k for k, _ in new]))).all())
        ids = [id_of[k] for k, _ in new]
        # SQLite gets times as the exact text SQLAlchemy's DateTime stores; other drivers take datetimes
        as_text = self.conn.dialect.name == "sqlite"
        msg_rows = [self._msg_tuple(conv_id, seq, m, rec.team, (ts[seq] or None) if as_text else m.ts)
                    for conv_id, (_key, rec), ts in zip(ids, new, stamps) for seq, m in enumerate(rec.messages)]
        _insert_messages(self.conn, msg_rows)
        self.counts.conversations_added += len(rows)
        self.counts.messages_added += len(msg_rows)

    def _msg_tuple(self, conv_id: int, seq: int, m: MessageRecord, team: str | None, ts: object) -> tuple:
        return (conv_id, seq, ts, m.role, self.agent_id(m.agent, team) if m.role == "agent" else None,
                (m.sender or "")[:200] or None, m.text)

    def _merge_existing(self, conv_id: int, rec: ConversationRecord) -> None:
        stored = self.conn.execute(
            select(_msg.c.id, _msg.c.ts, _msg.c.role, _msg.c.text)
            .where(_msg.c.conversation_id == conv_id).order_by(_msg.c.seq)).all()
        stored_keys = message_keys([(r.ts, r.role, r.text) for r in stored])
        incoming = list(zip(message_keys([(m.ts, m.role, m.text) for m in rec.messages]), rec.messages))
        known = set(stored_keys)
        fresh = [(k, m) for k, m in incoming if k not in known]
        meta = {f: getattr(rec, f) for f in ("category", "csat", "order_id", "customer", "team")
                if getattr(rec, f) is not None}
        if meta:
            current = self.conn.execute(select(*(_conv.c[f] for f in meta)).where(_conv.c.id == conv_id)).one()
            meta = {f: v for f, v in meta.items() if current._mapping[f] is None}
        if not fresh:
            if meta:
                self.conn.execute(update(_conv).where(_conv.c.id == conv_id).values(**meta))
            self.counts.conversations_unchanged += 1
            return
        order = _merge_order(stored_keys, [k for k, _ in incoming])
        ids_by_key = {k: r.id for k, r in zip(stored_keys, stored)}
        new_rows = [dict(zip(_MSG_COLUMNS, self._msg_tuple(conv_id, -1 - i, m, rec.team, m.ts)))
                    for i, (_k, m) in enumerate(fresh)]
        new_ids = self.conn.execute(
            insert(_msg).returning(_msg.c.id, sort_by_parameter_order=True), new_rows).scalars().all()
        ids_by_key.update({k: i for (k, _m), i in zip(fresh, new_ids)})
        self.conn.execute(
            update(_msg).where(_msg.c.id == bindparam("mid")).values(seq=bindparam("new_seq")),
            [{"mid": ids_by_key[k], "new_seq": seq} for seq, k in enumerate(order)])
        times = [datetime.fromisoformat(k[0]) for k in order if k[0]]
        self.conn.execute(update(_conv).where(_conv.c.id == conv_id).values(
            message_count=len(order), content_hash=_content_hash(k[:3] for k in order),
            started_at=min(times) if times else None, ended_at=max(times) if times else None, **meta))
        self.counts.conversations_merged += 1
        self.counts.messages_added += len(fresh)

    # -- JD session sheets ------------------------------------------------------------------------------------
    def attach_session_sheet(self, sessions: list[dict], file: str) -> list[Rejection]:
        """Fill category, CSAT and team of stored JD conversations from session-sheet rows.

        Only empty fields are filled, so a sheet never overwrites what an export or a reviewer already set.
        Rows that match no stored conversation are returned as rejections: the log must be imported first.
        """
        if not sessions:
            return []
        jd = self.platform_id("京东")
        starts = [s["start"] for s in sessions]
        rows = self.conn.execute(
            select(_conv.c.id, _conv.c.customer, _conv.c.started_at, _conv.c.category, _conv.c.csat, _conv.c.team)
            .where(_conv.c.platform_id == jd, _conv.c.started_at >= min(starts) - MATCH_WINDOW,
                   _conv.c.started_at <= max(starts) + MATCH_WINDOW)).all()
        probes = [ConversationRecord(external_id=str(r.id), customer=r.customer,
                                     messages=[MessageRecord("customer", "", r.started_at)]) for r in rows]
        pairs = match_sessions(probes, sessions)
        for s_index, c_index in pairs:
            row, session = rows[c_index], sessions[s_index]
            fill = {f: session.get(f) for f in ("category", "csat", "team")
                    if session.get(f) is not None and getattr(row, f) is None}
            if fill:
                self.conn.execute(update(_conv).where(_conv.c.id == row.id).values(**fill))
        self.counts.conversations_merged += len(pairs)
        matched = {s_index for s_index, _ in pairs}
        return [Rejection(file, s["row"], "咨询时间",
                          "没有找到对应的京东会话（咨询时间 ±3 分钟内、顾客一致）；请先导入同一时段的咚咚聊天记录，再导入此表")
                for i, s in enumerate(sessions) if i not in matched]

    # -- tickets ----------------------------------------------------------------------------------------------
    def add_tickets(self, records: Sequence[TicketRecord]) -> None:
        """Insert new tickets and update changed ones (a later export carries the newer status)."""
        by_key = {conversation_key(r.platform, r.external_id, r.shop): r for r in records}
        existing = {row.source_key: row for row in self.conn.execute(
            select(_ticket).where(_ticket.c.source_key.in_(list(by_key))))}
        inserts, updates = [], []
        for key, r in by_key.items():
            pid = self.platform_id(r.platform, r.shop)
            row = {"source_key": key, "external_id": r.external_id, "platform_id": pid,
                   "shop_id": self.shop_id(pid, r.shop), "category": r.category, "status": r.status,
                   "created_at": r.created_at, "closed_at": r.closed_at, "order_id": r.order_id,
                   "conversation_external_id": r.conversation_id, "outcome": r.outcome, "csat": r.csat,
                   "import_batch_id": self.batch_id}
            old = existing.get(key)
            if old is None:
                inserts.append(row)
                continue
            changed = {f: v for f, v in row.items()
                       if f not in ("source_key", "import_batch_id") and v is not None and old._mapping[f] != v}
            if changed:
                updates.append((old.id, changed))
        if inserts:
            self.conn.execute(insert(_ticket), inserts)
        for tid, changed in updates:
            self.conn.execute(update(_ticket).where(_ticket.c.id == tid).values(**changed))
        self.counts.tickets_added += len(inserts)
        self.counts.tickets_updated += len(updates)


_MSG_COLUMNS = ("conversation_id", "seq", "ts", "role", "agent_id", "sender", "text")


def _insert_messages(conn: Connection, rows: list[tuple]) -> None:
    """Bulk-insert message tuples through the DB-API cursor.

    Messages are the one table with millions of rows; SQLAlchemy's per-row parameter processing cost about
    half of the import time, so this path binds tuples directly. On SQLite, callers pass times as the exact
    text SQLAlchemy's DateTime type reads and compares ("YYYY-MM-DD HH:MM:SS.ffffff").
    """
    if not rows:
        return
    cols = ", ".join(_MSG_COLUMNS)
    if conn.dialect.name == "sqlite":
        sql = f"INSERT INTO messages ({cols}) VALUES ({', '.join('?' * len(_MSG_COLUMNS))})"
    else:
        sql = f"INSERT INTO messages ({cols}) VALUES ({', '.join(['%s'] * len(_MSG_COLUMNS))})"
    cursor = conn.connection.cursor()
    try:
        cursor.executemany(sql, rows)
    finally:
        cursor.close()


def _absorb(into: ConversationRecord, other: ConversationRecord) -> None:
    """Merge a second appearance of the same conversation within one file (rows split across the file)."""
    known = set(message_keys([(m.ts, m.role, m.text) for m in into.messages]))
    into.messages.extend(m for k, m in zip(message_keys([(m.ts, m.role, m.text) for m in other.messages]),
                                            other.messages) if k not in known)
    for f in ("platform", "shop", "customer", "category", "csat", "ticket_id", "order_id", "team"):
        if getattr(into, f) is None:
            setattr(into, f, getattr(other, f))


def link_tickets(conn: Connection) -> None:
    """Attach tickets to conversations by conversation id, else by order id; fill category/CSAT they lack.

    Runs after every import because tickets and chats arrive in either order.
    """
    t = _ticket.alias("t")
    by_conv = (select(t.c.id).where(t.c.conversation_external_id == _conv.c.external_id)
               .order_by(t.c.id).limit(1).scalar_subquery())
    conn.execute(update(_conv).where(_conv.c.ticket_id.is_(None)).values(ticket_id=by_conv))
    by_order = (select(t.c.id).where(t.c.order_id == _conv.c.order_id).order_by(t.c.id).limit(1)
                .scalar_subquery())
    conn.execute(update(_conv).where(_conv.c.ticket_id.is_(None), _conv.c.order_id.is_not(None))
                 .values(ticket_id=by_order))
    for field in ("category", "csat"):
        value = select(t.c[field]).where(t.c.id == _conv.c.ticket_id).scalar_subquery()
        conn.execute(update(_conv).where(_conv.c[field].is_(None), _conv.c.ticket_id.is_not(None))
                     .values({field: value}))
