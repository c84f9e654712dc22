"""Store parsed records: deduplicate, merge overlapping exports, and insert in bulk.

A conversation is identified by its platform family and source id (``qa.ingest.identity``: 天猫 and 淘宝 are one);
one exported without a platform is the stored conversation of that id when there is exactly one. Importing it
again adds only the messages not yet stored (matched on role, text, occurrence and time at the precision both
exports have: second, minute or none), so re-importing a file, or an export that overlaps an earlier one, never
duplicates anything and never drops what reviewers have already annotated.
Conversations arrive staged (``qa.ingest.staging``): keys, stamps and hashes are computed where the file is parsed, so
this side only resolves ids and inserts, through DB-API executemany (the ORM unit of work is ~10x slower).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Container, Iterator, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass, replace
from datetime import datetime
from itertools import chain, repeat
from typing import Any, cast, overload

from sqlalchemy import (
    ColumnElement,
    Connection,
    String,
    Table,
    bindparam,
    func,
    insert,
    select,
    update,
)

from qa.bulk import insert_rows, placeholder
from qa.ingest.identity import FAMILIES
from qa.ingest.normalize import canonical_platform, time_stamp
from qa.ingest.privacy import comparable
from qa.ingest.records import ConversationRecord, MessageRecord, Rejection, TicketRecord
from qa.ingest.session_match import MATCH_WINDOW, match_sessions
from qa.ingest.staging import (
    MINUTE,
    SECOND,
    MessageColumns,
    MsgKey,
    StagedConversation,
    StagedMessage,
    content_hash,
    conversation_key,
    key_family,
    message_keys,
    stamp_precision,
)
from qa.models import Agent, Conversation, Message, Platform, Shop, Ticket

__all__ = ["LoadCounts", "Loader", "link_tickets"]

_conv = cast(Table, Conversation.__table__)
_msg = cast(Table, Message.__table__)
_ticket = cast(Table, Ticket.__table__)


@dataclass
class LoadCounts:
    """What one import did to the database."""

    conversations_added: int = 0
    conversations_merged: int = 0
    conversations_unchanged: int = 0
    messages_added: int = 0
    tickets_added: int = 0
    tickets_updated: int = 0


def _merge_order(existing: list[MsgKey], incoming: list[MsgKey]) -> list[MsgKey]:
    """Existing order with new messages slotted after the last matched one, then sorted by time if all have one.

    Overlapping exports share a prefix or suffix; this keeps both sides' order without needing timestamps. With
    nothing in common (a later export holding only the newer part) the new messages follow the stored ones.
    """
    merged = list(existing)
    known = set(merged)
    pos = 0 if known.intersection(incoming) else len(merged)
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


@overload
def _cut(value: str, column: ColumnElement[Any]) -> str: ...
@overload
def _cut(value: str | None, column: ColumnElement[Any]) -> str | None: ...
def _cut(value: str | None, column: ColumnElement[Any]) -> str | None:
    """Text cut to its column's width: PostgreSQL refuses a longer value where SQLite would keep it whole."""
    return value[:cast(String, column.type).length] if value else value


def _fit(table: Table, values: dict[str, object]) -> dict[str, object]:
    """``values`` with every text cut to its column's width (see ``_cut``)."""
    return {k: _cut(v, table.c[k]) if isinstance(v, str) and getattr(table.c[k].type, "length", None) else v
            for k, v in values.items()}


def _time(value: str) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _none_if_empty(value: str) -> str | None:
    return value or None


class Loader:
    """Writes records on one open connection (inside the import's transaction), caching dimension ids."""

    def __init__(self, conn: Connection, batch_id: int | None, *, base: LoadCounts | None = None,
                 rejected_rows: Mapping[str, int] | None = None) -> None:
        """``base``: what a resumed import stored before (``qa.ingest.runs``); ``rejected_rows``: how many rows of
        the file were rejected, by conversation id, stored on the conversations this import adds or extends."""
        self.conn = conn
        self.batch_id = batch_id
        self._base = base or LoadCounts()
        self._counts = replace(self._base)
        self._rejected_rows = rejected_rows or {}
        self._platforms: dict[str, int] = {}
        self._shops: dict[tuple[int | None, str], int] = {}
        self._agents: dict[str, int] = {}
        self._agent_team_known: set[int] = set()
        self._agent_of: dict[tuple[str | None, str | None], int | None] = {}  # agent_id's answers, by its arguments
        self._place_of: dict[tuple[str | None, str | None], tuple[int | None, int | None]] = {}
        self._outcome: dict[int, str] = {}  # what this import did to each conversation it touched

    @property
    def counts(self) -> LoadCounts:
        """The counts so far; a conversation met more than once (two lines, two parts) counts once, as the most it
        went through: added, else merged, else unchanged."""
        by, base = Counter(self._outcome.values()), self._base
        return replace(self._counts, conversations_added=base.conversations_added + by["added"],
                       conversations_merged=base.conversations_merged + by["merged"],
                       conversations_unchanged=base.conversations_unchanged + by["unchanged"])

    def _note(self, conv_id: int, outcome: str) -> None:
        if _RANK[outcome] > _RANK.get(self._outcome.get(conv_id, ""), -1):
            self._outcome[conv_id] = outcome

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
        name = _cut(name, Shop.__table__.c.name)
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

    def place(self, platform: str | None, shop: str | None) -> tuple[int | None, int | None]:
        """(platform id, shop id) of a conversation's marketplace and shop, asked once per pair in an import."""
        key = (platform, shop)
        if key not in self._place_of:
            pid = self.platform_id(platform, shop)
            self._place_of[key] = (pid, self.shop_id(pid, shop))
        return self._place_of[key]

    def agent_id(self, name: str | None, team: str | None = None) -> int | None:
        """The id of the agent called ``name``, created if new; gives the agent ``team`` if it has none yet.

        Asked once per message sender and conversation: the same arguments always give the same answer within an
        import (a team, once given, stays), so answers are kept by argument.
        """
        key = (name, team)
        if key not in self._agent_of:
            self._agent_of[key] = self._agent_id(name, team)
        return self._agent_of[key]

    def _agent_id(self, name: str | None, team: str | None) -> int | None:
        if not name:
            return None
        name, team = _cut(name, Agent.__table__.c.name), _cut(team, Agent.__table__.c.team)
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
    def add_conversations(self, staged: Sequence[StagedConversation], messages: MessageColumns,
                          file: str) -> list[Rejection]:
        """Insert new conversations and merge known ones; call with one staged batch (source ids unique within it).

        Returns the conversations of ``file`` not stored because their identity is ambiguous.
        """
        stored = _stored(self.conn, [c.key for c in staged])
        rejections: list[Rejection] = []
        if len(stored) < len(staged):  # some are new, or stored under another key: those found by source id
            staged, rejections = self._identify(staged, stored, file)
            stored.update(_stored(self.conn, [c.key for c in staged if c.key not in stored]))
        new = [c for c in staged if c.key not in stored]
        if new:
            self._insert_new(new, messages)
        for c in staged:
            if c.key not in stored:
                continue
            conv_id, stored_hash, *current = stored[c.key]
            meta = _fit(_conv, {f: getattr(c, f) for f, now in zip(_META, current)
                                if now is None and getattr(c, f) is not None})
            # Equal hashes mean the same messages, the common case of a re-imported or overlapping export: no
            # need to read them back. (A hash stored by an older Huifang differs and takes the long way.)
            if stored_hash == c.content_hash or not self._merge_existing(conv_id, c, messages.rows(c.start, c.stop),
                                                                         meta):
                if meta:
                    self.conn.execute(update(_conv).where(_conv.c.id == conv_id).values(**meta))
                self._note(conv_id, "unchanged")
        return rejections

    def _identify(self, staged: Sequence[StagedConversation], stored_keys: Container[str], file: str
                  ) -> tuple[list[StagedConversation], list[Rejection]]:
        """The staged conversations keyed as the stored ones they are, and those that could be more than one.

        A conversation exported without a platform takes the key of the one stored conversation with its id, and
        is reported when there are several; one exported with a platform gives it to a stored conversation of its
        id that had none (and no other platform's conversation has that id). Those already found by key
        (``stored_keys``) are what they are.
        """
        families: defaultdict[str, dict[str, int]] = defaultdict(dict)  # source id → {family: conversation id}
        where, params = _in(self.conn, "external_id", [c.external_id for c in staged if c.key not in stored_keys])
        for key, external_id, conv_id in _fetch(
                self.conn, f"SELECT source_key, external_id, id FROM conversations WHERE {where}", params):
            families[external_id][key_family(key, external_id)] = conv_id
        out: list[StagedConversation] = []
        rejections: list[Rejection] = []
        for c in staged:
            stored = families.get(c.external_id, {})
            family = key_family(c.key, c.external_id)
            if c.key in stored_keys or not stored or family in stored:
                out.append(c)
            elif not family and len(stored) == 1:
                out.append(c._replace(key=f"{next(iter(stored))}|{c.external_id}"))
            elif not family:
                names = "、".join(_family_label(f) for f in sorted(stored))
                rejections.append(Rejection(
                    file, c.row, "平台", f"会话 {c.external_id[:50]} 没有注明平台，而已导入的 {names} 都有此会话号，无法判断"
                    "是哪一个；此会话未导入，请在文件中补上平台后重新导入"))
            else:
                if set(stored) == {""}:  # stored from an export without a platform: this one names it
                    pid, sid = self.place(c.platform, c.shop)
                    self.conn.execute(update(_conv).where(_conv.c.id == stored[""]).values(
                        source_key=c.key, platform_id=pid, shop_id=func.coalesce(_conv.c.shop_id, sid)))
                out.append(c)
        return out, rejections

    def _insert_new(self, new: list[StagedConversation], cols: MessageColumns) -> None:
        as_time = _none_if_empty if self.conn.dialect.name == "sqlite" else _time
        team, order, category, customer = _conv.c.team, _conv.c.order_id, _conv.c.category, _conv.c.customer
        rows = [(c.key, c.external_id, *self.place(c.platform, c.shop), self.agent_id(c.main_agent, c.team),
                 _cut(c.team, team), _cut(c.customer, customer), as_time(c.started), as_time(c.ended),
                 _cut(c.order_id, order), _cut(c.category, category), c.csat, c.stop - c.start,
                 c.content_hash, self.batch_id, self._rejected_rows.get(c.external_id, 0)) for c in new]
        before = self.conn.scalar(select(func.coalesce(func.max(_conv.c.id), 0)))
        insert_rows(self.conn, "conversations", _CONV_COLUMNS, rows)
        # this transaction's inserts are the newest ids: a range scan finds them (others' rows are ignored by key)
        id_of = dict(_fetch(self.conn, "SELECT source_key, id FROM conversations WHERE id > {0}", [before]))
        ids = [id_of[c.key] for c in new]
        self._outcome.update(dict.fromkeys(ids, "added"))  # the highest outcome: no need to rank (see _note)
        agent_ids: dict[str, int | None] = {"": None}
        for c in new:
            for a in c.agents:
                agent_ids[a] = self.agent_id(a, c.team)
        counts = [c.stop - c.start for c in new]

        def column(values: list[str]) -> Iterator[str]:  # the new conversations' part of a column
            return chain.from_iterable(values[c.start:c.stop] for c in new)

        # one C-level iterator per column and "" made NULL by the database: no Python step per message
        sqlite = self.conn.dialect.name == "sqlite"
        insert_rows(self.conn, "messages", _MSG_COLUMNS, zip(
            chain.from_iterable(map(repeat, ids, counts)), chain.from_iterable(map(range, counts)),
            column(cols.stamps) if sqlite else map(_time, column(cols.stamps)), column(cols.roles),
            map(agent_ids.__getitem__, column(cols.agents)), column(cols.senders), column(cols.texts)),
            empty_is_null=("ts", "sender") if sqlite else ("sender",))
        self._counts.messages_added += sum(counts)

    def _merge_existing(self, conv_id: int, c: StagedConversation, messages: list[StagedMessage],
                        meta: dict[str, object]) -> bool:
        """Add the messages not stored yet, in order, and fill ``meta``; False (nothing done) when there are none."""
        stored = self.conn.execute(
            select(_msg.c.id, _msg.c.ts, _msg.c.role, _msg.c.text, _msg.c.agent_id)
            .where(_msg.c.conversation_id == conv_id).order_by(_msg.c.seq)).all()
        # texts compared masked: the same message stored before masking, or with other kinds masked, is no new one;
        # times as precise as both exports are: a minute-precision or untimed export of stored messages adds none
        stored_messages = [(time_stamp(r.ts), r.role, comparable(r.text)) for r in stored]
        incoming_messages = [(m[0], m[1], comparable(m[2])) for m in messages]
        precision = min(stamp_precision(m[0] for m in stored_messages), stamp_precision(m[0] for m in messages))
        stored_keys = message_keys(stored_messages, precision)
        incoming = list(zip(message_keys(incoming_messages, precision), messages))
        if precision == SECOND:
            incoming = _minute_matches(stored_keys, incoming)
        known = set(stored_keys)
        fresh = [(k, m) for k, m in incoming if k not in known]
        if not fresh:
            return False
        order = _merge_order(stored_keys, [k for k, _ in incoming])
        ids_by_key = {k: r.id for k, r in zip(stored_keys, stored)}
        agent_ids = {"": None, **{a: self.agent_id(a, c.team) for a in c.agents}}
        new_rows = [dict(zip(_MSG_COLUMNS, (conv_id, -1 - i, _time(m[0]), m[1], agent_ids[m[3]], m[4] or None, m[2])))
                    for i, (_k, m) in enumerate(fresh)]
        new_ids = self.conn.execute(
            insert(_msg).returning(_msg.c.id, sort_by_parameter_order=True), new_rows).scalars().all()
        ids_by_key.update({k: i for (k, _m), i in zip(fresh, new_ids)})
        self.conn.execute(
            update(_msg).where(_msg.c.id == bindparam("mid")).values(seq=bindparam("new_seq")),
            [{"mid": ids_by_key[k], "new_seq": seq} for seq, k in enumerate(order)])
        agent_of = {**{k: r.agent_id for k, r in zip(stored_keys, stored)}, **{k: row["agent_id"] for (k, _m), row in
                                                                              zip(fresh, new_rows)}}
        main_agent = Counter(filter(None, (agent_of[k] for k in order))).most_common(1)  # as if imported whole
        as_stored = {**dict(zip(stored_keys, stored_messages)), **{k: (m[0], m[1], comparable(m[2])) for k, m in fresh}}
        stamps, roles, texts = zip(*map(as_stored.__getitem__, order))
        times = list(filter(None, stamps))
        self.conn.execute(update(_conv).where(_conv.c.id == conv_id).values(
            message_count=len(order), content_hash=content_hash(stamps, roles, texts),
            started_at=_time(min(times, default="")), ended_at=_time(max(times, default="")),
            agent_id=main_agent[0][0] if main_agent else None,
            # the newer export's rejected rows replace the older's: a clean one that fills the gap clears the mark
            rejected_rows=self._rejected_rows.get(c.external_id, 0), **meta))
        self._note(conv_id, "merged")
        self._counts.messages_added += len(fresh)
        return True

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
            fill = _fit(_conv, {f: session.get(f) for f in ("category", "csat", "team")
                                if session.get(f) is not None and getattr(row, f) is None})
            if fill:
                self.conn.execute(update(_conv).where(_conv.c.id == row.id).values(**fill))
            self._note(row.id, "merged")
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
            row = _fit(_ticket, {
                "source_key": key, "external_id": r.external_id, "platform_id": pid,
                "shop_id": self.shop_id(pid, r.shop), "category": r.category, "status": r.status,
                "created_at": r.created_at, "closed_at": r.closed_at, "order_id": r.order_id,
                "conversation_external_id": r.conversation_id, "outcome": r.outcome, "csat": r.csat,
                "import_batch_id": self.batch_id})
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
        self._counts.tickets_added += len(inserts)
        self._counts.tickets_updated += len(updates)


def _minute_matches(stored: list[MsgKey], incoming: list[tuple[MsgKey, StagedMessage]]
                    ) -> list[tuple[MsgKey, StagedMessage]]:
    """``incoming`` with each message not matched by the second that matches, by the minute, a stored message at
    :00 that nothing else matched, given that stored message's key.

    Such a stored time most likely came from a minute-precision export merged into a precise one; without this,
    the precise export of the same message would add it again. Matched as a multiset, like every key.
    """
    taken = {k for k, _m in incoming}
    loose = [k for k in stored if k not in taken and k[0][17:19] == "00"]
    if not loose:
        return incoming
    known = set(stored)
    unmatched = [k for k, _m in incoming if k not in known]
    by_minute = dict(zip(message_keys(loose, MINUTE), loose))
    remap = {k: by_minute[mk] for k, mk in zip(unmatched, message_keys(unmatched, MINUTE)) if mk in by_minute}
    return [(remap.get(k, k), m) for k, m in incoming]


_CONV_COLUMNS = ("source_key", "external_id", "platform_id", "shop_id", "agent_id", "team", "customer",
                 "started_at", "ended_at", "order_id", "category", "csat", "message_count", "content_hash",
                 "import_batch_id", "rejected_rows")
_MSG_COLUMNS = ("conversation_id", "seq", "ts", "role", "agent_id", "sender", "text")


def _fetch(conn: Connection, sql: str, params: Sequence[object]) -> Sequence[tuple]:
    """Rows of ``sql`` through the DB-API cursor; each ``{0}`` in it is the dialect's placeholder."""
    with closing(conn.connection.cursor()) as cursor:
        cursor.execute(sql.format(placeholder(conn)), params)
        return cursor.fetchall()


_RANK = {"unchanged": 0, "merged": 1, "added": 2}
_META = ("category", "csat", "order_id", "customer", "team")  # filled on a stored conversation where empty


def _family_label(family: str) -> str:
    """A platform family as users know it: 淘宝/天猫."""
    return "/".join((family, *(p for p, f in FAMILIES.items() if f == family)))


def _in(conn: Connection, column: str, values: list[str]) -> tuple[str, Sequence[object]]:
    """A WHERE clause "``column`` is one of ``values``" (a batch's worth) for ``_fetch``, and its parameters.

    Raw SQL: SQLAlchemy's rendering of a 2,000-value IN took half of each such query.
    """
    if conn.dialect.name == "sqlite":
        return f"{column} IN ({', '.join(['{0}'] * len(values))})", values
    return f"{column} = ANY({{0}})", [values]


def _stored(conn: Connection, keys: list[str]) -> dict[str, list[Any]]:
    """(id, content hash, *_META) of the stored conversations among ``keys`` (a batch's worth), by source key."""
    columns = ", ".join(("source_key", "id", "content_hash", *_META))
    where, params = _in(conn, "source_key", keys)
    return {key: rest for key, *rest in _fetch(conn, f"SELECT {columns} FROM conversations WHERE {where}", params)}


def link_tickets(conn: Connection) -> None:
    """Attach tickets to conversations by conversation id, else by order id; fill category/CSAT they lack.

    Runs after every import because tickets and chats arrive in either order. Each UPDATE touches only rows it
    changes (the EXISTS guards): an UPDATE that sets NULL to NULL still rewrites every unlinked conversation.
    """
    t = _ticket.alias("t")
    by_conv = select(t.c.id).where(t.c.conversation_external_id == _conv.c.external_id)
    conn.execute(update(_conv).where(_conv.c.ticket_id.is_(None), by_conv.exists())
                 .values(ticket_id=by_conv.order_by(t.c.id).limit(1).scalar_subquery()))
    by_order = select(t.c.id).where(t.c.order_id == _conv.c.order_id)
    conn.execute(update(_conv).where(_conv.c.ticket_id.is_(None), _conv.c.order_id.is_not(None), by_order.exists())
                 .values(ticket_id=by_order.order_by(t.c.id).limit(1).scalar_subquery()))
    for field in ("category", "csat"):
        value = select(t.c[field]).where(t.c.id == _conv.c.ticket_id, t.c[field].is_not(None))
        conn.execute(update(_conv).where(_conv.c[field].is_(None), _conv.c.ticket_id.is_not(None), value.exists())
                     .values({field: value.scalar_subquery()}))
