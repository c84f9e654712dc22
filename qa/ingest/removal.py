"""Removing stored conversations: the way out for one that should never have been imported (issue #12: a single
year-9999 conversation moved every user's default date range and broke the overview).

A conversation is removed with every row that depends on it — messages, scores, annotations, reviews, coaching
items, calibration entries — found from the tables' foreign keys rather than listed here, so a table added later
is covered too; all in one transaction, then the daily statistics are rebuilt without it. Only an admin may remove
(checked here, so the data page's form cannot be the only guard), and each removal is in the audit trail.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Connection, Engine, Select, Table, delete, or_, select, update

from qa.access import Principal, require
from qa.analytics.stats import rebuild_daily_stats
from qa.audit import record
from qa.errors import NotFoundError
from qa.models import Base, Conversation

__all__ = ["Removal", "delete_conversations"]


_NAMES = {"messages": "消息", "message_scores": "消息评分", "conversation_scores": "会话评分", "annotations": "批注",
          "model_labels": "模型标签", "review_assignments": "复核分配", "coaching_items": "辅导清单条目",
          "scorecard_reviews": "评分卡复核", "scorecard_review_items": "评分卡复核项", "disputes": "申诉",
          "auto_qa_checks": "自动质检结果", "auto_qa_scores": "自动质检得分", "calibration_conversations": "校准会话"}
"""What users call the tables whose rows go with a conversation; a table not named here is shown as it is."""


@dataclass(frozen=True)
class Removal:
    """What a removal took away: the conversations (by source key) and the dependent rows, per table."""

    conversations: list[str]
    rows: dict[str, int]

    def summary(self) -> str:
        others = "，".join(f"{_NAMES.get(table, table)} {n:,} 条" for table, n in sorted(self.rows.items()) if n)
        return f"已删除 {len(self.conversations):,} 个会话：{'、'.join(self.conversations)}" + (
            f"（连同 {others}）" if others else "")


def delete_conversations(engine: Engine, ids_or_keys: Iterable[int | str], *, by: Principal | None) -> Removal:
    """Remove the conversations named by database id, source key (``平台|会话ID``) or conversation id as the
    file gave it, with everything that depends on them, in one transaction.

    Raises AccessDenied unless ``by`` may delete; NotFoundError, removing nothing, when a name matches no
    conversation, or when a conversation id as the file gave it matches conversations on more than one platform
    (name it by source key then).
    """
    require(by, "delete")
    assert by is not None
    names = list(dict.fromkeys(ids_or_keys))
    with engine.begin() as conn:
        found = _resolve(conn, names)
        c = Conversation
        for row in conn.execute(select(c.id, c.source_key, c.started_at).where(c.id.in_([i for i, _ in found]))):
            record(conn, by.user_id, "delete", "conversation", row.id,
                   {"source_key": row.source_key, "started_at": row.started_at})
        rows: dict[str, int] = {}
        ids = select(Conversation.id).where(Conversation.id.in_([i for i, _ in found]))
        _delete(conn, cast(Table, Conversation.__table__), ids, rows)
        rows.pop(Conversation.__tablename__, None)
        rebuild_daily_stats(conn)
    return Removal([key for _, key in found], rows)


def _resolve(conn: Connection, names: Sequence[int | str]) -> list[tuple[int, str]]:
    """(id, source key) of each named conversation; NotFoundError for a name that fits none or several."""
    c = Conversation
    found: dict[int, str] = {}
    for name in names:
        text = str(name).strip()
        clauses = [c.source_key == text, c.external_id == text]
        if text.isdigit():
            clauses.append(c.id == int(text))
        matches = conn.execute(select(c.id, c.source_key, c.external_id).where(or_(*clauses))).all()
        by_id = [m for m in matches if str(m.id) == text]
        by_key = [m for m in matches if m.source_key == text]
        chosen = by_key or by_id or matches
        if not chosen:
            raise NotFoundError(f"找不到会话“{text[:80]}”（可用数据库 ID、来源键“平台|会话ID”或会话ID）；未删除任何会话")
        if len(chosen) > 1:
            keys = "、".join(m.source_key for m in chosen[:10])
            raise NotFoundError(f"会话ID“{text[:80]}”对应多个会话（{keys}）；请用来源键指定要删除哪一个；未删除任何会话")
        found[chosen[0].id] = chosen[0].source_key
    return list(found.items())


def _delete(conn: Connection, table: Table, ids: Select, rows: dict[str, int]) -> None:
    """Delete the rows of ``table`` whose id is in ``ids`` and, first, the rows that refer to them: a referring
    row whose reference may be empty and is not declared to cascade keeps its row with the reference emptied."""
    for child in Base.metadata.sorted_tables:
        for fk in child.foreign_keys:
            if fk.column.table is not table or fk.parent.table is not child:
                continue
            column = fk.parent
            if (fk.ondelete or "").upper() != "CASCADE" and column.nullable:
                conn.execute(update(child).where(column.in_(ids)).values({column.name: None}))
            elif "id" in child.c and child.c.id.primary_key:
                _delete(conn, child, select(child.c.id).where(column.in_(ids)), rows)
            else:
                rows[child.name] = rows.get(child.name, 0) + conn.execute(delete(child).where(column.in_(ids))).rowcount
    rows[table.name] = rows.get(table.name, 0) + conn.execute(delete(table).where(table.c.id.in_(ids))).rowcount
