"""The one filter object every view shares, turned into SQL with bound parameters only.

A drill-down from a dashboard cell to the review queue is just a ``Filters`` value handed from one page to the
next; the same object restricts daily statistics, the queue, agent scorecards and exports, so the numbers on
each agree. Like datasette's filters, this module does no I/O and is tested without Streamlit or a browser.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import date, datetime, time, timedelta

from sqlalchemy import ColumnElement, Connection, Select, and_, exists, func, or_, select
from sqlalchemy.orm import aliased

from qa.ingest.normalize import YEARS
from qa.models import (
    Agent,
    AgentDailyStat,
    AgentSegment,
    Annotation,
    Conversation,
    ConversationScore,
    DailyStat,
    Message,
    Platform,
    Shop,
    TagAssignment,
)
from scoring.responsiveness import duration_text

__all__ = ["Filters", "apply_to_conversations", "apply_to_daily_stats", "dimension_values", "day_range"]


@dataclass(frozen=True)
class Filters:
    """What a user narrowed the view to; empty tuples and None mean "all"."""

    start: date | None = None
    end: date | None = None  # inclusive
    platforms: tuple[str, ...] = ()
    shops: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()
    agents: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    min_risk: float | None = None
    max_risk: float | None = None
    min_tone_risk: float | None = None
    max_relevance: float | None = None
    min_first_response_s: float | None = None
    csat_max: int | None = None
    reviewed: bool | None = None
    text: str = ""
    # Tags from the tag tree, each as (full path, ids of the tag and every tag under it): the path to show, the
    # ids to match, so this module needs no tree (qa.program.tag_store.tag_filter builds them).
    tags: tuple[tuple[str, tuple[int, ...]], ...] = ()

    def with_(self, **changes: object) -> Filters:
        """A copy with some fields changed (drill-downs add one constraint to what is already chosen)."""
        return replace(self, **changes)  # type: ignore[arg-type]

    def describe(self) -> str:
        """A short Chinese description for headers and exports, e.g. "2026-11-01 至 2026-11-15 · 天猫"."""
        parts = []
        if self.start or self.end:
            parts.append(f"{self.start or '…'} 至 {self.end or '…'}")
        for label, values in (("平台", self.platforms), ("店铺", self.shops), ("组", self.teams),
                              ("坐席", self.agents), ("分类", self.categories)):
            if values:
                parts.append(f"{label}：{'、'.join(values)}")
        for label, value in (("不满风险 ≥", self.min_risk), ("不满风险 ≤", self.max_risk),
                             ("语气风险 ≥", self.min_tone_risk), ("相关度 ≤", self.max_relevance)):
            if value is not None:
                parts.append(f"{label} {value:.2f}")
        if self.min_first_response_s is not None:
            parts.append(f"首次响应 ≥ {duration_text(self.min_first_response_s)}")
        if self.csat_max is not None:
            parts.append(f"CSAT ≤ {self.csat_max}")
        if self.reviewed is not None:
            parts.append("已复核" if self.reviewed else "未复核")
        if self.text:
            parts.append(f"会话号：{self.text}")
        if self.tags:
            parts.append(f"标签：{'、'.join(path for path, _ids in self.tags)}")
        return " · ".join(parts) or "全部"

    def is_empty(self) -> bool:
        return all(getattr(self, f.name) in (None, (), "") for f in fields(self))


def _day_bounds(f: Filters) -> tuple[datetime | None, datetime | None]:
    lo = datetime.combine(f.start, time.min) if f.start else None
    hi = datetime.combine(f.end + timedelta(days=1), time.min) if f.end else None
    return lo, hi


def apply_to_conversations(query: Select, f: Filters) -> Select:
    """Add WHERE clauses for ``f`` to a query over ``conversations`` outer-joined to ``conversation_scores``.

    The query must already select from Conversation and (for score filters) outer-join ConversationScore.
    """
    c, s = Conversation, ConversationScore
    conds = []
    lo, hi = _day_bounds(f)
    if lo:
        conds.append(c.started_at >= lo)
    if hi:
        conds.append(c.started_at < hi)
    if f.platforms:
        conds.append(c.platform_id.in_(select(Platform.id).where(Platform.name.in_(f.platforms))))
    if f.shops:
        conds.append(c.shop_id.in_(select(Shop.id).where(Shop.name.in_(f.shops))))
    if f.teams:
        conds.append(c.team.in_(f.teams) | (c.team.is_(None) & c.agent_id.in_(
            select(Agent.id).where(Agent.team.in_(f.teams)))))
    if f.agents:  # a conversation belongs to every agent who handled part of it (qa.analytics.segments)
        agent_ids = select(Agent.id).where(Agent.name.in_(f.agents))
        conds.append(or_(c.agent_id.in_(agent_ids), c.id.in_(
            select(AgentSegment.conversation_id).where(AgentSegment.agent_id.in_(agent_ids)))))
    if f.categories:
        conds.append(or_(c.category.in_(f.categories), and_(c.category.is_(None), s.category.in_(f.categories))))
    if f.min_risk is not None:
        conds.append(s.dissatisfaction_risk >= f.min_risk)
    if f.max_risk is not None:
        conds.append(s.dissatisfaction_risk <= f.max_risk)
    if f.min_tone_risk is not None:
        conds.append(s.tone_risk >= f.min_tone_risk)
    if f.max_relevance is not None:
        conds.append(s.relevance <= f.max_relevance)
    if f.min_first_response_s is not None:
        conds.append(s.first_response_s >= f.min_first_response_s)
    if f.csat_max is not None:
        conds.append(c.csat <= f.csat_max)
    if f.reviewed is not None:  # its own alias: the query may itself be over annotations (agent scorecards)
        review = aliased(Annotation)
        reviewed = exists().where(review.conversation_id == c.id, review.deleted_at.is_(None))
        conds.append(reviewed if f.reviewed else ~reviewed)
    if f.text:
        conds.append(c.external_id == f.text.strip())
    if f.tags:
        conds.append(_tagged(sorted({i for _path, ids in f.tags for i in ids})))
    return query.where(*conds) if conds else query


def _tagged(tag_ids: list[int]) -> ColumnElement[bool]:
    """The conversation, or one of its messages, carries one of the tags (not taken off by a reviewer)."""
    on_conv, on_msg, m = aliased(TagAssignment), aliased(TagAssignment), aliased(Message)
    on_messages = select(m.conversation_id).join(on_msg, on_msg.message_id == m.id).where(
        on_msg.tag_id.in_(tag_ids), on_msg.rejected.is_(False))
    return or_(exists().where(on_conv.conversation_id == Conversation.id, on_conv.tag_id.in_(tag_ids),
                              on_conv.rejected.is_(False)), Conversation.id.in_(on_messages))


def apply_to_daily_stats(query: Select, f: Filters, d: type[DailyStat | AgentDailyStat] = DailyStat) -> Select:
    """Add WHERE clauses for the dimensions of ``f`` that daily statistics (``d``) carry (not score ranges)."""
    conds = []
    if f.start:
        conds.append(d.day >= f.start)
    if f.end:
        conds.append(d.day <= f.end)
    if f.platforms:
        conds.append(d.platform_id.in_(select(Platform.id).where(Platform.name.in_(f.platforms))))
    if f.shops:
        conds.append(d.shop_id.in_(select(Shop.id).where(Shop.name.in_(f.shops))))
    if f.teams:
        conds.append(d.team.in_(f.teams))
    if f.agents:
        conds.append(d.agent_id.in_(select(Agent.id).where(Agent.name.in_(f.agents))))
    if f.categories:
        conds.append(d.category.in_(f.categories))
    return query.where(*conds) if conds else query


def dimension_values(conn: Connection, column: str) -> list[str]:
    """Distinct values offered in filter pickers: platform, shop, team, agent or category names."""
    sources = {
        "platform": select(Platform.name),
        "shop": select(Shop.name),
        "team": select(Agent.team).where(Agent.team.is_not(None)),
        "agent": select(Agent.name),
        "category": select(func.coalesce(DailyStat.category, "未分类")),
    }
    return sorted({v for v in conn.scalars(sources[column].distinct()) if v})


def day_range(conn: Connection) -> tuple[date, date] | None:
    """First and last day with conversations (the bounds of date pickers), or None for an empty archive.

    Days outside the years an import accepts (``YEARS``) are left out: a year-9999 conversation stored before
    imports checked times would otherwise move every user's default range there and overflow the charts' date
    arithmetic (issue #12); it stays removable with ``huifang delete``.
    """
    first, last = date(YEARS[0], 1, 1), date(YEARS[1], 12, 31)
    lo, hi = conn.execute(select(func.min(DailyStat.day), func.max(DailyStat.day))
                          .where(DailyStat.day.between(first, last))).one()
    return None if lo is None else (lo, hi)
