"""Daily statistics, pre-aggregated so dashboards read hundreds of rows instead of a million messages.

Rebuilt in one INSERT … SELECT after each import and scoring run; on 100,000 conversations that takes well under
a second, far less than one dashboard query over raw messages would.
"""

from __future__ import annotations

from sqlalchemy import (
    ColumnElement,
    Connection,
    Date,
    Table,
    case,
    cast,
    delete,
    distinct,
    func,
    insert,
    literal,
    select,
)

from qa.models import Agent, AgentDailyStat, AgentSegment, Conversation, ConversationScore, DailyStat, ImportBatch
from scoring.schema import RISK_HIGH, TONE_FLAG

__all__ = ["rebuild_daily_stats", "data_version"]

_COLUMNS = ["day", "platform_id", "shop_id", "team", "agent_id", "category", "conversations", "messages",
            "csat_n", "csat_sum", "csat_low", "scored", "risk_sum", "risk_high", "replies", "replies_in_sla",
            "first_response_n", "first_response_sum", "tone_flagged"]


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _day(conn: Connection) -> ColumnElement:
    c = Conversation.__table__
    return cast(c.c.started_at, Date) if conn.dialect.name != "sqlite" else func.date(c.c.started_at)


def rebuild_daily_stats(conn: Connection) -> int:
    """Recompute ``daily_stats`` and ``agent_daily_stats``; returns the number of daily_stats rows written."""
    c, s, a = Conversation.__table__, ConversationScore.__table__, Agent.__table__
    day = _day(conn)
    team = func.coalesce(c.c.team, a.c.team)
    category = func.coalesce(c.c.category, s.c.category)
    query = (
        select(
            day, c.c.platform_id, c.c.shop_id, team, c.c.agent_id, category,
            func.count(), func.coalesce(func.sum(c.c.message_count), 0),
            func.count(c.c.csat), func.coalesce(func.sum(c.c.csat), literal(0.0)), _count_if(c.c.csat <= 2),
            func.count(s.c.conversation_id), func.coalesce(func.sum(s.c.dissatisfaction_risk), literal(0.0)),
            _count_if(s.c.dissatisfaction_risk >= RISK_HIGH),
            func.coalesce(func.sum(s.c.replies), 0), func.coalesce(func.sum(s.c.replies_in_sla), 0),
            func.count(s.c.first_response_s), func.coalesce(func.sum(s.c.first_response_s), literal(0.0)),
            _count_if(s.c.tone_risk >= TONE_FLAG),
        )
        .select_from(c.outerjoin(s, s.c.conversation_id == c.c.id).outerjoin(a, a.c.id == c.c.agent_id))
        .where(c.c.started_at.is_not(None))
        .group_by(day, c.c.platform_id, c.c.shop_id, team, c.c.agent_id, category)
    )
    d = DailyStat.__table__
    assert isinstance(d, Table)  # a declarative class's table
    conn.execute(delete(d))
    result = conn.execute(insert(d).from_select(_COLUMNS, query))
    _rebuild_agent_daily_stats(conn)
    return result.rowcount or 0


def _rebuild_agent_daily_stats(conn: Connection) -> None:
    """The same sums per agent from ``agent_segments`` (``qa.analytics.segments`` says who owns what): a
    transferred conversation counts for each of its agents, with the replies, waits, rating and risk each owns.
    A segment's team is its agent's home team (a transfer usually crosses teams), else the conversation's."""
    c, s, a, g = Conversation.__table__, ConversationScore.__table__, Agent.__table__, AgentSegment.__table__
    day = _day(conn)
    team = func.coalesce(a.c.team, c.c.team)
    category = func.coalesce(c.c.category, s.c.category)
    query = (
        select(
            day, c.c.platform_id, c.c.shop_id, team, g.c.agent_id, category,
            func.count(distinct(g.c.conversation_id)), func.coalesce(func.sum(g.c.messages), 0),
            func.count(g.c.csat), func.coalesce(func.sum(g.c.csat), literal(0.0)), _count_if(g.c.csat <= 2),
            func.count(g.c.risk), func.coalesce(func.sum(g.c.risk), literal(0.0)), _count_if(g.c.risk >= RISK_HIGH),
            func.coalesce(func.sum(g.c.replies), 0), func.coalesce(func.sum(g.c.replies_in_sla), 0),
            func.count(g.c.first_response_s), func.coalesce(func.sum(g.c.first_response_s), literal(0.0)),
            _count_if(g.c.tone_risk >= TONE_FLAG),
        )
        .select_from(g.join(c, c.c.id == g.c.conversation_id).outerjoin(s, s.c.conversation_id == c.c.id)
                     .outerjoin(a, a.c.id == g.c.agent_id))
        .where(c.c.started_at.is_not(None))
        .group_by(day, c.c.platform_id, c.c.shop_id, team, g.c.agent_id, category)
    )
    d = AgentDailyStat.__table__
    assert isinstance(d, Table)
    conn.execute(delete(d))
    conn.execute(insert(d).from_select(_COLUMNS, query))


def data_version(conn: Connection) -> str:
    """Changes whenever an import or scoring run changed anything: the key for pages' cached query results."""
    last_import = conn.scalar(select(func.max(ImportBatch.id)))
    last_score = conn.scalar(select(func.max(ConversationScore.scored_at)))
    scored = conn.scalar(select(func.count()).select_from(ConversationScore))
    return f"{last_import}|{last_score}|{scored}"
